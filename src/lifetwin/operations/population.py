"""Population studies: what a study operator does, and what a person sees of it.

A study operator creates a study (what persons grant ``research`` to), then releases
from the persons who consented — a DP statistic (``statistic``), a population model
trained federated on Flower (``train``; from the service as a job of the durable queue,
``submit_training``), a DP synthetic cohort (``synthesize``) — and audits a model's
fairness across groups (``audit``). Every release first reserves its ε against the
study's cap (``lifetwin.population.studies``) and each person's budget is charged in
their vault; nothing here returns a person's identity or value. A person sees every
study that used their data, what it released and the ε it spent (``contributions``),
and sets their own budget (``set_budget_limit``).

Operator operations take a :class:`StudyContext` (no person); the person's take the usual
:class:`~lifetwin.operations.context.Context`. The heavy pieces (OpenDP, fairlearn,
Flower's runtime) are imported only when an operation needs them, so the service and
the person's privacy centre work without the ``population`` extra.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from lifetwin.core.errors import NotEnoughDataError
from lifetwin.operations.context import Context
from lifetwin.population.budget import load_budget
from lifetwin.population.errors import PopulationError
from lifetwin.population.federated import FederatedConfig, FederatedReport, federated_query
from lifetwin.population.studies import Release, Study, StudyBook
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Store

if TYPE_CHECKING:
    from lifetwin.services.jobs import JobContext, Jobs

# Defaults (the CLI's, the API's and the dashboard's).
STUDY_EPSILON_CAP = 5.0
STAT_EPSILON = 1.0
STAT_BINS = 10
STAT_ALPHAS = (0.25, 0.5, 0.75)
TRAIN_ROUNDS = 5
TRAIN_EPSILON = 3.0
TRAIN_DELTA = 1e-5
TRAIN_NODES = 3
TRAIN_WORKERS = 2
SYNTH_EPSILON = 1.0
SYNTH_DELTA = 1e-6
AUDIT_MIN_GROUP = 30  # person-days a group needs to be reported
AUDIT_MIN_PERSONS = 10  # persons a group needs to be in the audit at all
TRAIN_JOB = "population-train"
HEARTBEAT_S = 10.0  # a running training job renews its lease this often
MODEL = "next-night poor sleep (logistic regression over the day's summaries)"

Progress = Callable[[str], None]
StatisticKind = Literal["mean", "quantiles", "histogram"]
TrainMode = Literal["simulation", "deployment"]


@dataclass
class StudyContext:
    """Who runs a study's operations: the store, how the audit names them, and the
    store's home folder (the Flower nodes of a training run open the store from it)."""

    store: Store
    actor: str = "operator"
    home: Path | None = None

    def book(self) -> StudyBook:
        return StudyBook(self.store)


# -- what the operator sees: studies and their releases (aggregates only) ---------------------
class StatisticOut(BaseModel):
    """A DP statistic of a metric across the persons who consented (OpenDP)."""

    kind: Literal["statistic"] = "statistic"
    release_id: str
    study: str
    metric: str
    statistic: StatisticKind
    epsilon: float
    bounds: tuple[float, float]
    mean: float | None = None
    quantiles: dict[str, float] | None = None
    histogram: list[float] | None = None
    edges: list[float] | None = None
    noisy_count: float | None = Field(
        default=None, description="How many persons contributed, under DP (the mean's)."
    )


class TrainingOut(BaseModel):
    """A population model trained federated: its DP guarantee and its weights."""

    kind: Literal["federated"] = "federated"
    release_id: str
    study: str
    model: str = MODEL
    report: FederatedReport


class SynthOut(BaseModel):
    """A DP synthetic cohort (MST): its guarantee; the invented rows are fetched apart."""

    kind: Literal["synthetic"] = "synthetic"
    release_id: str
    study: str
    epsilon: float
    delta: float
    rho: float
    rows: int
    columns: list[str]
    tree: list[tuple[str, str]]


class SyntheticData(BaseModel):
    """The invented persons of a synthetic cohort (no row is a real person)."""

    release_id: str
    study: str
    columns: list[str]
    rows: list[list[Any]]


class GroupDisparity(BaseModel):
    metric: str
    overall: float
    by_group: dict[str, float]
    difference: float = Field(description="Largest minus smallest group value.")
    ratio: float = Field(description="Smallest over largest group value (1 = equal).")


class AuditOut(BaseModel):
    """A fairness audit (fairlearn ``MetricFrame``) of a study's model across groups."""

    kind: Literal["audit"] = "audit"
    release_id: str
    study: str
    run_id: str
    groups: list[str]
    group_sizes: dict[str, int] = Field(description="Person-days per group that was audited.")
    min_group: int
    min_persons: int
    metrics: list[GroupDisparity]
    passed: bool
    reasons: list[str]


ReleaseResult = Annotated[
    StatisticOut | TrainingOut | SynthOut | AuditOut, Field(discriminator="kind")
]


class ReleaseOut(BaseModel):
    id: str
    kind: str
    state: str
    epsilon: float
    delta: float
    summary: str
    outcome: str
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    result: ReleaseResult | None = None

    @classmethod
    def of(cls, release: Release) -> ReleaseOut:
        return cls(
            id=release.id,
            kind=release.kind,
            state=release.state,
            epsilon=release.epsilon,
            delta=release.delta,
            summary=release.summary,
            outcome=release.outcome,
            started_at=release.started_at,
            finished_at=release.finished_at,
            error=release.error,
            result=release.result or None,  # type: ignore[arg-type]  # validated by pydantic
        )


class StudyOut(BaseModel):
    id: str
    title: str
    description: str
    epsilon_cap: float = Field(description="The most ε the study may spend on one person.")
    epsilon_spent: float
    epsilon_left: float
    delta_spent: float
    releases: int
    created_at: datetime

    @classmethod
    def of(cls, study: Study, releases: Sequence[Release]) -> StudyOut:
        counted = [r for r in releases if r.counts]
        spent = math.fsum(r.epsilon for r in counted)
        return cls(
            id=study.id,
            title=study.title,
            description=study.description,
            epsilon_cap=study.epsilon_cap,
            epsilon_spent=spent,
            epsilon_left=max(0.0, study.epsilon_cap - spent),
            delta_spent=math.fsum(r.delta for r in counted),
            releases=len(releases),
            created_at=study.created_at,
        )


class StudyList(BaseModel):
    items: list[StudyOut]


class StudyDetail(BaseModel):
    """A study for its operator: counts, budget and every release — never a person."""

    study: StudyOut
    persons_in_store: int
    persons_consenting: int = Field(description="Persons whose research grant names the study.")
    releases: list[ReleaseOut]


class StudyBudget(BaseModel):
    study: str
    title: str
    epsilon_cap: float
    epsilon_spent: float
    epsilon_left: float
    delta_spent: float
    by_kind: dict[str, float] = Field(description="ε spent per kind of release.")


class BudgetList(BaseModel):
    items: list[StudyBudget]


class TrainJob(BaseModel):
    """A training run queued on the service's job queue, and how it is going."""

    job_id: str
    study: str
    release_id: str
    state: str  # queued, running, done, failed
    stage: str
    seconds: float
    training: TrainingOut | None = None
    error: str | None = None


# -- studies -----------------------------------------------------------------------------------
def create_study(
    sctx: StudyContext,
    study_id: str,
    title: str,
    epsilon_cap: float = STUDY_EPSILON_CAP,
    description: str = "",
) -> StudyOut:
    if not 0 < epsilon_cap <= 100:
        raise PopulationError(
            f"A study's cap must be above 0 and at most ε=100 (got {epsilon_cap:g})."
        )
    book = sctx.book()
    return StudyOut.of(book.create(study_id, title, epsilon_cap, description, sctx.actor), [])


def studies(sctx: StudyContext) -> StudyList:
    book = sctx.book()
    return StudyList(items=[StudyOut.of(s, book.releases(s.id)) for s in book.studies()])


def persons_consenting(store: Store, study_id: str) -> int:
    """How many persons' research grants name the study now (a count, nothing else)."""
    return sum(
        1
        for p in store.persons()
        if store.vault(p, actor=f"study:{study_id}").visible_streams(Purpose.RESEARCH, study_id)
    )


def study(sctx: StudyContext, study_id: str) -> StudyDetail:
    book = sctx.book()
    found = book.get(study_id)
    releases = book.releases(found.id)
    return StudyDetail(
        study=StudyOut.of(found, releases),
        persons_in_store=sctx.store.backend.person_count(),
        persons_consenting=persons_consenting(sctx.store, found.id),
        releases=[ReleaseOut.of(r) for r in reversed(releases)],
    )


def budgets(sctx: StudyContext, study_id: str | None = None) -> BudgetList:
    """What each study (or one) has spent of its cap, in total and per kind of release."""
    book = sctx.book()
    chosen = [book.get(study_id)] if study_id else book.studies()
    items = []
    for s in chosen:
        releases = book.releases(s.id)
        out = StudyOut.of(s, releases)
        by_kind: dict[str, float] = {}
        for r in releases:
            if r.counts and r.epsilon:
                by_kind[r.kind] = by_kind.get(r.kind, 0.0) + r.epsilon
        items.append(
            StudyBudget(
                study=s.id,
                title=s.title,
                epsilon_cap=s.epsilon_cap,
                epsilon_spent=out.epsilon_spent,
                epsilon_left=out.epsilon_left,
                delta_spent=out.delta_spent,
                by_kind=by_kind,
            )
        )
    return BudgetList(items=items)


# -- DP statistics -----------------------------------------------------------------------------
def statistic(
    sctx: StudyContext,
    study_id: str,
    metric_code: str,
    kind: StatisticKind = "mean",
    epsilon: float = STAT_EPSILON,
    *,
    lower: float | None = None,
    upper: float | None = None,
    bins: int = STAT_BINS,
    alphas: Sequence[float] = STAT_ALPHAS,
) -> StatisticOut:
    """Release one DP statistic of a metric (mean, quantiles or histogram); refused with
    one sentence when the study's cap cannot pay for it, or too few persons can."""
    from lifetwin.core.vocabulary import metric
    from lifetwin.population.dpstats import population_statistic, statistic_query

    m = metric(metric_code)
    if not epsilon > 0:
        raise PopulationError(f"A DP release needs ε above 0 (got {epsilon:g}).")
    if not 2 <= bins <= 100:
        raise PopulationError(f"A histogram has between 2 and 100 bins (got {bins}).")
    if not alphas or any(not 0 < a < 1 for a in alphas):
        raise PopulationError("Quantiles are asked for as fractions between 0 and 1.")
    lo = float(m.minimum or 0.0) if lower is None else lower
    hi = float(m.maximum or 1.0) if upper is None else upper
    if not lo < hi:
        raise PopulationError(
            f"The bounds of a DP release must be increasing (got {lo:g}, {hi:g})."
        )
    book = sctx.book()
    release = book.reserve(
        study_id, "statistic", epsilon, 0.0, f"the {kind} of {m.code} across persons"
    )
    try:
        made = population_statistic(
            sctx.store,
            release.study,
            m.code,
            kind,
            epsilon,
            bounds=(lo, hi),
            alphas=tuple(alphas),
            bins=bins,
        )
    except PopulationError:  # refused before any budget was charged
        book.drop(release)
        raise
    except Exception as exc:
        book.fail(release, str(exc))
        raise
    out = StatisticOut(
        release_id=release.id,
        study=release.study,
        metric=m.code,
        statistic=kind,
        epsilon=epsilon,
        bounds=(lo, hi),
        mean=made.mean,
        quantiles=made.quantiles,
        histogram=made.histogram,
        edges=made.edges,
        noisy_count=made.noisy_count,
    )
    book.finish(
        release,
        out,
        outcome=_statistic_outcome(out, m.unit),
        query=statistic_query(made.release_id, kind, m.code),
    )
    return out


def _statistic_outcome(out: StatisticOut, unit: str) -> str:
    shown = "" if unit in ("count", "dimensionless") else f" {unit}"
    if out.mean is not None:
        about = f" from about {out.noisy_count:.0f} persons" if out.noisy_count else ""
        return f"{out.mean:.4g}{shown}{about}"
    if out.quantiles is not None:
        return ", ".join(f"q{a}: {v:.4g}{shown}" for a, v in out.quantiles.items())
    return (
        f"counts in {len(out.histogram or [])} bins of {out.bounds[0]:g}-{out.bounds[1]:g}{shown}"
    )


# -- federated training ------------------------------------------------------------------------
def _training_config(study_id: str, rounds: int, epsilon: float, delta: float) -> FederatedConfig:
    try:
        return FederatedConfig(study=study_id, rounds=rounds, target_epsilon=epsilon, delta=delta)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "the settings"
        raise PopulationError(
            f"The training settings are not valid ({where}: {first['msg']})."
        ) from None


def _reserve_training(
    sctx: StudyContext,
    study_id: str,
    rounds: int,
    epsilon: float,
    delta: float,
    nodes: int,
    mode: str,
) -> tuple[Release, FederatedConfig, Path]:
    """Check everything a run needs, then reserve its ε (so a run rarely fails after it
    has charged anyone)."""
    from lifetwin.population.runtime import flower_python

    if mode not in ("simulation", "deployment"):
        raise PopulationError(f"A training runs as a simulation or a deployment (got '{mode}').")
    book = sctx.book()
    found = book.get(study_id)
    config = _training_config(found.id, rounds, epsilon, delta)
    if nodes < config.min_train_nodes:
        raise PopulationError(
            f"A federated run needs at least {config.min_train_nodes} nodes (got {nodes})."
        )
    if sctx.home is None:
        raise PopulationError(
            "Federated training needs the store's home folder (the Flower nodes open the "
            "store from it); run the service with `lifetwin serve`."
        )
    flower_python()  # the runtime is there, or one sentence saying how to install it
    release = book.reserve(
        found.id,
        "federated",
        config.epsilons()[-1],
        config.delta,
        f"a population model of {MODEL}",
        release_id=config.run_id,
    )
    return release, config, sctx.home


def _run_training(
    store: Store,
    home: Path,
    release: Release,
    config: FederatedConfig,
    nodes: int,
    mode: str,
    workers: int,
    progress: Progress | None,
) -> TrainingOut:
    from lifetwin.population.runtime import deploy_federated, simulate_federated

    say = progress or (lambda _stage: None)
    book = StudyBook(store)
    try:
        if mode == "deployment":
            say(f"training on a Flower SuperLink and {nodes} SuperNodes on this machine")
            report = deploy_federated(home, config, nodes)
        else:
            say(f"training on Flower's simulation engine with {nodes} nodes")
            report = simulate_federated(home, config, nodes, workers=workers)
    except Exception as exc:
        book.fail(release, str(exc))
        raise
    out = TrainingOut(release_id=release.id, study=release.study, report=report)
    secure = "with" if report.secure_aggregation else "without"
    book.finish(
        release,
        out,
        outcome=(
            f"model weights after {report.rounds_aggregated} rounds over {report.nodes} nodes, "
            f"{secure} secure aggregation"
        ),
        query=federated_query(config.run_id),
        epsilon=report.epsilon,
    )
    say("done")
    return out


def train(
    sctx: StudyContext,
    study_id: str,
    *,
    rounds: int = TRAIN_ROUNDS,
    epsilon: float = TRAIN_EPSILON,
    delta: float = TRAIN_DELTA,
    nodes: int = TRAIN_NODES,
    mode: TrainMode = "simulation",
    workers: int = TRAIN_WORKERS,
    progress: Progress | None = None,
) -> TrainingOut:
    """Train the study's population model federated on Flower (SecAgg+, client-side
    clipping DP with the RDP accountant), in this process's own time."""
    say = progress or (lambda _stage: None)
    say("checking the study's budget and the Flower runtime")
    release, config, home = _reserve_training(sctx, study_id, rounds, epsilon, delta, nodes, mode)
    return _run_training(sctx.store, home, release, config, nodes, mode, workers, progress)


def submit_training(
    sctx: StudyContext,
    jobs: Jobs,
    study_id: str,
    *,
    rounds: int = TRAIN_ROUNDS,
    epsilon: float = TRAIN_EPSILON,
    delta: float = TRAIN_DELTA,
    nodes: int = TRAIN_NODES,
    mode: TrainMode = "simulation",
    workers: int = TRAIN_WORKERS,
) -> TrainJob:
    """Queue a training run on the service's durable job queue (its ε reserved now)."""
    release, config, home = _reserve_training(sctx, study_id, rounds, epsilon, delta, nodes, mode)
    payload = {
        "study": release.study,
        "release_id": release.id,
        "config": config.model_dump(mode="json"),
        "nodes": nodes,
        "mode": mode,
        "workers": workers,
        "home": str(home),
        "stage": "queued",
    }
    try:
        job_id = jobs.submit_service(TRAIN_JOB, payload)
    except Exception:
        StudyBook(sctx.store).drop(release)
        raise
    return training_job(sctx, jobs, release.study, job_id)


def training_job(sctx: StudyContext, jobs: Jobs, study_id: str, job_id: str) -> TrainJob:
    from lifetwin.services.jobs import NO_PERSON

    missing = NotEnoughDataError(f"The study '{study_id}' has no training job '{job_id}'.")
    row = jobs.backend.job_get(job_id)
    if row is None or row[0] != NO_PERSON or row[1] != TRAIN_JOB:
        raise missing  # a person's job is not even opened
    job = jobs.get(job_id)
    if job is None or job.payload.get("study") != study_id:
        raise missing
    payload = job.payload
    end = job.updated_ms if job.state in ("done", "failed") else int(time.time() * 1000)
    training = payload.get("training")
    return TrainJob(
        job_id=job.id,
        study=study_id,
        release_id=str(payload["release_id"]),
        state=job.state,
        stage=str(payload.get("stage", "")),
        seconds=round(max(0, end - job.created_ms) / 1000, 1),
        training=TrainingOut.model_validate(training) if training else None,
        error=payload.get("error"),
    )


def run_training_job(jctx: JobContext) -> None:
    """The job's handler (any worker of the service runs it): train, keeping the job's
    lease alive while Flower runs, and keep the result with the job."""
    payload = jctx.job.payload
    lock = threading.Lock()

    def note(stage: str) -> None:
        with lock:
            jctx.progress(stage=stage)

    book = StudyBook(jctx.store)
    release = book.release(str(payload["study"]), str(payload["release_id"]))
    if release.state != "pending":
        raise PopulationError("This training run has already run once; start a new one.")
    config = FederatedConfig.model_validate(payload["config"])
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(HEARTBEAT_S):
            note(str(payload.get("stage", "")))

    beat = threading.Thread(target=heartbeat, name=f"job-{jctx.job.id}-lease", daemon=True)
    beat.start()
    try:
        out = _run_training(
            jctx.store,
            Path(str(payload["home"])),
            release,
            config,
            int(payload["nodes"]),
            str(payload["mode"]),
            int(payload["workers"]),
            note,
        )
    finally:
        stop.set()
        beat.join()
    with lock:
        payload["training"] = out.model_dump(mode="json")


# -- synthetic cohorts -------------------------------------------------------------------------
def synthesize(
    sctx: StudyContext,
    study_id: str,
    epsilon: float = SYNTH_EPSILON,
    delta: float = SYNTH_DELTA,
) -> SynthOut:
    """Release a DP synthetic cohort (MST over OpenDP) of the persons who consented."""
    from lifetwin.population.synth import synthetic_cohort, synthetic_query

    if not epsilon > 0 or not 0 < delta < 1:
        raise PopulationError("A synthetic cohort needs ε above 0 and δ between 0 and 1.")
    book = sctx.book()
    release = book.reserve(
        study_id,
        "synthetic",
        epsilon,
        delta,
        "a synthetic cohort (sex, age band, region and a typical day of each invented person)",
    )
    try:
        cohort = synthetic_cohort(sctx.store, release.study, epsilon, delta)
    except PopulationError:  # refused before any budget was charged
        book.drop(release)
        raise
    except Exception as exc:
        book.fail(release, str(exc))
        raise
    out = SynthOut(
        release_id=release.id,
        study=release.study,
        epsilon=cohort.epsilon,
        delta=cohort.delta,
        rho=cohort.rho,
        rows=len(cohort.rows),
        columns=cohort.columns,
        tree=cohort.tree,
    )
    book.put_rows(
        release,
        SyntheticData(
            release_id=release.id, study=release.study, columns=cohort.columns, rows=cohort.rows
        ),
    )
    book.finish(
        release,
        out,
        outcome=f"{len(cohort.rows)} invented persons",
        query=synthetic_query(cohort.release_id, epsilon),
    )
    return out


def synthetic_rows(sctx: StudyContext, study_id: str, release_id: str) -> SyntheticData:
    book = sctx.book()
    return SyntheticData.model_validate(book.rows(book.get(study_id).id, release_id))


# -- fairness audits ---------------------------------------------------------------------------
def audit(
    sctx: StudyContext,
    study_id: str,
    run_id: str | None = None,
    *,
    min_group: int = AUDIT_MIN_GROUP,
    min_persons: int = AUDIT_MIN_PERSONS,
) -> AuditOut:
    """Audit a trained model (the latest, or ``run_id``) across sex × age band: per-group
    AUC, true- and false-positive rates and selection rate, their differences and ratios,
    and the deploy gate's verdict. Groups of fewer than ``min_persons`` persons are left
    out entirely; no ε is spent (nothing about any one person is released)."""
    from lifetwin.population.fairness import FairnessGate, audit_classifier
    from lifetwin.population.features import read_daily, sleep_examples
    from lifetwin.population.model import predict_proba
    from lifetwin.population.synth import age_band

    if min_persons < 5 or min_group < 10:
        raise PopulationError("An audit reports groups of at least 5 persons and 10 person-days.")
    book = sctx.book()
    found = book.get(study_id)
    runs = [
        r
        for r in book.releases(found.id)
        if r.kind == "federated" and r.state == "released" and (run_id is None or r.id == run_id)
    ]
    if not runs:
        which = f"no trained model '{run_id}'" if run_id else "no trained model yet"
        raise NotEnoughDataError(f"The study {found.id} has {which} to audit.")
    run = runs[-1]
    weights = np.asarray(TrainingOut.model_validate(run.result).report.weights, dtype=np.float64)
    release = book.record(
        found.id, "audit", f"a fairness audit of model {run.id} by sex × age band"
    )
    try:
        labels: list[np.ndarray] = []
        scores: list[np.ndarray] = []
        sexes: list[str] = []
        bands: list[str] = []
        persons_per_group: dict[str, int] = {}
        for person in sctx.store.persons():
            table = read_daily(sctx.store.vault(person, actor=f"study:{found.id}"), found.id)
            x, y = sleep_examples(table)
            if not len(y) or table.age is None or table.sex not in ("female", "male"):
                continue
            band = age_band(table.age)
            labels.append(y)
            scores.append(predict_proba(weights, x))
            sexes += [str(table.sex)] * len(y)
            bands += [band] * len(y)
            group = f"{table.sex} × {band}"
            persons_per_group[group] = persons_per_group.get(group, 0) + 1
        if not labels:
            raise PopulationError(
                f"No person who consented to {found.id} has days the model can be checked on."
            )
        y_all, s_all = np.concatenate(labels), np.concatenate(scores)
        keep = np.array(
            [
                persons_per_group[f"{s} × {b}"] >= min_persons
                for s, b in zip(sexes, bands, strict=True)
            ]
        )
        if not keep.any():
            raise PopulationError(
                f"No group has {min_persons} persons or more, so nothing was audited."
            )
        report = audit_classifier(
            f"{found.id}/{run.id}",
            y_all[keep],
            s_all[keep],
            {
                "sex": [s for s, k in zip(sexes, keep, strict=True) if k],
                "age_band": [b for b, k in zip(bands, keep, strict=True) if k],
            },
            min_group=min_group,
        )
        checked = FairnessGate().check(report)
    except PopulationError:
        book.drop(release)
        raise
    except Exception as exc:
        book.fail(release, str(exc))
        raise
    out = AuditOut(
        release_id=release.id,
        study=found.id,
        run_id=run.id,
        groups=checked.groups,
        group_sizes={g: n for g, n in checked.group_sizes.items() if g in checked.groups},
        min_group=min_group,
        min_persons=min_persons,
        metrics=[
            GroupDisparity(
                metric=m.metric,
                overall=m.overall,
                by_group=m.by_group,
                difference=m.difference,
                ratio=m.ratio,
            )
            for m in checked.metrics
        ],
        passed=bool(checked.passed),
        reasons=checked.reasons,
    )
    verdict = "passed the deploy gate" if out.passed else f"refused: {out.reasons[0]}"
    book.finish(release, out, outcome=f"{len(out.groups)} groups compared; {verdict}")
    return out


def require_fair(found: AuditOut) -> AuditOut:
    """The audit, or a refusal to deploy its model naming the first reason."""
    from lifetwin.population.fairness import FairnessGateError

    if not found.passed:
        raise FairnessGateError(f"The model {found.run_id} was not deployed: {found.reasons[0]}.")
    return found


# -- the k-anonymous research table (the command line only: it has a row per person) ------------
class ResearchRow(BaseModel):
    person: str  # the research pseudonym
    birth_year: int | None
    sex: str | None
    region: str | None
    mean: float
    count: int


class ResearchTable(BaseModel):
    metric: str
    k: int
    rows: list[ResearchRow]


def research_table(sctx: StudyContext, metric_code: str, k: int = 5) -> ResearchTable:
    """Per-person summaries, generalized and released only when k-anonymous."""
    from lifetwin.core.vocabulary import metric
    from lifetwin.services.population import population_table

    code = metric(metric_code).code
    rows = population_table(sctx.store, code, k=k)
    return ResearchTable(metric=code, k=k, rows=[ResearchRow(**r) for r in rows])


# -- the person's view -------------------------------------------------------------------------
class StudyBrief(BaseModel):
    id: str
    title: str
    description: str = ""


class Contribution(BaseModel):
    """One use of the person's data by a study, and what it released."""

    study: str
    study_title: str
    what: str  # what the study released, in words
    released: str  # what came out (an aggregate across persons), or why nothing did
    kind: str
    epsilon: float
    delta: float
    at: datetime


class Contributions(BaseModel):
    """The person's privacy budget and every study that spent from it."""

    epsilon_limit: float
    epsilon_spent: float
    epsilon_left: float
    delta_limit: float
    delta_spent: float
    studies_with_research_grant: list[StudyBrief]
    contributions: list[Contribution]


def contributions(ctx: Context) -> Contributions:
    """Which studies used the person's data, what each released and the ε it spent."""
    vault = ctx.vault()
    budget = load_budget(vault)
    book = StudyBook(ctx.store)
    known: dict[str, Study | None] = {}
    releases: dict[tuple[str, str], Release] = {}

    def study_of(study_id: str) -> Study | None:
        if study_id not in known:
            known[study_id] = book.find(study_id)
            for r in book.releases(study_id) if known[study_id] else []:
                if r.query:
                    releases[(study_id, r.query)] = r
        return known[study_id]

    now = datetime.now(UTC)
    granted = sorted(
        {
            g.recipient
            for g in vault.consents().grants
            if g.purpose is Purpose.RESEARCH and g.recipient and g.active(now)
        }
    )
    items = []
    for s in budget.spends:
        found = study_of(s.study)
        release = releases.get((s.study, s.query))
        items.append(
            Contribution(
                study=s.study,
                study_title=found.title if found else s.study,
                what=release.summary if release else s.query,
                released=_released(release),
                kind=release.kind if release else _kind_of(s.query),
                epsilon=s.epsilon,
                delta=s.delta,
                at=s.at,
            )
        )
    return Contributions(
        epsilon_limit=budget.epsilon_limit,
        epsilon_spent=budget.epsilon_spent,
        epsilon_left=budget.epsilon_left,
        delta_limit=budget.delta_limit,
        delta_spent=budget.delta_spent,
        studies_with_research_grant=[
            StudyBrief(id=i, title=f.title, description=f.description)
            if (f := study_of(i))
            else StudyBrief(id=i, title=i)
            for i in granted
        ],
        contributions=sorted(items, key=lambda c: c.at, reverse=True),
    )


def _released(release: Release | None) -> str:
    if release is None:
        return "not recorded by the study"
    if release.state == "released":
        return release.outcome
    if release.state == "pending":
        return "not finished yet"
    return "nothing was released (it stopped before it ended)"


def _kind_of(query: str) -> str:
    """The kind of a release from how a budget ledger names it.

    >>> [_kind_of(q) for q in ("federated fl-1", "synthetic-cohort s-1 ε=1", "dp-1 mean steps")]
    ['federated', 'synthetic', 'statistic']
    """
    if query.startswith("federated "):
        return "federated"
    if query.startswith("synthetic-cohort "):
        return "synthetic"
    return "statistic"


def set_budget_limit(ctx: Context, epsilon: float) -> Contributions:
    """The person sets their own privacy budget (never below what is already spent)."""
    from lifetwin.population.budget import set_budget_limit as set_limit

    if not 0 <= epsilon <= 100:
        raise PopulationError(f"A privacy budget is between ε=0 and ε=100 (got {epsilon:g}).")
    set_limit(ctx.vault(), epsilon)
    return contributions(ctx)
