"""The vocabulary, unit conversion and plausibility checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifetwin.core.errors import UnitError, UnknownMetricError
from lifetwin.core.model import Observation, Quarantined
from lifetwin.core.units import conversion, is_known_unit
from lifetwin.core.validation import normalize
from lifetwin.core.vocabulary import domain_names, metric, metrics

METRICS = metrics()

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_vocabulary_covers_every_domain_with_at_least_40_metrics() -> None:
    assert len(METRICS) >= 40
    assert len({m.code for m in METRICS}) == len(METRICS)
    from lifetwin.packs.registry import registry

    used = {m.domain for m in METRICS} | set(registry().event_domains.values())
    assert {m.domain for m in METRICS} <= set(domain_names())
    assert used == set(domain_names()), "every data category holds a metric or an event kind"


@pytest.mark.parametrize("m", METRICS, ids=lambda m: m.code)
def test_every_metric_has_a_usable_unit_and_range(m: object) -> None:
    from lifetwin.core.vocabulary import Metric

    assert isinstance(m, Metric)
    if m.is_numeric and m.unit != "currency":
        assert is_known_unit(m.unit)
        assert m.minimum is not None
        assert m.maximum is not None
        assert m.minimum < m.maximum


def test_external_names_find_metrics() -> None:
    assert metric("HKQuantityTypeIdentifierHeartRate").code == "heart_rate"
    assert metric("omh:blood-glucose").code == "glucose"
    assert metric("glucose").loinc == "2339-0"


def test_a_misspelled_metric_suggests_the_right_one() -> None:
    with pytest.raises(UnknownMetricError, match="did you mean heart_rate"):
        metric("hart_rate")


@pytest.mark.parametrize(
    ("unit", "code", "value", "expected"),
    [
        ("mmol/L", "glucose", 5.5, 99.0858),
        ("mg/dL", "glucose", 99.0, 99.0),
        ("lb", "body_mass", 200.0, 90.718474),
        ("[lb_av]", "body_mass", 100.0, 45.359237),
        ("degF", "body_temperature", 98.6, 37.0),
        ("Cel", "body_temperature", 37.2, 37.2),
        ("kJ", "active_energy", 418.4, 100.0),
        ("count/min", "heart_rate", 61.0, 61.0),
        ("{beats}/min", "heart_rate", 61.0, 61.0),
        ("km", "distance", 5.0, 5000.0),
        ("%", "lesson_score", 80.0, 0.8),
        ("mm[Hg]", "blood_pressure_systolic", 120.0, 120.0),
    ],
)
def test_units_convert_to_the_canonical_unit(
    unit: str, code: str, value: float, expected: float
) -> None:
    assert conversion(unit, metric(code)).apply(value) == pytest.approx(expected, abs=1e-6)


def test_glucose_uses_the_molar_mass_of_glucose() -> None:
    # 1 mmol/L of glucose is 18.0156 mg/dL.
    assert conversion("mmol/L", metric("glucose")).factor == pytest.approx(18.0156)


@pytest.mark.parametrize(
    ("unit", "code", "message"),
    [
        ("kg", "heart_rate", "Heart rate is measured in bpm; 'kilogram' cannot be converted"),
        ("mg/dL", "body_mass", "cannot be converted"),
        ("wobbles", "steps", "is not a unit LifeTwin knows"),
        ("XX1", "transaction_amount", "ISO 4217 currency code"),
    ],
)
def test_an_unconvertible_unit_is_a_clear_error(unit: str, code: str, message: str) -> None:
    with pytest.raises(UnitError, match=message):
        conversion(unit, metric(code))


@given(st.floats(min_value=0.1, max_value=60.0, allow_nan=False))
def test_glucose_round_trips_between_mmol_and_mg(mmol: float) -> None:
    mg = conversion("mmol/L", metric("glucose")).apply(mmol)
    back = mg / conversion("mmol/L", metric("glucose")).factor
    assert back == pytest.approx(mmol, rel=1e-9)


def _obs(code: str, value: float | str, unit: str | None = None, **kw: object) -> Observation:
    return Observation(metric=code, value=value, unit=unit, start=NOW, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "value", "unit", "reason"),
    [
        ("heart_rate", 900.0, "bpm", "heart_rate 900 bpm is outside the plausible range 20 to 250"),
        ("glucose", -5.0, "mg/dL", "glucose -5 mg/dL is outside the plausible range"),
        ("glucose", 60.0, "mmol/L", "glucose 1080.94 mg/dL is outside"),
        ("sleep_stage", "napping", None, "'napping' is not a sleep_stage category"),
    ],
)
def test_implausible_values_are_quarantined_with_the_reason(
    code: str, value: float | str, unit: str | None, reason: str
) -> None:
    result = normalize(_obs(code, value, unit), NOW)
    assert isinstance(result, Quarantined)
    assert reason in result.reason


def test_a_time_in_the_future_is_quarantined() -> None:
    later = NOW + timedelta(days=30)
    result = normalize(Observation(metric="heart_rate", value=60.0, start=later), NOW)
    assert isinstance(result, Quarantined)
    assert "in the future" in result.reason


def test_a_plausible_value_is_normalized_not_quarantined() -> None:
    result = normalize(_obs("body_temperature", 98.6, "degF"), NOW)
    assert isinstance(result, Observation)
    assert result.value == pytest.approx(37.0)
    assert result.unit == "degC"


def test_times_without_a_zone_are_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Observation(metric="heart_rate", value=60.0, start=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="end time is before"):
        Observation(metric="steps", value=1.0, start=NOW, end=NOW - timedelta(minutes=1))
