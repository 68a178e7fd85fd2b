"""DP synthetic cohorts: a formal ε, usable quality, and no copies of real persons."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from lifetwin.population.cohort import simulate_days
from lifetwin.population.errors import PopulationError
from lifetwin.population.synth import (
    age_band,
    approx_epsilon,
    distance_to_closest_record,
    membership_auc,
    quality_report,
    synthesize_rows,
    synthetic_cohort,
)
from lifetwin.services.home import open_home


def _rows(n: int, seed: int) -> list[list[Any]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        age = int(rng.integers(20, 81))
        sex = "female" if rng.random() < 0.5 else "male"
        d = simulate_days(rng, age, sex, 21)
        out.append(
            [sex, age_band(age), str(int(rng.integers(1, 10)))]
            + [float(d[k].mean()) for k in ("resting_heart_rate", "hrv_rmssd", "steps")]
            + [float(d["sleep_duration"].mean())]
        )
    return out


def test_synthetic_cohort_quality_and_privacy_smoke(flower_runtime: Path) -> None:
    members, holdout = _rows(1500, 1), _rows(1500, 2)
    cohort = synthesize_rows(members, epsilon=1.0, delta=1e-6, seed=0)
    assert approx_epsilon(cohort.rho, 1e-6) <= 1.0 + 1e-6
    assert len(cohort.tree) == len(cohort.columns) - 1
    quality = quality_report(members, cohort.rows, python=flower_runtime)
    assert quality["column_pair_trends"] == quality["column_pair_trends"]  # not NaN
    assert quality["overall"] > 0.8
    dcr = distance_to_closest_record(members, cohort.rows)
    assert dcr["exact_copies"] == 0.0
    assert membership_auc(members, holdout, cohort.rows) < 0.6


def test_a_small_cohort_is_not_released(twin_cohort: Any) -> None:
    store = open_home(twin_cohort.home)
    with pytest.raises(PopulationError, match="no synthetic cohort was released"):
        synthetic_cohort(store, twin_cohort.study, 1.0)
    store.close()


def test_only_the_persons_in_a_synthetic_cohort_are_charged(tmp_path: Path) -> None:
    from lifetwin.population.budget import load_budget
    from lifetwin.population.cohort import make_cohort

    cohort = make_cohort(tmp_path / "home", 60, seed=9, research_share=0.9)
    store = open_home(cohort.home)
    made = synthetic_cohort(store, cohort.study, 1.0)
    again = synthetic_cohort(store, cohort.study, 1.0)  # fresh noise: charged again
    assert made.release_id != again.release_id
    for twin in cohort.twins:
        spends = load_budget(store.vault(store.person(twin.person_id))).spends
        assert len(spends) == (2 if twin.consented else 0)
    assert made.contributors == sum(t.consented for t in cohort.twins)
    store.close()
