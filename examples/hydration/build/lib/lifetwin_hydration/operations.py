"""The pack's one operation: water drunk per local day against a goal. The CLI command,
the API route and the page all call :func:`hydration` and show its model."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from pydantic import BaseModel

from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations.context import Context
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Vault

GOAL_ML = 2000.0  # a common daily target for adults (EFSA: 2.0 L women, 2.5 L men, all drinks)


class HydrationDay(BaseModel):
    day: date
    total_ml: float
    goal_met: bool


class Hydration(BaseModel):
    """Water drunk per local day over the last days, against the goal."""

    goal_ml: float
    days: list[HydrationDay]
    mean_ml: float
    days_goal_met: int


def daily_totals(vault: Vault, purpose: Purpose = Purpose.TWIN_CORE) -> list[HydrationDay]:
    """Sum the person's drinks per local day (reads through the consent gate)."""
    series = vault.read_series("water_intake", purpose=purpose)
    if not len(series):
        return []
    local_day = (series.ts_ms + series.columns.tz_min * 60_000) // 86_400_000
    days, where = np.unique(local_day, return_inverse=True)
    totals = np.bincount(where, weights=series.values)
    epoch = date(1970, 1, 1)
    return [
        HydrationDay(
            day=epoch + timedelta(days=int(d)), total_ml=round(float(t), 1), goal_met=t >= GOAL_ML
        )
        for d, t in zip(days.tolist(), totals.tolist(), strict=True)
    ]


def hydration(ctx: Context, *, last: int = 14) -> Hydration:
    """The last ``last`` days that have drinks logged (reads for twin_core)."""
    days = daily_totals(ctx.vault(), Purpose.TWIN_CORE)[-last:]
    if not days:
        raise NotEnoughDataError(
            f"No water intake of {ctx.person.name} may be used (import a drinks log, and "
            "grant twin_core for hydration)."
        )
    return Hydration(
        goal_ml=GOAL_ML,
        days=days,
        mean_ml=round(sum(d.total_ml for d in days) / len(days), 1),
        days_goal_met=sum(d.goal_met for d in days),
    )
