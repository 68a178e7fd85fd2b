"""What the study operator and the person see of population work.

``study_view`` is the operator's view model: counts, releases and the
federated runs' guarantees, never a person's value or identity.
``contribution_view`` is the person's own view: every study that used their
data, what it cost and what budget is left (read with the person's own access).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from lifetwin.population.budget import load_budget
from lifetwin.population.dpstats import DPRelease
from lifetwin.population.federated import FederatedReport
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Store, Vault


class ReleaseSummary(BaseModel):
    release_id: str
    kind: str
    metric: str
    epsilon: float
    value: float | dict[str, float] | list[float] | None


class FederatedSummary(BaseModel):
    run_id: str
    mode: str
    nodes: int
    rounds: int
    rounds_aggregated: int
    epsilon: float
    delta: float
    secure_aggregation: bool


class StudyOperatorView(BaseModel):
    """A study's state for its operator: aggregates and guarantees only."""

    study: str
    persons_in_store: int
    persons_consenting: int
    releases: list[ReleaseSummary] = Field(default_factory=list)
    federated_runs: list[FederatedSummary] = Field(default_factory=list)


def study_view(
    store: Store,
    study: str,
    releases: list[DPRelease] = [],  # noqa: B006 - read only
    runs: list[FederatedReport] = [],  # noqa: B006 - read only
) -> StudyOperatorView:
    """How many persons consent to the study now, and what was released from them."""
    persons = store.persons()
    consenting = sum(
        1
        for p in persons
        if store.vault(p, actor=f"study:{study}").visible_streams(Purpose.RESEARCH, study)
    )
    return StudyOperatorView(
        study=study,
        persons_in_store=len(persons),
        persons_consenting=consenting,
        releases=[
            ReleaseSummary(
                release_id=r.release_id,
                kind=r.kind,
                metric=r.metric,
                epsilon=r.epsilon,
                value=r.mean if r.kind == "mean" else r.quantiles or r.histogram,
            )
            for r in releases
            if r.study == study
        ],
        federated_runs=[
            FederatedSummary(
                run_id=r.run_id,
                mode=r.mode,
                nodes=r.nodes,
                rounds=r.rounds,
                rounds_aggregated=r.rounds_aggregated,
                epsilon=r.epsilon,
                delta=r.delta,
                secure_aggregation=r.secure_aggregation,
            )
            for r in runs
            if r.study == study
        ],
    )


class ContributionItem(BaseModel):
    study: str
    query: str
    epsilon: float
    delta: float
    at: datetime


class ContributionView(BaseModel):
    """The person's privacy centre: what each study took and what is left."""

    epsilon_limit: float
    epsilon_spent: float
    epsilon_left: float
    delta_limit: float
    delta_spent: float
    contributions: list[ContributionItem]
    studies_with_research_grant: list[str]


def contribution_view(vault: Vault) -> ContributionView:
    """The person's own view of their contributions and privacy budget."""
    budget = load_budget(vault)
    ledger = vault.consents()
    studies = sorted(
        {
            g.recipient
            for g in ledger.grants
            if g.purpose is Purpose.RESEARCH and g.recipient and g.revoked_at is None
        }
    )
    vault.log_event("read", Purpose.SELF_ACCESS.value, what="privacy budget")
    return ContributionView(
        epsilon_limit=budget.epsilon_limit,
        epsilon_spent=budget.epsilon_spent,
        epsilon_left=budget.epsilon_left,
        delta_limit=budget.delta_limit,
        delta_spent=budget.delta_spent,
        contributions=[ContributionItem(**s.model_dump()) for s in budget.spends],
        studies_with_research_grant=studies,
    )
