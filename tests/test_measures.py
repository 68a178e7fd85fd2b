"""Derived measures: trends, training load, sleep debt and regularity, spending."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lifetwin.capabilities.measures import (
    acute_chronic_ratio,
    derived_measures,
    regularity_min,
    sleep_debt_min,
    weekly_slope,
)
from lifetwin.core.model import Event, EventKind, Observation
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import DAY_MS, Store

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_pure_measures() -> None:
    assert weekly_slope(np.array([60.0] * 28)) == 0.0
    assert weekly_slope(np.array([np.nan] * 27 + [1.0])) is None
    assert acute_chronic_ratio(np.array([100.0] * 28)) == 1.0
    assert acute_chronic_ratio(np.array([100.0] * 10)) is None
    assert sleep_debt_min(np.array([480.0, 420, 500, 360])) == 180.0
    assert regularity_min(np.array([1430.0, 10, 1440, 0])) == pytest.approx(7.1, abs=0.1)


def test_measures_from_the_vault(store: Store) -> None:
    person = store.add_person("Ada")
    vault = store.vault(person)
    vault.grant(Scope.parse("all"), Purpose.TWIN_CORE)
    days = np.arange(28)
    start_day = int(NOW.timestamp() // 86_400) - 27
    z = np.zeros(28, dtype=np.int64)
    ts = (start_day + days) * DAY_MS + 7 * 3_600_000
    vault.write_columns(
        "resting_heart_rate", "w", None, "bpm", Columns(ts, z, 60 + days / 7.0, z, z, z, z)
    )  # +1 bpm a week
    vault.write_columns(
        "active_energy",
        "w",
        None,
        "kcal",
        Columns(ts, z + DAY_MS // 2, np.where(days >= 21, 800.0, 400.0), z, z, z, z),
    )
    stages: list[Observation | Event] = []
    for night in range(3):
        evening = NOW.replace(hour=23, minute=0) - timedelta(days=3 - night)
        stages.append(
            Observation(
                metric="sleep_stage",
                value="light",
                start=evening,
                end=evening + timedelta(hours=7),
                source="w",
            )
        )
    stages.append(
        Event(
            kind=EventKind.PURCHASE,
            start=NOW - timedelta(days=2),
            title="Cafe",
            details={"amount": 4.5, "currency": "EUR", "category": "eating_out"},
            source="bank",
        )
    )
    vault.write_records(stages)
    measures = derived_measures(vault, NOW)
    assert measures["resting_heart_rate_trend_per_week"] == pytest.approx(1.0, abs=1e-6)
    # 21 days of 400 kcal then 7 of 800: acute 800 over chronic 500
    assert measures["acute_chronic_workload_ratio"] == 1.6
    assert measures["sleep_last_night_min"] == 420.0
    assert measures["sleep_debt_14_nights_min"] == 180.0
    assert measures["sleep_midpoint_sd_min"] == 0.0
    assert measures["spending_30_days"] == {"EUR": {"eating_out": 4.5}}
