"""The illness warning from every signal: confounders logged, signals combined, budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from lifetwin.capabilities.early_warning import illness_alerts
from lifetwin.capabilities.illness import alert_days, combined_score, confounder_matrix
from lifetwin.core.model import Event, EventKind
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import DAY_MS, Store

T0_DAY = 19_700  # 2023-12-09
DAYS = 150


def _nights(vault: object, metric: str, unit: str, values: np.ndarray, hour: int = 7) -> None:
    ok = np.isfinite(values)
    n = int(ok.sum())
    z = np.zeros(n, dtype=np.int64)
    ts = (T0_DAY + np.flatnonzero(ok).astype(np.int64)) * DAY_MS + hour * 3_600_000
    vault.write_columns(  # type: ignore[attr-defined]
        metric, "ring", None, unit, Columns(ts, z, values[ok], z, z, z, z)
    )


def _person(seed: int, onset: int | None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rhr = 58 + rng.normal(0, 1.2, DAYS)
    resp = 14 + rng.normal(0, 0.4, DAYS)
    temp = rng.normal(0, 0.12, DAYS)
    drinks = np.where(rng.random(DAYS) < 0.08, 5.0, 0.0)
    drinks[:45] = np.where(np.arange(45) % 9 == 4, 5.0, 0.0)  # a habit seen from the start
    after = np.concatenate(([0.0], drinks[:-1])) > 0
    rhr[after] += 6  # the night after drinking
    temp[after] += 0.2
    if onset is not None:
        rise = np.zeros(DAYS)
        rise[onset - 3 : onset + 1] = [0.25, 0.5, 0.75, 1.0]
        rise[onset + 1 : onset + 8] = np.linspace(0.9, 0.3, 7)
        rhr += 6 * rise
        resp += 1.5 * rise
        temp += 0.7 * rise
    return {"rhr": rhr, "resp": resp, "temp": temp, "drinks": drinks}


def test_logged_drinks_are_explained_and_an_infection_is_flagged_before_onset(
    store: Store,
) -> None:
    person = store.add_person("Ida")
    vault = store.vault(person)
    data = _person(1, onset=120)
    _nights(vault, "resting_heart_rate", "bpm", data["rhr"])
    _nights(vault, "respiratory_rate", "breaths/min", data["resp"])
    _nights(vault, "skin_temperature_deviation", "delta_degC", data["temp"])
    drinks = np.where(data["drinks"] > 0, data["drinks"], np.nan)
    _nights(vault, "alcoholic_drinks", "count", drinks, hour=21)
    assert illness_alerts(vault) == []  # no forecasting grant: nothing is read
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    found = illness_alerts(vault)
    days = [(a.day - datetime(2023, 12, 9).date()).days for a in found]
    assert any(113 <= d <= 119 for d in days), days  # before symptoms (onset day 120)
    assert all(d >= 113 for d in days), days  # no drinking night raised one
    alert = next(a for a in found if (a.day - datetime(2023, 12, 9).date()).days >= 113)
    assert "respiratory rate higher" in alert.message
    assert "association, not a diagnosis" in alert.message
    assert alert.at is not None
    assert {i.metric for i in alert.lineage.inputs} >= {
        "resting_heart_rate",
        "respiratory_rate",
        "alcoholic_drinks",
    }


def test_without_the_drinks_log_the_same_nights_look_like_illness() -> None:
    data = _person(2, onset=None)
    signals = {
        "resting_heart_rate": data["rhr"],
        "respiratory_rate": data["resp"],
        "skin_temperature": data["temp"],
    }
    logged = confounder_matrix(DAYS, np.concatenate(([0.0], data["drinks"][:-1])))
    unlogged = confounder_matrix(DAYS)
    with_log, _ = combined_score(signals, logged)
    without, _ = combined_score(signals, unlogged)
    after = np.concatenate(([0.0], data["drinks"][:-1])) > 0
    late = np.arange(DAYS) >= 60
    assert np.nanmean(without[after & late]) > np.nanmean(with_log[after & late]) + 1.0


def test_the_luteal_phase_and_travel_are_confounders() -> None:
    m = confounder_matrix(
        70, utc_offset_h=np.r_[np.zeros(40), np.full(30, 6.0)], period_starts=[0, 28, 56]
    )
    assert m[14:28, 3].tolist() == [1.0] * 14
    assert m[28:42, 3].tolist() == [0.0] * 14
    assert m[40:43, 2].round(2).tolist() == [1.0, 0.67, 0.33]
    assert m[43:, 2].max() == 0


def test_a_healthy_person_stays_within_the_budget() -> None:
    rng = np.random.default_rng(7)
    total = 0
    for _ in range(40):
        signals = {
            "resting_heart_rate": 60 + rng.normal(0, 1.5, 365),
            "hrv": 50 * (1 + rng.normal(0, 0.15, 365)),
        }
        score, _ = combined_score(signals, confounder_matrix(365))
        total += int(alert_days(score, 0.1).sum())
    months = 40 * (365 - 42) / 30
    assert total / months <= 0.1  # alerts per healthy month


def test_periods_logged_as_events_reach_the_detector(store: Store) -> None:
    rng = np.random.default_rng(3)
    rhr = 60 + rng.normal(0, 0.8, DAYS)
    luteal = np.zeros(DAYS)
    for start in range(0, DAYS, 28):
        luteal[start + 14 : start + 28] = 1
    rhr += 4.0 * luteal
    starts = list(range(0, DAYS, 28))
    with_log, _ = combined_score(
        {"resting_heart_rate": rhr}, confounder_matrix(DAYS, period_starts=starts)
    )
    without, _ = combined_score({"resting_heart_rate": rhr}, confounder_matrix(DAYS))
    phase = luteal[60:] > 0

    def luteal_excess(score: np.ndarray) -> float:
        return float(np.nanmean(score[60:][phase]) - np.nanmean(score[60:][~phase]))

    assert luteal_excess(without) > 1.0  # 4 bpm higher in every luteal phase ...
    assert abs(luteal_excess(with_log)) < 0.4  # ... is expected once periods are logged
    vault = store.vault(store.add_person("Lea"))
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    vault.write_records(
        [
            Event(
                kind=EventKind.MENSTRUATION,
                start=datetime(2023, 12, 9, 8, tzinfo=UTC) + timedelta(days=start),
                title="period",
                source="app",
            )
            for start in starts
        ]
    )
    _nights(vault, "resting_heart_rate", "bpm", rhr)
    assert illness_alerts(vault) == []
    stored = vault.derived("alerts:illness_early_warning")
    assert stored is not None
    assert "event:menstruation" in {i.metric for i in stored.lineage.inputs}


@pytest.mark.parametrize("budget", [0.05, 0.5])
def test_a_bigger_budget_alerts_at_least_as_often(budget: float) -> None:
    rng = np.random.default_rng(11)
    score = rng.standard_t(4, 400)
    assert alert_days(score, budget).sum() <= alert_days(score, budget * 4).sum()
