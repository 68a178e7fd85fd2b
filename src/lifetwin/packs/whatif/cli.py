"""``lifetwin whatif``: scenarios on the person's twin, the best change within their
limits, and their answer to it. Each mode calls one operation of
:mod:`lifetwin.packs.whatif.operations` (the API's routes and the dashboard call the same)::

    lifetwin whatif P                               the saved runs and suggestions
    lifetwin whatif P --scenario FILE.yaml|json     run a scenario (FILE - : stdin)
    lifetwin whatif P --optimize GOAL [--target ...] [--bolus-limit 20 ...]
    lifetwin whatif P --suggestion ID               one suggestion and the answers to it
    lifetwin whatif P --suggestion ID --answer accept|reject|correct [--set K=V ...] [--note T]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, fmt_time, out
from lifetwin.core.errors import LifeTwinError

if TYPE_CHECKING:
    from lifetwin.packs.whatif.capability import OutcomeDifference
    from lifetwin.packs.whatif.operations import ScenarioRun, SuggestionRecord, WhatIfSaved

GOALS = ("time_in_range", "performance", "sleep")
ANSWERS = ("accept", "reject", "correct")


def register(app: typer.Typer) -> None:
    """Add ``lifetwin whatif`` to the command line."""
    app.command("whatif")(whatif)


def whatif(
    person: PersonArg,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            "-s",
            help="Run this scenario (YAML or JSON; - reads standard input). "
            "Examples: examples/scenarios/.",
            show_default=False,
        ),
    ] = None,
    goal: Annotated[
        str | None,
        typer.Option(
            "--optimize",
            help="Suggest the best change within your limits toward a goal: time_in_range, "
            "performance (with --target and --by-days) or sleep (with --target hours).",
            show_default=False,
        ),
    ] = None,
    target: Annotated[
        float | None,
        typer.Option(help="The goal's target: a performance value, or hours of sleep."),
    ] = None,
    by_days: Annotated[
        int | None,
        typer.Option("--by-days", min=7, max=182, help="Performance: reach it in this many days."),
    ] = None,
    bolus_limit: Annotated[
        float | None,
        typer.Option("--bolus-limit", min=0, max=50, help="Largest bolus change, ± % (20)."),
    ] = None,
    basal_limit: Annotated[
        float | None,
        typer.Option("--basal-limit", min=0, max=50, help="Largest basal change, ± % (10)."),
    ] = None,
    prebolus_max: Annotated[
        int | None,
        typer.Option("--prebolus-max", min=0, max=30, help="Longest pre-bolus, minutes (20)."),
    ] = None,
    load_limit: Annotated[
        float | None,
        typer.Option(
            "--load-limit", min=0, max=50, help="Largest weekly training load rise, % (10)."
        ),
    ] = None,
    bedtime_shift: Annotated[
        int | None,
        typer.Option(
            "--bedtime-shift", min=0, max=120, help="Largest bedtime move a week, minutes (30)."
        ),
    ] = None,
    suggestion_id: Annotated[
        str | None,
        typer.Option("--suggestion", help="Show this suggestion (or answer it with --answer)."),
    ] = None,
    answer: Annotated[
        str | None,
        typer.Option("--answer", help="Answer the suggestion: accept, reject or correct."),
    ] = None,
    values: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="With --answer correct: a value you would use instead, KEY=VALUE "
            "(keys as in the plan, e.g. bolus_percent.dinner=90). Repeatable.",
            show_default=False,
        ),
    ] = None,
    note: Annotated[str | None, typer.Option(help="A note stored with your answer.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What if? Run a scenario on your twin, or get the best change within your limits."""
    from lifetwin.packs.whatif import operations as ops

    modes = [m for m in (scenario, goal, suggestion_id) if m is not None]
    if len(modes) > 1:
        raise LifeTwinError("Give one of --scenario, --optimize and --suggestion.")
    if answer is not None and suggestion_id is None:
        raise LifeTwinError("--answer needs the suggestion it answers (--suggestion ID).")
    if (values or note) and answer is None:
        raise LifeTwinError("--set and --note go with --answer.")
    ctx = context(person).for_purpose(ops.PURPOSE)
    if scenario is not None:
        text = sys.stdin.read() if str(scenario) == "-" else _read(scenario)
        chosen = ops.scenario_from_text(text, None if str(scenario) == "-" else scenario.name)
        emit(ops.run_scenario(ctx, chosen), as_json, _render_run)
    elif goal is not None:
        if goal not in GOALS:
            raise LifeTwinError(f"The goal must be one of {', '.join(GOALS)}, not '{goal}'.")
        made = ops.suggest(
            ctx,
            ops.Goal.model_validate({"kind": goal, "target": target, "by_days": by_days}),
            _limits(bolus_limit, basal_limit, prebolus_max, load_limit, bedtime_shift),
        )
        emit(made, as_json, _render_suggestion)
    elif suggestion_id is not None:
        if answer is None:
            emit(ops.suggestion(ctx, suggestion_id), as_json, _render_suggestion)
            return
        if answer not in ANSWERS:
            raise LifeTwinError(f"The answer must be accept, reject or correct, not '{answer}'.")
        correction = ops.correction_from_pairs(values or [])
        found = ops.feedback(
            ctx,
            suggestion_id,
            answer,  # type: ignore[arg-type]  # checked just above
            correction=correction or None,
            note=note,
        )
        emit(found, as_json, _render_suggestion)
    else:
        emit(ops.saved(ctx), as_json, _render_saved)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LifeTwinError(f"There is no scenario file {path}.") from None
    except UnicodeDecodeError:
        raise LifeTwinError(f"The scenario file {path} is not UTF-8 text.") from None


def _limits(
    bolus: float | None,
    basal: float | None,
    prebolus: int | None,
    load: float | None,
    bedtime: int | None,
) -> Any:
    from lifetwin.packs.whatif.operations import Limits

    given: dict[str, float | int] = {}
    for key, value, scale in (
        ("bolus_change", bolus, 100.0),
        ("basal_change", basal, 100.0),
        ("weekly_load_change", load, 100.0),
    ):
        if value is not None:
            given[key] = value / scale
    if prebolus is not None:
        given["prebolus_max_min"] = prebolus
    if bedtime is not None:
        given["bedtime_shift_min"] = bedtime
    return Limits.model_validate(given)


# -- rendering ---------------------------------------------------------------------------------
def _say(text: str) -> None:
    out.print(text, soft_wrap=True, markup=False, highlight=False)


def _num(value: float, unit: str) -> str:
    text = f"{value:.1f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text} %" if unit == "%" else f"{text} {unit}".rstrip()


def _outcome_table(title: str, outcomes: list[OutcomeDifference], scenario: str) -> Table:
    table = Table(
        "outcome", "as usual", escape(scenario), "difference", "90 % interval", title=title
    )
    for o in outcomes:
        points = " points" if o.unit == "%" else f" {o.unit}"
        table.add_row(
            o.metric,
            _num(o.usual, o.unit),
            _num(o.scenario, o.unit),
            f"{o.difference:+.1f}{points}",
            f"{o.low:+.1f} to {o.high:+.1f}",
        )
    return table


def _render_run(found: ScenarioRun) -> None:
    name = found.scenario.name
    _say(f"What if: '{name}' ({found.scenario.horizon_days} day(s)), saved as {found.id}")
    _say(found.comparison)
    g = found.glucose
    if g is not None:
        out.print(_outcome_table("Glucose, on your twin", g.outcomes, name))
        q = g.model.quality
        fitted = f"{fmt_time(g.model.fitted_from)} to {fmt_time(g.model.fitted_to)} UTC"
        _say(
            f"Model: {g.model.name} {g.model.version}, fitted to your CGM, insulin and meals "
            f"from {fitted}{' (reused)' if g.model.reused else ''}; fit RMSE "
            f"{q.get('rmse_mg_dl', float('nan')):.1f} mg/dl against "
            f"{q.get('population_rmse_mg_dl', float('nan')):.1f} for the population model, "
            f"MARD {q.get('mard_percent', float('nan')):.1f} %, {q.get('readings', 0)} readings. "
            f"'As usual' replays your logged day of {(g.usual_date or g.usual_day.date())}."
        )
        params = ", ".join(
            f"{k} {v:.3g} ({g.model.credible_90[k][0]:.3g}–{g.model.credible_90[k][1]:.3g})"
            for k, v in g.model.params.items()
            if k in g.model.credible_90
        )
        _say(f"Parameters, posterior mode (90 % credible interval): {params}.")
    t = found.training
    if t is not None:
        out.print(_outcome_table("Training (fitness–fatigue model)", t.outcomes, name))
        _say(
            f"Acute:chronic workload ratio peaks at {t.acwr_max_scenario:.2f} ({t.acwr_flag}). "
            f"Model: {t.model.get('model', 'fitness–fatigue')}, fitted to "
            f"{t.model.get('tests', '?')} performance tests over {t.model.get('days', '?')} days."
        )
    if found.associations:
        table = Table(
            "outcome",
            "if",
            "change",
            "90 % interval",
            "",
            title="Your own associations",
        )
        for a in found.associations:
            table.add_row(
                a.outcome.replace("_", " "),
                f"{a.driver} {a.level:g} instead of {a.usual:.3g}",
                f"{a.change:+.3g}",
                f"{a.low:+.3g} to {a.high:+.3g}",
                a.label,
            )
        out.print(table)
    if found.projections:
        out.print(_outcome_table("Projections (if the plan is kept)", found.projections, name))
    for reason in found.not_simulated:
        _say(f"Not simulated: {reason}")
    _say(found.caveat)


def _render_suggestion(found: SuggestionRecord) -> None:
    s = found.suggestion
    status = {
        "suggested": "a change to consider",
        "no_safe_change": "no safe change found",
        "no_improvement": "no better change found",
    }[s.status]
    goal = s.goal.kind.replace("_", " ")
    _say(f"Suggestion {s.id} toward {goal}: {status}.")
    _say(s.summary)
    if s.plan:
        from lifetwin.packs.whatif.operations import describe_plan

        _say("Plan: " + "; ".join(f"{label} {text}" for _k, label, text in describe_plan(s)))
    if s.evidence:
        table = Table(
            "evidence", "as usual", "with it", "90 % interval", title="What the twin predicts"
        )
        for e in s.evidence:
            table.add_row(
                e.metric,
                _num(e.usual, e.unit),
                _num(e.suggested, e.unit),
                f"{_num(e.suggested_low, e.unit)} to {_num(e.suggested_high, e.unit)}",
            )
        out.print(table)
    if s.constraints:
        table = Table("constraint", "limit", "value", "kept", title="Safety limits, checked")
        for c in s.constraints:
            table.add_row(c.name, escape(c.limit), f"{c.value:g}", "yes" if c.ok else "NO")
        out.print(table)
    if s.draws:
        _say(f"Checked on {s.draws} posterior draws over {s.days_evaluated} usual day(s).")
    from lifetwin.packs.whatif.operations import describe_value

    for f in found.feedback:
        extra = ", ".join(
            " ".join(describe_value(k, float(v))) for k, v in (f.correction or {}).items()
        )
        _say(
            f"Your answer {fmt_time(f.at)} UTC: {f.verdict}"
            + (f" ({extra})" if extra else "")
            + (f" — {f.note}" if f.note else "")
        )
    if not found.feedback:
        _say(f"Answer it with: lifetwin whatif PERSON --suggestion {s.id} --answer accept")
    _say(s.caveat)


def _render_saved(found: WhatIfSaved) -> None:
    if not found.scenarios and not found.suggestions:
        _say(
            "No scenarios run yet. Try: lifetwin whatif PERSON --scenario "
            "examples/scenarios/prebolus.yaml"
        )
    for run in found.scenarios:
        said = run.comparison if len(run.comparison) <= 200 else run.comparison[:199] + "…"
        _say(f"{run.id}  {fmt_time(run.ran_at)}  {run.name}: {said}")
    for rec in found.suggestions:
        s = rec.suggestion
        answered = rec.feedback[-1].verdict if rec.feedback else "not answered"
        _say(f"{s.id}  {s.goal.kind}  {s.status} ({answered}): {s.summary}")
