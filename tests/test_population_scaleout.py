"""A population step gives the same results in-process and as Ray tasks over shards."""

from __future__ import annotations

from typing import Any

import pytest

from lifetwin.population.scaleout import daily_means_step, run_population_step, shutdown_ray


@pytest.mark.slow
def test_ray_tasks_over_shards_match_the_in_process_run(twin_cohort: Any) -> None:
    local, run = run_population_step(twin_cohort.home, twin_cohort.study, daily_means_step)
    assert run.mode == "in-process"
    assert len(local) == sum(t.consented for t in twin_cohort.twins)
    try:
        remote, ray_run = run_population_step(
            twin_cohort.home, twin_cohort.study, daily_means_step, workers=2, shards=4
        )
    finally:
        shutdown_ray()
    assert ray_run.mode == "ray"
    assert ray_run.shards == 4

    def key(row: dict[str, float]) -> float:
        return row["resting_heart_rate"]

    assert [key(r) for r in sorted(remote, key=key)] == pytest.approx(
        [key(r) for r in sorted(local, key=key)]
    )
