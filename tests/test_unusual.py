"""One "unusual" rule: targets, a baseline whose spread cannot collapse, events exempt."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifetwin.capabilities.early_warning import deviation_alerts
from lifetwin.capabilities.twin_state import Baseline, TwinState, twin_summary
from lifetwin.capabilities.unusual import SPREAD_FLOOR, assess, unusual
from lifetwin.privacy.consent import Purpose, Scope
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Store


def _steady(metric: str, centre: float, wiggle: float, n: int = 200) -> Baseline:
    baseline = Baseline(metric=metric)
    for i in range(n):
        baseline.learn_one(centre + wiggle * (1 if i % 2 else -1))
    return baseline


def test_in_range_glucose_is_not_unusual_even_against_a_steady_week() -> None:
    steady = _steady("glucose", 123.2, 2.7)  # the "123.2 ± 3.99" a person could not believe
    for value in (100.0, 140.0, 160.0, 180.0):
        assert not unusual("glucose", value, steady).unusual
    z = steady.z(74.0)
    assert z is not None
    assert -4 < z < -3  # 74 against 123 with a 15 mg/dL floor, not z -8.3
    low = unusual("glucose", 42.0, steady)
    assert low.unusual
    assert low.reason == "below_target"
    assert low.sentence == "42 is below your target range (70-180)."
    assert unusual("glucose", 250.0, steady).reason == "above_target"


def test_the_person_sets_their_own_targets() -> None:
    assert unusual("glucose", 65.0, targets=(63.0, 140.0)).unusual is False
    assert unusual("glucose", 150.0, targets=(63.0, 140.0)).reason == "above_target"


def test_a_bolus_is_never_unusual_by_its_size() -> None:
    baseline = _steady("insulin_delivered", 0.1, 0.0)
    assert baseline.z(8.0) is None
    verdict = unusual("insulin_delivered", 8.0, baseline)
    assert not verdict.unusual
    assert verdict.z is None


@given(
    metric=st.sampled_from(sorted(SPREAD_FLOOR)),
    centre=st.floats(1, 500),
    wiggle=st.floats(0, 0.001),
    offset=st.floats(-1, 1),
)
def test_no_baseline_spread_collapses_below_its_floor(
    metric: str, centre: float, wiggle: float, offset: float
) -> None:
    steady = _steady(metric, centre, wiggle, n=60)
    z = steady.z(centre + offset * SPREAD_FLOOR[metric])
    assert z is not None
    assert abs(z) <= 1.001  # one floor-spread away is at most one z (the centre wiggles)


def _write(vault: object, metric: str, unit: str, start_ms: int, values: np.ndarray) -> None:
    n = len(values)
    zero = np.zeros(n, dtype=np.int64)
    ts = start_ms + np.arange(n, dtype=np.int64) * 300_000
    vault.write_columns(
        metric, "cgm", None, unit, Columns(ts, zero, values, zero, zero, zero, zero)
    )  # type: ignore[attr-defined]


def test_alerts_and_the_twin_judge_the_same_value_the_same_way(store: Store) -> None:
    person = store.add_person("Gil")
    vault = store.vault(person)
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    start = int(datetime(2024, 5, 1, tzinfo=UTC).timestamp() * 1000)
    rng = np.random.default_rng(3)
    week = 123 + rng.normal(0, 2.5, 7 * 288)  # an unusually steady week
    _write(vault, "glucose", "mg/dL", start, np.append(week, 118.0))
    _write(vault, "insulin_delivered", "U", start, np.append(np.full(7 * 288, 0.1), 9.0))
    assert deviation_alerts(vault) == []  # 118 mg/dL and a 9 U bolus are ordinary
    state = TwinState()
    for code in ("glucose", "insulin_delivered"):
        series = vault.read_series(code, purpose=Purpose.FORECASTING)
        for t, v in zip(series.ts_ms.tolist(), series.values.tolist(), strict=True):
            state.learn_one(code, t, 0, v)
    verdict = assess(state, "glucose")
    assert verdict is not None
    assert not verdict.unusual
    summary = twin_summary(state)
    assert summary.based_on == datetime.fromtimestamp((start + 7 * 288 * 300_000) / 1000, UTC)
    assert [m.unusual for m in summary.metrics] == [False, False]
    _write(vault, "glucose", "mg/dL", start + (7 * 288 + 1) * 300_000, np.array([48.0]))
    (alert,) = deviation_alerts(vault)
    assert alert.metric == "glucose"
    assert "48 is below your target range (70-180)" in alert.message
    assert alert.at == datetime.fromtimestamp((start + (7 * 288 + 1) * 300_000) / 1000, UTC)
    vault.set_profile(glucose_low_mg_dl="54", glucose_high_mg_dl="200")
    assert [a.metric for a in deviation_alerts(vault)] == ["glucose"]  # far below usual, still
    assert pytest.approx(-5, abs=1.5) == deviation_alerts(vault)[0].score
