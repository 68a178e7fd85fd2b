"""``lifetwin population ...``: population studies from the command line.

The command line acts as the study's operator (whoever holds the store's key): each
command calls one operation of :mod:`lifetwin.operations.population` — the same the
service's ``/api/v1/studies`` routes call — and prints its model (``--json``: the API's
JSON). ``budget --person P`` is the person's own view of what they contributed.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lifetwin.cli.app import JsonOpt, context, emit, err, fmt_time, home, open_store, out
from lifetwin.core.errors import LifeTwinError

if TYPE_CHECKING:
    from lifetwin.operations.population import (
        AuditOut,
        BudgetList,
        Contributions,
        ResearchTable,
        StatisticOut,
        StudyContext,
        StudyDetail,
        StudyList,
        StudyOut,
        SynthOut,
        TrainingOut,
    )

# The operations' defaults, repeated so --help shows them without importing the engine
# (tests/test_population_surfaces.py checks they are the same).
STUDY_EPSILON_CAP = 5.0
STAT_EPSILON = 1.0
STAT_BINS = 10
TRAIN_ROUNDS = 5
TRAIN_EPSILON = 3.0
TRAIN_DELTA = 1e-5
TRAIN_NODES = 3
TRAIN_WORKERS = 2
SYNTH_EPSILON = 1.0
SYNTH_DELTA = 1e-6
AUDIT_MIN_GROUP = 30
AUDIT_MIN_PERSONS = 10

population = typer.Typer(
    help="Population studies: DP statistics, federated training, synthetic cohorts and "
    "fairness audits across the persons who consented (aggregates only leave a vault).",
    no_args_is_help=True,
)
study_app = typer.Typer(help="Create, list and show studies.", no_args_is_help=True)
population.add_typer(study_app, name="study")

StudyArg = Annotated[str, typer.Argument(help="The study's id (what research grants name).")]


def register(app: typer.Typer) -> None:
    app.add_typer(population, name="population")


def _sctx() -> StudyContext:
    from lifetwin.operations.population import StudyContext

    return StudyContext(open_store(), actor="operator (command line)", home=home())


# -- studies -------------------------------------------------------------------------------------
@study_app.command("create")
def study_create(
    study: StudyArg,
    title: Annotated[str, typer.Option(help="What the study is, for the persons asked.")] = "",
    description: Annotated[str, typer.Option(help="Its purpose, in a sentence or two.")] = "",
    epsilon_cap: Annotated[
        float,
        typer.Option(help="The most ε the study may spend on any one person, in total."),
    ] = STUDY_EPSILON_CAP,
    as_json: JsonOpt = False,
) -> None:
    """Create a study; persons then grant research to it by its id."""
    from lifetwin.operations.population import create_study

    made = create_study(_sctx(), study, title or study, epsilon_cap, description)
    emit(made, as_json, _render_study)


def _render_study(s: StudyOut) -> None:
    out.print(
        f"{s.id}: {s.title} — ε {s.epsilon_spent:.3g} of {s.epsilon_cap:g} spent "
        f"({s.epsilon_left:.3g} left), {s.releases} releases",
        markup=False,
    )


@study_app.command("list")
def study_list(as_json: JsonOpt = False) -> None:
    """The studies with what each has spent of its cap."""
    from lifetwin.operations.population import studies

    emit(studies(_sctx()), as_json, _render_studies)


def _render_studies(found: StudyList) -> None:
    if not found.items:
        out.print("No studies yet; `lifetwin population study create ID` makes one.")
    for s in found.items:
        _render_study(s)


@study_app.command("show")
def study_show(study: StudyArg, as_json: JsonOpt = False) -> None:
    """A study's consenting persons (a count), budget and releases."""
    from lifetwin.operations.population import study as run

    emit(run(_sctx(), study), as_json, _render_detail)


def _render_detail(found: StudyDetail) -> None:
    _render_study(found.study)
    out.print(
        f"{found.persons_consenting} of {found.persons_in_store} persons grant research to it."
    )
    if not found.releases:
        return
    table = Table("release", "kind", "state", "ε", "what", "result", "when (UTC)")
    for r in found.releases:
        table.add_row(
            r.id,
            r.kind,
            r.state,
            f"{r.epsilon:.3g}",
            r.summary,
            r.outcome or (r.error or ""),
            fmt_time(r.started_at),
        )
    out.print(table)


# -- releases ------------------------------------------------------------------------------------
@population.command()
def stats(
    study: StudyArg,
    metric_code: Annotated[str, typer.Option("--metric", "-m", help="The metric's code.")],
    kind: Annotated[str, typer.Option(help="mean, quantiles or histogram.")] = "mean",
    epsilon: Annotated[
        float, typer.Option(help="What the release costs each contributor.")
    ] = STAT_EPSILON,
    lower: Annotated[
        float | None, typer.Option(help="Public lower bound (default: the metric's).")
    ] = None,
    upper: Annotated[
        float | None, typer.Option(help="Public upper bound (default: the metric's).")
    ] = None,
    bins: Annotated[int, typer.Option(help="Bins of a histogram.")] = STAT_BINS,
    quantile: Annotated[
        list[float] | None,
        typer.Option(help="A quantile to release (repeat; default 0.25, 0.5 and 0.75)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a DP statistic of a metric across the persons who consented (OpenDP)."""
    from lifetwin.operations.population import STAT_ALPHAS, statistic

    if kind not in ("mean", "quantiles", "histogram"):
        raise LifeTwinError(f"'{kind}' is not a statistic: use mean, quantiles or histogram.")
    made = statistic(
        _sctx(),
        study,
        metric_code,
        kind,  # type: ignore[arg-type]  # checked above
        epsilon,
        lower=lower,
        upper=upper,
        bins=bins,
        alphas=tuple(quantile) if quantile else STAT_ALPHAS,
    )
    emit(made, as_json, _render_statistic)


def _render_statistic(s: StatisticOut) -> None:
    out.print(f"{s.statistic} of {s.metric} in {s.study} (ε {s.epsilon:g}, release {s.release_id})")
    if s.mean is not None:
        out.print(f"mean {s.mean:.4g} from about {s.noisy_count or 0:.0f} persons")
    for alpha, value in (s.quantiles or {}).items():
        out.print(f"q{alpha}: {value:.4g}")
    if s.histogram is not None and s.edges is not None:
        for lo, hi, count in zip(s.edges, s.edges[1:], s.histogram, strict=False):
            out.print(f"{lo:g}–{hi:g}: {count:.0f}")


@population.command()
def train(
    study: StudyArg,
    rounds: Annotated[int, typer.Option(min=1, max=200, help="Training rounds.")] = TRAIN_ROUNDS,
    epsilon: Annotated[
        float, typer.Option(help="The ε the whole run may cost each contributor.")
    ] = TRAIN_EPSILON,
    delta: Annotated[float, typer.Option(help="The run's δ.")] = TRAIN_DELTA,
    nodes: Annotated[
        int, typer.Option(min=2, help="Flower nodes, each serving a shard of the vaults.")
    ] = TRAIN_NODES,
    mode: Annotated[
        str,
        typer.Option(
            help="simulation (Flower's engine on Ray) or deployment (a SuperLink and "
            "SuperNodes on this machine)."
        ),
    ] = "simulation",
    workers: Annotated[int, typer.Option(min=1, help="CPUs of the simulation.")] = TRAIN_WORKERS,
    as_json: JsonOpt = False,
) -> None:
    """Train the study's population model federated on Flower (SecAgg+ and DP)."""
    from lifetwin.operations.population import train as run

    started = time.monotonic()

    def progress(stage: str) -> None:
        err.print(f"[{time.monotonic() - started:4.0f} s] {stage}", markup=False, highlight=False)

    made = run(
        _sctx(),
        study,
        rounds=rounds,
        epsilon=epsilon,
        delta=delta,
        nodes=nodes,
        mode=mode,  # type: ignore[arg-type]  # the operation refuses another
        workers=workers,
        progress=progress,
    )
    emit(made, as_json, _render_training)


def _render_training(t: TrainingOut) -> None:
    r = t.report
    out.print(
        f"run {t.release_id} of {t.study}: {r.rounds_aggregated}/{r.rounds} rounds aggregated "
        f"on {r.nodes} nodes ({r.mode}), ε {r.epsilon:.3g} at δ {r.delta:g}, noise "
        f"{r.noise_multiplier:g}, secure aggregation {'on' if r.secure_aggregation else 'off'}, "
        f"{r.seconds:.0f} s",
        markup=False,
    )
    for item in r.per_round:
        out.print(f"round {item.round}: ε {item.epsilon:.3g}, {item.seconds:.1f} s")


@population.command()
def synth(
    study: StudyArg,
    epsilon: Annotated[float, typer.Option(help="The release's ε.")] = SYNTH_EPSILON,
    delta: Annotated[float, typer.Option(help="The release's δ.")] = SYNTH_DELTA,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="CSV file for the invented rows (default STUDY-RELEASE.csv)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a DP synthetic cohort (MST) and write its rows to a CSV file."""
    from lifetwin.operations.population import synthesize, synthetic_rows

    sctx = _sctx()
    made = synthesize(sctx, study, epsilon, delta)
    data = synthetic_rows(sctx, made.study, made.release_id)
    target = output or Path(f"{made.study}-{made.release_id}.csv")
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(data.columns)
        writer.writerows(data.rows)
    emit(made, as_json, lambda s: _render_synth(s, target))


def _render_synth(s: SynthOut, target: Path) -> None:
    out.print(
        f"{s.rows} invented persons (ε {s.epsilon:g}, δ {s.delta:g}) written to {target}",
        markup=False,
    )
    out.print("pairs kept: " + ", ".join(f"{a}–{b}" for a, b in s.tree), markup=False)


@population.command()
def audit(
    study: StudyArg,
    run: Annotated[
        str | None, typer.Option("--run", help="The training run (default: the latest).")
    ] = None,
    min_group: Annotated[
        int, typer.Option(help="Person-days a group needs to be reported.")
    ] = AUDIT_MIN_GROUP,
    min_persons: Annotated[
        int, typer.Option(help="Persons a group needs to be audited at all.")
    ] = AUDIT_MIN_PERSONS,
    require: Annotated[
        bool,
        typer.Option("--require", help="Fail (exit 1) when the model does not pass the gate."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Audit a trained model's fairness across sex × age band (fairlearn) and its gate."""
    from lifetwin.operations.population import audit as run_audit
    from lifetwin.operations.population import require_fair

    made = run_audit(_sctx(), study, run, min_group=min_group, min_persons=min_persons)
    emit(made, as_json, _render_audit)
    if require:
        require_fair(made)


def _render_audit(a: AuditOut) -> None:
    verdict = "passes the deploy gate" if a.passed else "does NOT pass the deploy gate"
    out.print(f"model {a.run_id} of {a.study} {verdict}", markup=False)
    for reason in a.reasons:
        out.print(f"  {reason}", markup=False)
    table = Table("metric", "overall", "difference", "ratio", *a.groups)
    for m in a.metrics:
        table.add_row(
            m.metric,
            f"{m.overall:.3f}",
            f"{m.difference:.3f}",
            f"{m.ratio:.3f}",
            *(f"{m.by_group.get(g, float('nan')):.3f}" for g in a.groups),
        )
    out.print(table)


@population.command()
def budget(
    study: Annotated[str | None, typer.Argument(help="One study (default: every study).")] = None,
    person: Annotated[
        str | None,
        typer.Option(help="A person's own budget and contributions instead (name or id)."),
    ] = None,
    limit: Annotated[
        float | None,
        typer.Option(help="With --person: set the person's privacy budget to this ε."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """What each study spent of its cap, or (--person) what a person contributed."""
    from lifetwin.operations import population as ops

    if person is None:
        if limit is not None:
            raise LifeTwinError("--limit sets a person's own budget: give --person too.")
        emit(ops.budgets(_sctx(), study), as_json, _render_budgets)
        return
    if study is not None:
        raise LifeTwinError("Give a study or --person, not both.")
    ctx = context(person)
    found = ops.contributions(ctx) if limit is None else ops.set_budget_limit(ctx, limit)
    emit(found, as_json, _render_contributions)


def _render_budgets(found: BudgetList) -> None:
    if not found.items:
        out.print("No studies yet.")
    for b in found.items:
        kinds = ", ".join(f"{k} {v:.3g}" for k, v in sorted(b.by_kind.items()))
        out.print(
            f"{b.study}: ε {b.epsilon_spent:.3g} of {b.epsilon_cap:g} spent, "
            f"{b.epsilon_left:.3g} left" + (f" ({kinds})" if kinds else ""),
            markup=False,
        )


def _render_contributions(found: Contributions) -> None:
    out.print(
        f"Privacy budget: ε {found.epsilon_spent:.3g} of {found.epsilon_limit:g} spent, "
        f"{found.epsilon_left:.3g} left."
    )
    if found.studies_with_research_grant:
        names = ", ".join(s.id for s in found.studies_with_research_grant)
        out.print(f"Research allowed for: {names}.", markup=False)
    for c in found.contributions:
        out.print(
            f"{fmt_time(c.at)} {c.study_title}: {c.what} — {c.released} (ε {c.epsilon:.3g})",
            markup=False,
            soft_wrap=True,
        )


@population.command()
def table(
    metric_code: Annotated[str, typer.Option("--metric", "-m", help="The metric's code.")],
    k: Annotated[int, typer.Option("--k", min=2, help="Smallest group size allowed.")] = 5,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the table as JSON to this file.")
    ] = None,
) -> None:
    """A research table of per-person summaries: consented, generalized, k-anonymous."""
    from lifetwin.operations.population import research_table

    found = research_table(_sctx(), metric_code, k)
    if output:
        output.write_text(found.model_dump_json(indent=2), encoding="utf-8")
        out.print(f"Wrote {len(found.rows)} rows to {output}.")
        return
    _render_table(found)


def _render_table(found: ResearchTable) -> None:
    grid = Table("person", "birth year", "sex", "region", "mean", "count")
    for row in found.rows:
        grid.add_row(
            row.person,
            str(row.birth_year or ""),
            row.sex or "",
            row.region or "",
            f"{row.mean:g}",
            str(row.count),
        )
    out.print(grid)
