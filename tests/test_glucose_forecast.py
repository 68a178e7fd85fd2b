"""Glucose forecasting: the AR2 baseline, the model contract, and a real simulated patient."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from lifetwin.capabilities.glucose_forecast import (
    GlucoseForecaster,
    ar2_forecast,
    feature_matrix,
    targets,
)


def test_ar2_is_nightscouts_formula() -> None:
    assert ar2_forecast(np.array([140.0, 140.0]), 60) == pytest.approx(140.0)
    y1, y0 = np.log(100 / 140), np.log(105 / 140)
    one_step = 140 * np.exp(-0.723 * y1 + 1.716 * y0)
    assert ar2_forecast(np.array([100.0, 105.0]), 5) == pytest.approx(one_step)
    assert ar2_forecast(np.array([100.0, 105.0]), 30) > 105


def _synthetic(seed: int, n: int = 3000) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    carbs = np.where(rng.random(n) < 0.01, rng.uniform(20, 80, n), 0.0)
    insulin = np.where(carbs > 0, carbs / 12, 0.0) + 0.05
    glucose = np.empty(n)
    glucose[0] = 120
    cob = iob = 0.0
    for t in range(1, n):
        cob = cob * np.exp(-5 / 45) + carbs[t]
        iob = iob * np.exp(-5 / 75) + insulin[t]
        glucose[t] = glucose[t - 1] + 0.08 * cob - 1.2 * iob + 0.02 * (120 - glucose[t - 1])
        glucose[t] += rng.normal(0, 1.0)
    minutes = np.arange(n) * 5.0
    return glucose, insulin, carbs, minutes % 1440


def test_the_forecaster_beats_persistence_and_its_intervals_cover() -> None:
    glucose, insulin, carbs, minute = _synthetic(1)
    x, y = feature_matrix(glucose, insulin, carbs, minute), targets(glucose)
    model = GlucoseForecaster()
    model.learn_many(x[:2000], {h: v[:2000] for h, v in y.items()})
    model.learn_many(x[2000:2400], {h: v[2000:2400] for h, v in y.items()})  # errors for intervals
    test = np.arange(2400, 2900)
    truth = glucose[test + 6]
    predicted = model.predict_many(x[test], glucose[test], 30)
    assert np.sqrt(np.mean((predicted - truth) ** 2)) < 0.7 * np.sqrt(
        np.mean((glucose[test] - truth) ** 2)
    )
    inside = 0
    for i in test:
        (f30, *_rest) = model.predict_one(x[i], float(glucose[i]))
        inside += f30.low_mg_dl <= glucose[i + 6] <= f30.high_mg_dl
    assert 0.8 <= inside / len(test) <= 0.97  # nominal 90 %


def test_the_model_contract_clone_save_load_explain() -> None:
    glucose, insulin, carbs, minute = _synthetic(2, 1500)
    x, y = feature_matrix(glucose, insulin, carbs, minute), targets(glucose)
    model = GlucoseForecaster(ridge=2.0)
    model.learn_many(x[:1200], {h: v[:1200] for h, v in y.items()})
    fresh = model.clone()
    assert fresh.ridge == 2.0
    assert fresh.seen == 0
    assert fresh.predict_one(x[1300], 120.0) == []
    restored = GlucoseForecaster.from_state(model.to_state())
    assert restored.predict_one(x[1300], 120.0) == model.predict_one(x[1300], 120.0)
    parts = model.explain_one(x[1300])[30]
    (f30, *_rest) = model.predict_one(x[1300], float(glucose[1300]))
    assert sum(parts.values()) == pytest.approx(f30.value_mg_dl - glucose[1300], abs=0.01)
    before = model.predict_one(x[1300], 120.0)[0].value_mg_dl
    model.learn_one(x[1250], {h: float(v[1250]) for h, v in y.items()})  # learns online
    assert model.seen == restored.seen + 1
    assert model.predict_one(x[1300], 120.0)[0].value_mg_dl != before


def test_on_a_simulated_patient_it_beats_ar2_at_30_minutes() -> None:
    from lifetwin.services.glucose_sim import simulate

    run = simulate(3, datetime(2026, 1, 1), seed=3, patient="adolescent#002")
    cgm = run.cgm_mg_dl
    minutes = (run.times - run.times[0]).astype("timedelta64[m]").astype(float)
    x, y = feature_matrix(cgm, run.insulin_u, run.carbs_g, minutes % 1440), targets(cgm)
    split = 2 * 288
    model = GlucoseForecaster()
    model.learn_many(x[:split], {h: v[:split] for h, v in y.items()})
    test = np.arange(split, len(cgm) - 6)
    truth = cgm[test + 6]
    ours = model.predict_many(x[test], cgm[test], 30)
    ar2 = np.array([ar2_forecast(cgm[i - 1 : i + 1], 30) for i in test])
    assert np.sqrt(np.mean((ours - truth) ** 2)) < np.sqrt(np.mean((ar2 - truth) ** 2))


def test_a_person_forecast_is_stored_with_lineage_and_revocation_removes_it(
    tmp_path: object,
) -> None:
    from pathlib import Path

    from lifetwin.capabilities.glucose_forecast import forecast_for_person
    from lifetwin.services.demo import create_demo
    from lifetwin.services.home import init_home

    store = init_home(Path(str(tmp_path)) / "home")
    person = create_demo(store, days=3, seed=4).person
    vault = store.vault(person)
    result = forecast_for_person(vault)
    assert result is not None
    assert [f.horizon_min for f in result.forecasts] == [30, 60, 120]
    for item in result.forecasts:
        assert item.low_mg_dl < item.value_mg_dl < item.high_mg_dl
    stored = vault.derived("forecast:glucose")
    assert stored is not None
    assert stored.lineage.purpose == "forecasting"
    assert {i.metric for i in stored.lineage.inputs} >= {"glucose", "event:meal"}
    grant = next(g for g in vault.consents().grants if g.purpose.value == "forecasting")
    assert "forecast:glucose" in vault.revoke(grant.id)
    assert forecast_for_person(vault) is None  # nothing may be read for forecasting now


def test_a_forecast_says_what_it_is_based_on_and_when_it_is_not_current(
    tmp_path: object,
) -> None:
    from datetime import timedelta
    from pathlib import Path

    from lifetwin.capabilities.glucose_forecast import forecast_for_person
    from lifetwin.services.demo import create_demo
    from lifetwin.services.home import init_home

    store = init_home(Path(str(tmp_path)) / "home")
    person = create_demo(store, days=3, seed=5).person
    vault = store.vault(person)
    result = forecast_for_person(vault)
    assert result is not None
    last = result.based_on
    assert result.last_reading_ms == int(last.timestamp() * 1000)
    fresh = forecast_for_person(vault, now=last + timedelta(minutes=4))
    assert fresh is not None
    assert fresh.current
    assert fresh.status == "Based on the reading of 4 min ago."
    old = forecast_for_person(vault, now=last + timedelta(hours=11))
    assert old is not None
    assert not old.current
    assert old.age_min == pytest.approx(660)
    assert old.status.startswith("Not current: the last reading is 11 h old")
    assert old.hypo_warning is False  # a low "forecast" for 11 hours ago is not raised
    for item in fresh.forecasts:  # never "108 to 108"
        assert item.high_mg_dl - item.low_mg_dl >= 10
        assert item.low_mg_dl < item.value_mg_dl < item.high_mg_dl
    assert sorted(fresh.trajectory) == [*range(5, 45, 5), 60, 120]


def test_intervals_never_have_zero_width_even_before_honest_errors_exist() -> None:
    glucose, insulin, carbs, minute = _synthetic(4, 800)
    x, y = feature_matrix(glucose, insulin, carbs, minute), targets(glucose)
    model = GlucoseForecaster()
    model.learn_many(x[:250], {h: v[:250] for h, v in y.items()})  # one batch: no errors yet
    for item in model.predict_one(x[750], float(glucose[750])):
        assert item.high_mg_dl - item.low_mg_dl >= 10
    flat = np.full(800, 108.0)
    z = np.zeros(800)
    steady = GlucoseForecaster()
    xf = feature_matrix(flat, z, z, minute)
    steady.learn_many(xf[:400], {h: v[:400] for h, v in targets(flat).items()})
    steady.learn_many(xf[400:700], {h: v[400:700] for h, v in targets(flat).items()})
    (f30, *_rest) = steady.predict_one(xf[750], 108.0)
    assert f30.low_mg_dl <= 103
    assert f30.high_mg_dl >= 113


def test_long_sensor_gaps_are_not_interpolated() -> None:
    from lifetwin.capabilities.glucose_forecast import regular_grid

    minutes = np.concatenate([np.arange(0, 60, 5), np.arange(180, 240, 5), [250]])
    ts = minutes.astype(np.int64) * 60_000
    values = 100 + minutes / 10.0
    start, grid = regular_grid(ts, values)
    assert start == 0
    assert np.isnan(grid[12:36]).all()  # two hours missing stay missing
    assert grid[49] == pytest.approx(124.5)  # a 10-minute hole is filled
    x = feature_matrix(grid, np.zeros(len(grid)), np.zeros(len(grid)), np.zeros(len(grid)))
    assert np.isnan(x[36:42]).any(axis=1).all()  # no example spans the gap


def test_the_alert_rule_wants_a_sustained_low_soon() -> None:
    from lifetwin.capabilities.glucose_forecast import hypo_signal, hypo_warning

    dip = {5: 72.0, 10: 69.0, 15: 71.0, 20: 69.0, 25: 75.0, 30: 80.0, 35: 85.0, 40: 90.0}
    assert not hypo_warning(dip)  # never 15 minutes below 70
    late = {h: 100.0 - h for h in range(5, 45, 5)}  # below 70 only from 35 minutes on
    assert not hypo_warning(late)
    falling = {h: 90.0 - 1.2 * h for h in range(5, 45, 5)}  # below 70 from 20 minutes
    assert hypo_warning(falling)
    stacked = {h: np.array([dip[h], late[h], falling[h]]) for h in dip}
    assert hypo_signal(stacked).tolist() == [False, False, True]


def test_where_its_own_past_forecasts_fail_the_model_leans_on_ar2() -> None:
    from lifetwin.capabilities.glucose_forecast import ar2_change

    glucose, insulin, carbs, minute = _synthetic(6, 3000)
    x = feature_matrix(glucose, insulin, carbs, minute)
    # a person whose glucose moves exactly as AR2 extrapolates: any other forecast is worse
    y = {h: ar2_change(x, h) for h in (30, 60, 120)}
    model = GlucoseForecaster()
    fresh = GlucoseForecaster()
    fresh.learn_many(x[:800], {h: v[:800] for h, v in y.items()})
    assert fresh.mix(30) == 1.0  # fewer than two days of honest forecasts: the model alone
    for lo in range(0, 3000, 288):  # day by day, as forecast_for_person learns
        model.learn_many(x[lo : lo + 288], {h: v[lo : lo + 288] for h, v in y.items()})
    assert model.mix(30) < 0.2
    (f30, *_rest) = model.predict_one(x[2990], float(glucose[2990]))
    assert f30.value_mg_dl == pytest.approx(glucose[2990] + y[30][2990], abs=0.5)
    parts = model.explain_one(x[2990])[30]
    assert sum(parts.values()) == pytest.approx(f30.value_mg_dl - glucose[2990], abs=0.05)


def _write_example(vault: object, data: object) -> None:
    from lifetwin.store.codec import Columns

    for s in data.series:  # type: ignore[attr-defined]
        if len(s.ts_ms):
            z = np.zeros(len(s.ts_ms), dtype=np.int64)
            cols = Columns(s.ts_ms, z + s.dur_ms, s.values, z + s.tz_min, z, z, z)
            vault.write_columns(s.metric, s.source, None, s.unit, cols)  # type: ignore[attr-defined]
    if data.records:  # type: ignore[attr-defined]
        vault.write_records(list(data.records))  # type: ignore[attr-defined]


def test_after_an_hour_of_new_data_the_forecast_learns_that_hour_only(store: object) -> None:
    from datetime import UTC, timedelta

    from lifetwin.capabilities.glucose_forecast import forecast_for_person
    from lifetwin.privacy.consent import Purpose, Scope

    data = GlucoseForecaster.example_data(5, 11)
    end = data.end_ms()
    history, hour = data.split(end - 3_600_000 + 1)
    vault = store.add_person("Kim")  # type: ignore[attr-defined]
    vault = store.vault(vault)  # type: ignore[attr-defined]
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    _write_example(vault, history)
    first = forecast_for_person(vault, now=datetime.fromtimestamp(end / 1000, UTC))
    assert first is not None
    assert vault.derived("forecast:glucose").payload["refit"] is True
    _write_example(vault, hour)  # an ingest: the next hour of CGM, meals and doses
    now = datetime.fromtimestamp(end / 1000, UTC) + timedelta(minutes=1)
    after = forecast_for_person(vault, now=now)
    stored = vault.derived("forecast:glucose")
    assert stored is not None
    assert stored.payload["refit"] is False
    assert stored.payload["learned"] == 12  # the steps whose 2-hour outcome became known
    refit = forecast_for_person(vault, now=now, incremental=False)
    assert after is not None
    assert refit is not None
    assert after.trained_steps == refit.trained_steps > first.trained_steps
    assert after.last_reading_ms == refit.last_reading_ms == int(hour.series[0].ts_ms[-1])
    for a, b in zip(after.forecasts, refit.forecasts, strict=True):
        assert (a.value_mg_dl, a.low_mg_dl, a.high_mg_dl) == pytest.approx(
            (b.value_mg_dl, b.low_mg_dl, b.high_mg_dl), abs=1e-6
        )
    assert after.trajectory == refit.trajectory
    assert after.lineage is not None
    assert after.lineage.grants


def test_a_new_time_zone_changes_the_time_of_day_of_every_step_so_it_refits(
    store: object,
) -> None:
    from datetime import UTC, timedelta

    from lifetwin.capabilities.glucose_forecast import forecast_for_person
    from lifetwin.models.contract import ExampleData, SeriesData
    from lifetwin.privacy.consent import Purpose, Scope

    data = GlucoseForecaster.example_data(4, 12)
    end = data.end_ms()
    history, hour = data.split(end - 3_600_000 + 1)
    vault = store.vault(store.add_person("Ola"))  # type: ignore[attr-defined]
    vault.grant(Scope.parse("all"), Purpose.FORECASTING)
    _write_example(vault, history)
    assert forecast_for_person(vault, now=datetime.fromtimestamp(end / 1000, UTC)) is not None
    s = hour.series[0]
    travelled = ExampleData(
        (SeriesData(s.metric, s.source, s.unit, s.ts_ms, s.values, tz_min=-300),), hour.records
    )
    _write_example(vault, travelled)  # the next hour's readings, taken in New York
    now = datetime.fromtimestamp(end / 1000, UTC) + timedelta(minutes=1)
    assert forecast_for_person(vault, now=now) is not None
    stored = vault.derived("forecast:glucose")
    assert stored is not None
    assert stored.payload["refit"] is True
