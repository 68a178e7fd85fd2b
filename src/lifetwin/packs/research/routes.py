"""The study operator's API (``/api/v1/studies``) and the person's contributions.

Every ``/api/v1/studies`` route needs a study operator (a session, or an operator's token
with the research scope) and answers with aggregates only: no route here names a person
or returns a value of one. Training runs as a job of the service's durable queue.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from lifetwin.api.deps import Operator, OperatorWriter, Svc, Who, Writer, owner, reply, scope
from lifetwin.api.security import Principal
from lifetwin.api.service import Service
from lifetwin.operations import population as ops

router = APIRouter(prefix="/api/v1/studies", tags=["studies"])
person_router = APIRouter(prefix="/api/v1/persons/{person_id}", tags=["privacy"])


def _sctx(svc: Service, who: Principal) -> ops.StudyContext:
    return ops.StudyContext(svc.store, actor=who.actor, home=svc.home)


class StudyBody(BaseModel):
    id: str = Field(max_length=64, description="What persons' research grants will name.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    epsilon_cap: float = Field(
        default=ops.STUDY_EPSILON_CAP,
        gt=0,
        le=100,
        description="The most ε the study may spend on any one person.",
    )


class StatisticBody(BaseModel):
    metric: str = Field(max_length=100)
    statistic: ops.StatisticKind = "mean"
    epsilon: float = Field(default=ops.STAT_EPSILON, gt=0, le=100)
    lower: float | None = Field(default=None, description="Public lower bound.")
    upper: float | None = Field(default=None, description="Public upper bound.")
    bins: int = Field(default=ops.STAT_BINS, ge=2, le=100)
    quantiles: list[float] = Field(default=list(ops.STAT_ALPHAS), min_length=1, max_length=20)


class TrainingBody(BaseModel):
    rounds: int = Field(default=ops.TRAIN_ROUNDS, ge=1, le=200)
    epsilon: float = Field(default=ops.TRAIN_EPSILON, gt=0, le=100)
    delta: float = Field(default=ops.TRAIN_DELTA, gt=0, lt=1)
    nodes: int = Field(default=ops.TRAIN_NODES, ge=2, le=1000)
    mode: Literal["simulation", "deployment"] = "simulation"
    workers: int = Field(default=ops.TRAIN_WORKERS, ge=1, le=64)


class SynthBody(BaseModel):
    epsilon: float = Field(default=ops.SYNTH_EPSILON, gt=0, le=100)
    delta: float = Field(default=ops.SYNTH_DELTA, gt=0, lt=1)


class AuditBody(BaseModel):
    run_id: str | None = Field(default=None, max_length=64, description="Default: the latest.")
    min_group: int = Field(default=ops.AUDIT_MIN_GROUP, ge=10, le=100_000)
    min_persons: int = Field(default=ops.AUDIT_MIN_PERSONS, ge=5, le=100_000)


class LimitBody(BaseModel):
    epsilon: float = Field(ge=0, le=100, description="Your privacy budget (total ε).")


# -- studies -----------------------------------------------------------------------------------
@router.get(
    "",
    summary="The studies and what each spent of its cap",
    response_model=ops.StudyList,
    openapi_extra=scope("operator"),
)
def list_studies(request: Request, svc: Svc, who: Operator) -> Response:
    return reply(request, ops.studies(_sctx(svc, who)))


@router.post(
    "",
    summary="Create a study",
    status_code=201,
    response_model=ops.StudyOut,
    openapi_extra=scope("operator"),
)
def create_study(body: StudyBody, request: Request, svc: Svc, who: OperatorWriter) -> Response:
    made = ops.create_study(
        _sctx(svc, who), body.id, body.title, body.epsilon_cap, body.description
    )
    return reply(request, made, status=201)


@router.get(
    "/{study}",
    summary="A study: consenting persons (a count), budget and releases",
    response_model=ops.StudyDetail,
    openapi_extra=scope("operator"),
)
def show_study(study: str, request: Request, svc: Svc, who: Operator) -> Response:
    return reply(request, ops.study(_sctx(svc, who), study))


@router.get(
    "/{study}/budget",
    summary="What the study spent of its cap, per kind of release",
    response_model=ops.StudyBudget,
    openapi_extra=scope("operator"),
)
def study_budget(study: str, request: Request, svc: Svc, who: Operator) -> Response:
    return reply(request, ops.budgets(_sctx(svc, who), study).items[0])


# -- releases ----------------------------------------------------------------------------------
@router.post(
    "/{study}/statistics",
    summary="Release a DP statistic of a metric (OpenDP)",
    status_code=201,
    response_model=ops.StatisticOut,
    openapi_extra=scope("operator"),
)
def release_statistic(
    study: str, body: StatisticBody, request: Request, svc: Svc, who: OperatorWriter
) -> Response:
    made = ops.statistic(
        _sctx(svc, who),
        study,
        body.metric,
        body.statistic,
        body.epsilon,
        lower=body.lower,
        upper=body.upper,
        bins=body.bins,
        alphas=tuple(body.quantiles),
    )
    return reply(request, made, status=201)


@router.post(
    "/{study}/trainings",
    summary="Queue a federated training run (Flower, SecAgg+, DP)",
    status_code=202,
    response_model=ops.TrainJob,
    openapi_extra=scope("operator"),
)
def start_training(
    study: str, body: TrainingBody, request: Request, svc: Svc, who: OperatorWriter
) -> Response:
    queued = ops.submit_training(
        _sctx(svc, who),
        svc.jobs,
        study,
        rounds=body.rounds,
        epsilon=body.epsilon,
        delta=body.delta,
        nodes=body.nodes,
        mode=body.mode,
        workers=body.workers,
    )
    return reply(request, queued, status=202)


@router.get(
    "/{study}/trainings/{job_id}",
    summary="A training run's state and, once done, its model and guarantee",
    response_model=ops.TrainJob,
    openapi_extra=scope("operator"),
)
def training_status(study: str, job_id: str, request: Request, svc: Svc, who: Operator) -> Response:
    return reply(request, ops.training_job(_sctx(svc, who), svc.jobs, study, job_id))


@router.post(
    "/{study}/synthetic",
    summary="Release a DP synthetic cohort (MST)",
    status_code=201,
    response_model=ops.SynthOut,
    openapi_extra=scope("operator"),
)
def release_synthetic(
    study: str, body: SynthBody, request: Request, svc: Svc, who: OperatorWriter
) -> Response:
    made = ops.synthesize(_sctx(svc, who), study, body.epsilon, body.delta)
    return reply(request, made, status=201)


@router.get(
    "/{study}/synthetic/{release_id}",
    summary="The invented persons of a synthetic cohort",
    response_model=ops.SyntheticData,
    openapi_extra=scope("operator"),
)
def synthetic_data(
    study: str, release_id: str, request: Request, svc: Svc, who: Operator
) -> Response:
    return reply(request, ops.synthetic_rows(_sctx(svc, who), study, release_id))


@router.post(
    "/{study}/audits",
    summary="Audit a trained model's fairness across groups (fairlearn)",
    status_code=201,
    response_model=ops.AuditOut,
    openapi_extra=scope("operator"),
)
def run_audit(
    study: str, body: AuditBody, request: Request, svc: Svc, who: OperatorWriter
) -> Response:
    made = ops.audit(
        _sctx(svc, who),
        study,
        body.run_id,
        min_group=body.min_group,
        min_persons=body.min_persons,
    )
    return reply(request, made, status=201)


# -- the person's own view ---------------------------------------------------------------------
@person_router.get(
    "/contributions",
    summary="Studies that used your data, what they released and the ε spent",
    response_model=ops.Contributions,
    openapi_extra=scope("self_access"),
)
def contributions(person_id: str, request: Request, svc: Svc, who: Who) -> Response:
    return reply(request, ops.contributions(owner(svc, who, person_id)))


@person_router.put(
    "/contributions/limit",
    summary="Set your privacy budget (never below what is spent)",
    response_model=ops.Contributions,
    openapi_extra=scope("self_access"),
)
def set_limit(person_id: str, body: LimitBody, request: Request, svc: Svc, who: Writer) -> Response:
    return reply(request, ops.set_budget_limit(owner(svc, who, person_id), body.epsilon))
