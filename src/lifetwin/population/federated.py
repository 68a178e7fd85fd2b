"""Federated training of the population model: the settings, the per-vault step, the report.

Flower-free on purpose: ``vault_update`` is the pure per-person step that runs
where the vaults are (a Flower SuperNode, a Ray task or a plain loop), and the
aggregate step is Flower's (FedAvg under SecAgg+ with central DP noise, see
``lifetwin.population.flower_app``). ``check_secure_aggregation`` refuses the
settings that make SecAgg+ fail silently in flwr 1.42.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field, model_validator

from lifetwin.population.accountant import epsilon_per_round, noise_for_epsilon
from lifetwin.population.budget import BudgetExceededError, spend
from lifetwin.population.errors import SecureAggregationError
from lifetwin.population.features import FEATURES, read_daily, sleep_examples
from lifetwin.population.model import clip_update, local_train
from lifetwin.store.vault import Vault

F64 = npt.NDArray[np.float64]


class FederatedConfig(BaseModel):
    """What a study operator chooses for one federated training run."""

    study: str
    run_id: str = Field(default_factory=lambda: "fl-" + uuid.uuid4().hex[:10])
    rounds: int = Field(default=5, ge=1, le=200)
    target_epsilon: float = Field(default=3.0, gt=0)
    delta: float = Field(default=1e-5, gt=0, lt=1)
    clipping_norm: float = Field(default=1.0, gt=0)
    noise_multiplier: float | None = None  # None: the least noise reaching target_epsilon
    local_epochs: int = Field(default=5, ge=1)
    learning_rate: float = Field(default=0.5, gt=0)
    server_learning_rate: float = Field(default=1.0, gt=0)
    num_shares: int = 3
    reconstruction_threshold: int = 2
    min_train_nodes: int = Field(default=2, ge=2)
    secure_aggregation: bool = True
    until: datetime | None = None  # train on days before this moment only

    @model_validator(mode="after")
    def _secagg(self) -> FederatedConfig:
        if self.secure_aggregation:
            check_secure_aggregation(self.num_shares, self.reconstruction_threshold)
        return self

    def noise(self) -> float:
        if self.noise_multiplier is not None:
            return self.noise_multiplier
        return noise_for_epsilon(self.target_epsilon, self.rounds, self.delta)

    def epsilons(self) -> list[float]:
        """The cumulative ε after each round (all consenting vaults in every round)."""
        return epsilon_per_round(self.noise(), self.rounds, self.delta)


def check_secure_aggregation(num_shares: int, reconstruction_threshold: int) -> None:
    """Refuse SecAgg+ settings that flwr 1.42 accepts but cannot run.

    With an even ``num_shares`` every client fails in ``_share_keys``, no round
    aggregates, and the run still exits 0.

    >>> try:
    ...     check_secure_aggregation(4, 2)
    ... except SecureAggregationError as e:
    ...     print(str(e)[:49])
    SecAgg+ needs an odd number of key shares (got 4)
    """
    if isinstance(num_shares, bool) or not isinstance(num_shares, int):
        raise SecureAggregationError("The number of SecAgg+ key shares must be a whole number.")
    if num_shares < 3:
        raise SecureAggregationError(f"SecAgg+ needs at least 3 key shares (got {num_shares}).")
    if num_shares % 2 == 0:
        raise SecureAggregationError(
            f"SecAgg+ needs an odd number of key shares (got {num_shares}): with an even "
            "number every client fails and no round aggregates."
        )
    if not 2 <= reconstruction_threshold < num_shares:
        raise SecureAggregationError(
            f"The SecAgg+ reconstruction threshold must be at least 2 and below the "
            f"{num_shares} key shares (got {reconstruction_threshold})."
        )


@dataclass(frozen=True)
class VaultUpdate:
    """What leaves one vault in one round: a clipped weight update, nothing else."""

    update: F64
    contributed: bool
    examples: int


def vault_update(
    vault: Vault,
    weights: F64,
    config: FederatedConfig,
    examples: tuple[F64, F64] | None = None,
) -> VaultUpdate:
    """The per-person step of one round: spend the budget once per run, train, clip.

    A person without the research grant for the study, with no usable days, or
    whose budget cannot pay for the run's ε sends a zero update, which is summed
    like any other under secure aggregation, so it reveals nothing and moves
    nothing. ``examples`` lets a node reuse what it read in an earlier round of
    the same run.
    """
    zero = VaultUpdate(np.zeros_like(weights), contributed=False, examples=0)
    if examples is None:
        examples = person_examples(vault, config.study, config.until)
    x, y = examples
    if not len(y):
        return zero
    try:
        spend(
            vault,
            config.study,
            federated_query(config.run_id),
            config.epsilons()[-1],
            config.delta,
        )
    except BudgetExceededError:
        return zero
    trained = local_train(weights, x, y, epochs=config.local_epochs, lr=config.learning_rate)
    return VaultUpdate(clip_update(trained - weights, config.clipping_norm), True, len(y))


def federated_query(run_id: str) -> str:
    """What a run is called in each contributor's budget ledger."""
    return f"federated {run_id}"


def person_examples(vault: Vault, study: str, until: datetime | None = None) -> tuple[F64, F64]:
    """The person's training examples as research for ``study`` may see them now."""
    return sleep_examples(read_daily(vault, study, until=until))


def shard_update(updates: list[VaultUpdate], n_features: int = len(FEATURES)) -> F64:
    """A SuperNode's update: the mean of its vaults' clipped updates (each ≤ the clip)."""
    if not updates:
        return np.zeros(n_features + 1)
    return np.asarray(np.mean([u.update for u in updates], axis=0), dtype=np.float64)


class RoundReport(BaseModel):
    round: int
    aggregated: bool
    epsilon: float
    seconds: float
    nodes: int


class FederatedReport(BaseModel):
    """What a federated run produced; no value of any person is in it."""

    study: str
    run_id: str
    mode: str  # "simulation" or "deployment"
    nodes: int
    rounds: int
    rounds_aggregated: int
    noise_multiplier: float
    clipping_norm: float
    epsilon: float
    delta: float
    secure_aggregation: bool
    num_shares: int
    per_round: list[RoundReport]
    weights: list[float]
    features: list[str]
    seconds: float
    bytes_per_client_per_round: float | None = None

    def require_all_rounds(self) -> FederatedReport:
        """The report, or an error when any round failed to aggregate."""
        if self.rounds_aggregated != self.rounds:
            raise SecureAggregationError(
                f"Only {self.rounds_aggregated} of {self.rounds} rounds aggregated, so the "
                "model was not trained as asked."
            )
        return self
