"""Derived measures: sleep regularity and debt, heart trends, training load, mood trend,
spending by category — each from the data the twin_core purpose may use.

Pure functions over daily values do the maths; ``derived_measures`` gathers the inputs
from the vault. Trends are least-squares slopes per week over the last 28 days; the
acute:chronic workload ratio is the 7-day mean of daily load over its 28-day mean.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from lifetwin.core.model import Event, Observation
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]
ASLEEP = {"asleep", "light", "deep", "rem"}


def weekly_slope(values: F64) -> float | None:
    """Least-squares slope per week of daily values (NaN days ignored).

    >>> weekly_slope(np.arange(28, dtype=float))
    7.0
    """
    days = np.arange(len(values), dtype=float)
    ok = np.isfinite(values)
    if np.count_nonzero(ok) < 7:
        return None
    slope = np.polyfit(days[ok], values[ok], 1)[0]
    return float(round(slope * 7, 3))


def acute_chronic_ratio(daily_load: F64) -> float | None:
    """7-day mean load over 28-day mean load (needs 28 days; missing days count as 0).

    >>> acute_chronic_ratio(np.array([10.0] * 21 + [20.0] * 7))
    1.6
    """
    if len(daily_load) < 28:
        return None
    load = np.nan_to_num(daily_load[-28:])
    chronic = float(np.mean(load))
    return None if chronic == 0 else round(float(np.mean(load[-7:])) / chronic, 3)


def sleep_debt_min(nightly_min: F64, need_min: float = 480.0, nights: int = 14) -> float:
    """Minutes of sleep short of the need over the last ``nights`` (surplus does not repay)."""
    recent = nightly_min[-nights:]
    recent = recent[np.isfinite(recent)]
    return float(np.sum(np.clip(need_min - recent, 0, None)))


def regularity_min(midpoints_min: F64) -> float | None:
    """Standard deviation of sleep midpoints (minutes), wrapped around midnight."""
    ok = midpoints_min[np.isfinite(midpoints_min)]
    if len(ok) < 3:
        return None
    angles = ok / 1440 * 2 * np.pi
    mean_angle = np.arctan2(np.mean(np.sin(angles)), np.mean(np.cos(angles)))
    offsets = (angles - mean_angle + np.pi) % (2 * np.pi) - np.pi
    return float(round(np.std(offsets) / (2 * np.pi) * 1440, 1))


def _daily(vault: Vault, metric: str, how: str, days: int, today: int) -> F64:
    series = vault.read_series(metric, purpose=Purpose.TWIN_CORE)
    out = np.full(days, np.nan)
    if not len(series):
        return out
    local = (series.ts_ms // 60_000 + series.columns.tz_min) // 1440
    index = local - (today - days + 1)
    ok = (index >= 0) & (index < days)
    sums = np.bincount(index[ok], weights=series.values[ok], minlength=days)
    counts = np.bincount(index[ok], minlength=days)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = sums if how == "sum" else sums / counts
    out[counts > 0] = values[counts > 0]
    return out


def derived_measures(vault: Vault, now: datetime | None = None) -> dict[str, Any]:
    moment = now or datetime.now(UTC)
    today = int(moment.timestamp() // 86_400)
    out: dict[str, Any] = {}
    for metric, key in (
        ("resting_heart_rate", "resting_heart_rate_trend_per_week"),
        ("hrv_sdnn", "hrv_trend_per_week"),
        ("hrv_rmssd", "hrv_rmssd_trend_per_week"),
        ("mood_valence", "mood_trend_per_week"),
    ):
        slope = weekly_slope(_daily(vault, metric, "mean", 28, today))
        if slope is not None:
            out[key] = slope
    load = _daily(vault, "active_energy", "sum", 28, today)
    if not np.isfinite(load).any():
        load = _daily(vault, "exercise_minutes", "sum", 28, today)
    ratio = acute_chronic_ratio(load)
    if ratio is not None and np.isfinite(load).sum() >= 21:
        out["acute_chronic_workload_ratio"] = ratio
    nightly, midpoints = _nights(vault, moment)
    if len(nightly):
        out["sleep_last_night_min"] = float(nightly[-1])
        out["sleep_debt_14_nights_min"] = sleep_debt_min(nightly)
        regular = regularity_min(midpoints)
        if regular is not None:
            out["sleep_midpoint_sd_min"] = regular
    spending = _spending(vault, moment)
    if spending:
        out["spending_30_days"] = spending
    return out


def asleep_night(item: Any) -> date | None:
    """The night an asleep sleep stage belongs to (its evening's date), else None."""
    if isinstance(item, Observation) and item.end and item.value in ASLEEP:
        return (item.start - timedelta(hours=12)).date()
    return None


def money_out(item: Any, kind: str) -> float:
    """Money spent by a purchase or a transaction record (0 for money coming in)."""
    amount = item.details.get("amount") if isinstance(item, Event) else None
    if not isinstance(amount, int | float):
        return 0.0
    return float(max(0.0, abs(amount) if kind == "event:purchase" else -amount))


def _nights(vault: Vault, now: datetime) -> tuple[F64, F64]:
    """Minutes asleep and the midpoint (local minutes after midnight) per night, oldest first."""
    since = now - timedelta(days=15)
    by_night: dict[Any, list[Observation]] = defaultdict(list)
    for item in vault.read_records("sleep_stage", purpose=Purpose.TWIN_CORE, since=since):
        night = asleep_night(item)
        if night is not None and isinstance(item, Observation):
            by_night[night].append(item)
    minutes, midpoints = [], []
    for night in sorted(by_night):
        stages = by_night[night]
        total = sum((s.end - s.start).total_seconds() / 60 for s in stages if s.end)
        first, last = min(s.start for s in stages), max(s.end for s in stages if s.end)
        middle = first + (last - first) / 2
        minutes.append(total)
        midpoints.append(middle.hour * 60 + middle.minute)
    return np.array(minutes, dtype=float), np.array(midpoints, dtype=float)


def _spending(vault: Vault, now: datetime) -> dict[str, dict[str, float]]:
    """Money out in the last 30 days, by currency and category."""
    since = now - timedelta(days=30)
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for kind in ("event:purchase", "event:transaction"):
        for item in vault.read_records(kind, purpose=Purpose.TWIN_CORE, since=since):
            spent = money_out(item, kind)
            if isinstance(item, Event) and spent > 0:
                currency = str(item.details.get("currency", "?"))
                category = str(item.details.get("category") or "uncategorized")
                totals[currency][category] += round(spent, 2)
    return {c: {k: round(v, 2) for k, v in cats.items()} for c, cats in totals.items()}
