"""Federated training on Flower: a real SuperLink and SuperNodes on loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lifetwin.population.errors import SecureAggregationError
from lifetwin.population.federated import FederatedConfig
from lifetwin.population.runtime import deploy_federated, simulate_federated


@pytest.mark.parametrize("shares", [4, 6, 2])
def test_even_or_too_few_key_shares_are_refused_before_anything_starts(shares: int) -> None:
    with pytest.raises(SecureAggregationError, match="key shares"):
        FederatedConfig(study="s", num_shares=shares)


@pytest.mark.slow
def test_a_real_deployment_aggregates_every_round(flower_runtime: Path, twin_cohort: Any) -> None:
    config = FederatedConfig(study=twin_cohort.study, rounds=2, target_epsilon=3.0)
    report = deploy_federated(twin_cohort.home, config, nodes=2, timeout_s=400)
    assert report.mode == "deployment"
    assert report.nodes == 2
    assert report.rounds_aggregated == report.rounds == 2
    assert [r.aggregated for r in report.per_round] == [True, True]
    epsilons = [r.epsilon for r in report.per_round]
    assert epsilons[0] < epsilons[1] == report.epsilon <= 3.0
    assert report.secure_aggregation
    assert report.num_shares % 2 == 1
    assert len(report.weights) == len(report.features) + 1
    assert report.bytes_per_client_per_round
    assert report.bytes_per_client_per_round > 0


@pytest.mark.slow
def test_the_simulation_engine_runs_one_node_per_vault(
    flower_runtime: Path, twin_cohort: Any
) -> None:
    config = FederatedConfig(study=twin_cohort.study, rounds=2, min_train_nodes=10)
    report = simulate_federated(twin_cohort.home, config, nodes=10, workers=2)
    assert report.mode == "simulation"
    assert report.rounds_aggregated == 2
    assert all(r.nodes == 10 for r in report.per_round)
