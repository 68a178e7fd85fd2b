"""The personal glucose twin: physiology a person would recognise, and parameter recovery
on data simulated from the model itself."""

from __future__ import annotations

import numpy as np
import pytest

from lifetwin.packs.metabolic import glucose_twin as gt

BASAL_U_MIN = 0.015
TRUE = {**gt.PRIOR_MEDIAN, "Gb": 140.0, "SI": 9e-4, "SG": 0.02, "kabs": 0.03, "beta": 12.0}


def _day_inputs(days: int, seed: int = 0) -> gt.GlucoseInputs:
    rng = np.random.default_rng(seed)
    inputs = gt.empty_inputs(0, days * 1440, 75.0)
    inputs.basal_u[:] = BASAL_U_MIN
    for d in range(days):
        for hour, grams in ((7.5, 45), (12.5, 70), (19.0, 80)):
            minute = d * 1440 + int((hour + rng.normal(0, 0.5)) * 60)
            carbs = grams * rng.uniform(0.7, 1.3)
            inputs.carbs_g[1, minute] = carbs
            inputs.bolus_u[minute] = carbs / 12 * rng.uniform(0.8, 1.2)
    return inputs


def _free(n: int, start: float | None = None) -> np.ndarray:
    g = np.full(n, np.nan)
    if start is not None:
        g[0] = start
    return g


def test_at_the_usual_basal_and_without_meals_glucose_stays_at_its_basal_level() -> None:
    inputs = gt.empty_inputs(0, 1440)
    inputs.basal_u[:] = BASAL_U_MIN
    out = gt.simulate_cgm(gt.theta_of(TRUE), inputs, BASAL_U_MIN, _free(1440), np.array([1439]))
    assert out[0, 0] == pytest.approx(TRUE["Gb"], rel=1e-6)


def test_a_meal_raises_glucose_and_a_larger_bolus_lowers_it_more() -> None:
    inputs = gt.empty_inputs(0, 600)
    inputs.basal_u[:] = BASAL_U_MIN
    inputs.carbs_g[1, 10] = 60
    obs = np.arange(0, 600, 5)
    theta = gt.theta_of(TRUE)
    meal_only = gt.simulate_cgm(theta, inputs, BASAL_U_MIN, _free(600), obs)[0]
    assert meal_only.max() > TRUE["Gb"] + 40
    small, large = (
        gt.simulate_cgm(
            theta,
            gt.with_inputs(inputs, bolus_u=np.where(np.arange(600) == 10, units, 0.0)),
            BASAL_U_MIN,
            _free(600),
            obs,
        )[0]
        for units in (3.0, 6.0)
    )
    assert large.max() < small.max() < meal_only.max()
    assert large[-1] < small[-1]


def test_more_basal_insulin_lowers_glucose_and_fast_carbs_peak_earlier() -> None:
    inputs = gt.empty_inputs(0, 1440)
    inputs.basal_u[:] = BASAL_U_MIN * 1.2
    obs = np.arange(0, 1440, 5)
    more = gt.simulate_cgm(gt.theta_of(TRUE), inputs, BASAL_U_MIN, _free(1440), obs)[0]
    assert more[-1] < TRUE["Gb"] - 10
    fast, slow = gt.empty_inputs(0, 600), gt.empty_inputs(0, 600)
    fast.carbs_g[0, 10] = slow.carbs_g[2, 10] = 50
    for x in (fast, slow):
        x.basal_u[:] = BASAL_U_MIN
    obs = np.arange(0, 600, 5)
    peak_fast = np.argmax(gt.simulate_cgm(gt.theta_of(TRUE), fast, BASAL_U_MIN, _free(600), obs)[0])
    peak_slow = np.argmax(gt.simulate_cgm(gt.theta_of(TRUE), slow, BASAL_U_MIN, _free(600), obs)[0])
    assert peak_fast < peak_slow


def test_exercise_lowers_glucose() -> None:
    inputs = gt.empty_inputs(0, 600)
    inputs.basal_u[:] = BASAL_U_MIN
    obs = np.arange(0, 600, 5)
    rest = gt.simulate_cgm(gt.theta_of(TRUE), inputs, BASAL_U_MIN, _free(600), obs)[0]
    inputs.exercise[60:105] = 0.6
    active = gt.simulate_cgm(gt.theta_of(TRUE), inputs, BASAL_U_MIN, _free(600), obs)[0]
    assert active.min() < rest.min() - 15


@pytest.mark.slow
def test_the_fit_recovers_the_parameters_it_was_simulated_with() -> None:
    inputs = _day_inputs(4)
    obs = np.arange(0, inputs.minutes, 5)
    clean = gt.simulate_cgm(
        gt.theta_of(TRUE), inputs, BASAL_U_MIN, _free(inputs.minutes, 150.0), obs
    )[0]
    rng = np.random.default_rng(1)
    cgm = clean + rng.normal(0, 3.0, len(clean))
    data = gt.prepare(inputs, obs * 60_000, cgm, warmup_min=360, basal_ref_u_min=BASAL_U_MIN)
    twin = gt.fit_map(data, restarts=3)
    assert twin.quality.rmse_mg_dl < 5.0  # the noise is 3
    assert twin.quality.rmse_mg_dl < 0.5 * twin.quality.population_rmse_mg_dl
    for name in ("Gb", "SI", "SG"):
        assert twin.params[name] == pytest.approx(TRUE[name], rel=0.3), name
    again = gt.GlucoseTwin.model_validate_json(twin.model_dump_json())
    assert again == twin


@pytest.mark.slow
def test_posterior_draws_bracket_the_truth_and_give_bands() -> None:
    inputs = _day_inputs(3, seed=2)
    obs = np.arange(0, inputs.minutes, 5)
    clean = gt.simulate_cgm(
        gt.theta_of(TRUE), inputs, BASAL_U_MIN, _free(inputs.minutes, 150.0), obs
    )[0]
    cgm = clean + np.random.default_rng(3).normal(0, 3.0, len(clean))
    data = gt.prepare(inputs, obs * 60_000, cgm, warmup_min=360, basal_ref_u_min=BASAL_U_MIN)
    twin = gt.sample_posterior(gt.fit_map(data, restarts=2), data, walkers=24, steps=300, keep=100)
    assert len(twin.samples) == 100
    lo, hi = twin.credible()["Gb"]
    assert lo <= TRUE["Gb"] * 1.05
    assert hi >= TRUE["Gb"] * 0.95
    history = np.interp(np.arange(360), obs, cgm)
    result = gt.replay(twin, inputs.window(0, 360 + 1440), history, warmup_min=360)
    med, low, high = gt.predictive_band(twin, result)
    assert np.all(low <= med)
    assert np.all(med <= high)
    truth = clean[(result.minutes + 360) // 5]
    assert np.mean((truth >= low) & (truth <= high)) > 0.8


def test_bolus_records_split_delivered_insulin_into_basal_and_bolus() -> None:
    ts = np.arange(0, 24 * 12, dtype=np.int64) * 300_000
    delivered = np.full(len(ts), 0.1)  # 1.2 U/h basal, in 5-minute samples
    delivered[36] += 4.0
    inputs = gt.build_inputs(
        0,
        1440,
        meals=[(36 * 300_000, 50.0)],
        insulin_ts_ms=ts,
        insulin_u=delivered,
        boluses=[(36 * 300_000, 4.0)],
    )
    assert inputs.bolus_u.sum() == pytest.approx(4.0)
    assert inputs.basal_u.sum() == pytest.approx(0.1 * len(ts))
    assert inputs.carbs_g[1].sum() == pytest.approx(50.0)
    without = gt.build_inputs(0, 1440, meals=[], insulin_ts_ms=ts, insulin_u=delivered)
    assert without.bolus_u.sum() == pytest.approx(4.0, rel=0.02)


def test_too_little_cgm_is_said_in_one_sentence() -> None:
    inputs = _day_inputs(1)
    with pytest.raises(gt.GlucoseTwinError, match="at least one day of CGM"):
        gt.prepare(inputs, np.arange(10, dtype=np.int64) * 300_000, np.full(10, 120.0))
