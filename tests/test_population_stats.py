"""DP statistics across consenting persons, with the budget ledger (OpenDP)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifetwin.population.budget import load_budget, set_budget_limit
from lifetwin.population.cohort import make_cohort
from lifetwin.population.dpstats import dp_histogram, dp_mean, population_statistic
from lifetwin.population.errors import PopulationError
from lifetwin.services.home import open_home


def test_dp_mean_is_close_on_a_large_population() -> None:
    values = np.random.default_rng(0).normal(62, 8, 10_000)
    mean, count = dp_mean(values, 25.0, 150.0, 1.0)
    assert abs(mean - values.mean()) / values.mean() < 0.01
    assert abs(count - 10_000) < 50


def test_histogram_counts_every_value_once() -> None:
    values = np.array([1.0] * 3000 + [3.0] * 1000)
    counts = dp_histogram(values, [0.0, 2.0, 4.0], 1.0)
    assert counts[0] == pytest.approx(3000, abs=40)
    assert counts[1] == pytest.approx(1000, abs=40)


def test_release_counts_consent_and_budget_refusals_exactly(tmp_path: Path) -> None:
    twin_cohort = make_cohort(tmp_path / "home", 40, seed=3)
    store = open_home(twin_cohort.home)
    consenting = [t for t in twin_cohort.twins if t.consented]
    poor = consenting[:5]
    for twin in poor:
        set_budget_limit(store.vault(store.person(twin.person_id)), 0.1)
    release = population_statistic(
        store, twin_cohort.study, "resting_heart_rate", "mean", 2.0, bounds=(40.0, 100.0)
    )
    assert release.refused_budget == len(poor)
    assert release.without_consent == len(twin_cohort.twins) - len(consenting)
    assert release.contributors == len(consenting) - len(poor)
    truth = np.mean([t.daily["resting_heart_rate"].mean() for t in consenting[5:]])
    assert release.mean is not None
    assert abs(release.mean - truth) < 15
    for twin in poor:  # refused persons were not charged
        assert load_budget(store.vault(store.person(twin.person_id))).spends == []
    quantiles = population_statistic(
        store, twin_cohort.study, "resting_heart_rate", "quantiles", 0.5, bounds=(40, 100)
    )
    assert quantiles.quantiles is not None
    assert set(quantiles.quantiles) == {"0.25", "0.5", "0.75"}
    # each person has now spent 2.5 of the default 10
    assert load_budget(store.vault(store.person(consenting[-1].person_id))).epsilon_spent == 2.5
    with pytest.raises(PopulationError, match="nothing was released"):
        population_statistic(store, twin_cohort.study, "resting_heart_rate", "mean", 9.5)
    store.close()
