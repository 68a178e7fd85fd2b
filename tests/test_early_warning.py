"""Illness early warning: the CuSum maths, the budget, storage, notification, consent."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifetwin.capabilities.early_warning import (
    FileNotifier,
    cusum_alert_days,
    cusum_threshold,
    illness_alerts,
    standardized,
    stored_alerts,
)
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import DAY_MS, Store

T0_DAY = 19_700  # 2023-12-09


def _daily_rhr(store: Store, values: list[float]) -> None:
    person = store.add_person("Ada")
    n = len(values)
    z = np.zeros(n, dtype=np.int64)
    ts = (T0_DAY + np.arange(n, dtype=np.int64)) * DAY_MS + 7 * 3_600_000
    store.vault(person).write_columns(
        "resting_heart_rate", "watch", None, "bpm", Columns(ts, z, np.array(values), z, z, z, z)
    )


@given(st.floats(min_value=0.02, max_value=5))
def test_a_bigger_budget_means_a_lower_threshold(budget: float) -> None:
    assert cusum_threshold(budget * 1.5) < cusum_threshold(budget)


def test_a_steady_person_raises_nothing_and_a_rise_raises_one_alert() -> None:
    rng = np.random.default_rng(4)
    calm = 60 + rng.normal(0, 1.5, 120)
    h = cusum_threshold(0.1)
    assert not cusum_alert_days(standardized(calm), h).any()
    ill = calm.copy()
    ill[90:97] += np.array([2, 4, 6, 8, 8, 6, 3])
    flags = cusum_alert_days(standardized(ill), h)
    assert flags.any()
    assert 90 <= int(np.flatnonzero(flags)[0]) <= 94


def test_alerts_are_stored_delivered_once_and_need_the_forecasting_grant(
    store: Store, tmp_path: Path
) -> None:
    rng = np.random.default_rng(5)
    values = (58 + rng.normal(0, 1.2, 100)).round()
    values[80:86] += [3, 5, 8, 9, 7, 4]
    _daily_rhr(store, values.tolist())
    vault = store.vault(store.person("Ada"))
    assert illness_alerts(vault) == []  # no grant: nothing is read
    vault.grant(Scope.parse("domain:vitals"), Purpose.FORECASTING)
    sink = tmp_path / "alerts.jsonl"
    found = illness_alerts(vault, notifiers=[FileNotifier(str(sink))])
    rise = [a for a in found if 80 <= (a.day - date(2023, 12, 9)).days <= 86]
    assert len(rise) == 1  # the planted rise raises exactly one alert
    assert rise[0].kind == "illness_early_warning"
    assert "association, not a diagnosis" in rise[0].message
    assert rise[0].lineage.purpose == "forecasting"
    assert [a.day for a in stored_alerts(vault)] == [a.day for a in found]
    illness_alerts(vault, notifiers=[FileNotifier(str(sink))])  # again: not re-sent
    lines = sink.read_text().splitlines()
    assert len(lines) == len(found)
    assert json.loads(lines[-1])["metric"] == "resting_heart_rate"
    entries = store.audit.entries(vault.person.id, None)
    assert any(e.action == "derive" for e in entries)


@pytest.mark.parametrize("budget", [0.05, 1.0])
def test_thresholds_are_finite(budget: float) -> None:
    assert 0 < cusum_threshold(budget) < 50


def test_an_unusual_latest_value_is_flagged_within_the_budget(store: Store) -> None:
    from lifetwin.capabilities.early_warning import deviation_alerts, deviation_threshold

    assert deviation_threshold(0.5, 30) > deviation_threshold(2.0, 30)
    rng = np.random.default_rng(9)
    values = (58 + rng.normal(0, 1.0, 120)).round()
    _daily_rhr(store, values.tolist())
    vault = store.vault(store.person("Ada"))
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    assert deviation_alerts(vault) == []
    day = (T0_DAY + 120) * DAY_MS + 7 * 3_600_000
    one = np.zeros(1, dtype=np.int64)
    vault.write_columns(
        "resting_heart_rate",
        "watch",
        None,
        "bpm",
        Columns(one + day, one, np.array([75.0]), one, one, one, one),
    )
    (alert,) = deviation_alerts(vault)
    assert alert.kind == "deviation"
    assert alert.metric == "resting_heart_rate"
    assert alert.score > 3
    assert "unusually high" in alert.message
