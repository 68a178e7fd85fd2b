"""Fitness–fatigue: recovery of known athletes, honest uncertainty, load and ACWR."""

from __future__ import annotations

import numpy as np
import pytest

from lifetwin.packs.athletics import fitness_fatigue as ff


def test_the_fit_recovers_simulated_athletes_within_its_credible_intervals() -> None:
    athletes = ff.simulate_athletes(8, seed=5, noise_pct=0.7)
    inside = 0
    errors = []
    for a in athletes:
        fit = ff.fit_fitness_fatigue(a.daily_load, a.performance, draws=300)
        for name in ("tau1", "tau2"):
            lo, hi = fit.credible_90[name]
            inside += lo <= a.params[name] <= hi
        tested = np.isfinite(a.performance)
        errors.append(np.mean(np.abs(ff.predict_mean(fit, a.daily_load)[tested] - a.truth[tested])))
    assert inside >= 12  # of 16 intervals at 90 %
    assert np.mean(errors) < 0.01 * np.mean([a.params["base"] for a in athletes])


def test_the_collinearity_of_the_parameters_is_reported() -> None:
    (a,) = ff.simulate_athletes(1, seed=2)
    fit = ff.fit_fitness_fatigue(a.daily_load, a.performance, draws=300)
    assert -1 <= fit.corr_k1_k2 <= 1
    assert -1 <= fit.corr_tau1_tau2 <= 1
    assert fit.corr_k1_k2 > 0.2  # fitness and fatigue gains trade off against each other
    for name, (lo, hi) in fit.credible_90.items():
        assert lo <= fit.params[name] <= hi, name


def test_personal_fit_beats_persistence_on_held_out_weeks() -> None:
    (a,) = ff.simulate_athletes(1, seed=9)
    fit = ff.fit_fitness_fatigue(a.daily_load[:140], a.performance[:140], draws=200)
    pred = ff.predict_mean(fit, a.daily_load)
    future = np.flatnonzero(np.isfinite(a.performance[140:])) + 140
    last = a.performance[:140][np.isfinite(a.performance[:140])][-1]
    model_err = np.mean(np.abs(pred[future] - a.performance[future]))
    persistence_err = np.mean(np.abs(last - a.performance[future]))
    assert model_err < persistence_err


def test_too_few_tests_are_refused_in_one_sentence() -> None:
    with pytest.raises(ff.FitnessFatigueError, match="at least 8 performance tests"):
        ff.fit_fitness_fatigue(np.full(40, 50.0), np.r_[np.full(5, 250.0), np.full(35, np.nan)])


def test_load_markers_and_the_workload_flag() -> None:
    hard = ff.trimp_banister(np.full(60, 170.0), 1.0, 50.0, 190.0)
    easy = ff.trimp_banister(np.full(60, 120.0), 1.0, 50.0, 190.0)
    assert hard > 2 * easy
    assert ff.trimp_edwards(np.full(10, 100.0), 1.0, 200.0) == 10.0
    assert ff.acwr_flag(1.7) == "spike"
    assert ff.acwr_flag(0.5) == "drop"
    assert ff.acwr_flag(1.0) == "steady"
    assert ff.acwr_flag(float("nan")) == "unknown"
    with pytest.raises(ff.FitnessFatigueError, match="maximum heart rate"):
        ff.trimp_banister(np.full(5, 100.0), 1.0, 190.0, 180.0)
