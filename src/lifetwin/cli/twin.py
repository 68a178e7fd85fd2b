"""What the twin computes: ``overview``, ``twin``, ``cgm``, ``alerts``, ``insights``,
``forecast`` and ``risk``. Each command calls one operation of
:mod:`lifetwin.operations.twin` or :mod:`lifetwin.operations.glucose` (the API's routes call
the same); population studies are
the research pack's (``lifetwin population ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lifetwin.cli.app import JsonOpt, PersonArg, app, context, emit, fmt_time, out, when

if TYPE_CHECKING:
    from lifetwin.capabilities.risk import RiskReport
    from lifetwin.operations.context import Context
    from lifetwin.operations.glucose import CgmView, GlucoseForecast
    from lifetwin.operations.twin import (
        AlertList,
        DailyForecast,
        InsightList,
        Overview,
        TwinView,
    )

# The operations' defaults, repeated here only so --help can show them without importing
# the engine (tests/test_operations.py checks they are the same).
ILLNESS_BUDGET = 0.1
DEVIATION_BUDGET = 1.0
INSIGHT_FDR = 0.1
INSIGHT_MIN_DAYS = 21
CGM_DAYS = 14
DAILY_HORIZON = 7

GlucoseUnitOpt = Annotated[
    str | None,
    typer.Option(
        "--unit",
        help="Glucose in mg/dL or mmol/L (default: the person's preference, set with "
        "`lifetwin glucose settings`).",
    ),
]


def _twin_context(person: str, purpose: str) -> Context:
    """The person's own access to a twin output, reading for the output's purpose (named,
    so that the consent module loads only when a command runs)."""
    from lifetwin.privacy.consent import Purpose

    return context(person).for_purpose(Purpose(purpose))


@app.command()
def overview(person: PersonArg, as_json: JsonOpt = False) -> None:
    """Today at a glance: each metric against your usual, recent alerts, data freshness."""
    from lifetwin.operations.twin import overview as run

    ctx = _twin_context(person, "twin_core")
    emit(run(ctx), as_json, _render_overview)


def _render_overview(found: Overview) -> None:
    from lifetwin.core.display import amount

    if not found.twin_core:
        out.print("The twin has no data it may use (it needs the twin_core grant).")
    for m in found.metrics:
        mark = "[bold red]![/bold red] " if m.unusual else "  "
        age = f" ({m.age_days:.0f} days old)" if m.stale else ""
        out.print(
            f"{mark}{m.name}: {amount(m.latest, m.unit, m.metric)}{age}. {m.sentence}",
            soft_wrap=True,
        )
    for a in found.alerts:
        out.print(f"alert {a.day.isoformat()}: {a.message}", soft_wrap=True)
    for f in found.freshness:
        age = "today" if f.days_ago <= 0 else f"{f.days_ago} days ago"
        out.print(f"{f.source}: newest data {f.last_day.isoformat()} ({age})")


@app.command()
def twin(
    person: PersonArg,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Show the twin as it was before this date (YYYY-MM-DD)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The twin's state: each metric's latest value against the person's own baselines."""
    from lifetwin.operations.person import zone_of
    from lifetwin.operations.twin import twin as run

    ctx = _twin_context(person, "twin_core")
    found = run(ctx, as_of=when(as_of))
    emit(found, as_json, lambda t: _render_twin(t, as_of, zone_of(ctx)))


def _render_twin(found: TwinView, as_of: str | None, where: Any) -> None:
    from lifetwin.core.display import amount, local, zone_name

    if as_of:
        out.print(f"{found.person}'s twin as of {as_of} (rebuilt from the data before it)")
    else:
        out.print(f"{found.person}'s twin ({found.learned_now:,} new observations learned)")
    if not found.metrics:
        out.print("The twin has no data it may use (it needs the twin_core grant).")
        return
    table = Table(
        "metric",
        "latest",
        f"when ({zone_name(where)})",
        "usual now (± spread)",
        "z",
        "",
    )
    stale = 0
    for m in found.metrics:
        usual = ""
        if m.usual is not None:
            usual = amount(m.usual, m.unit, m.metric)
            if m.spread:
                usual += f" ± {amount(m.spread, m.unit, m.metric, change=True)}"
        marks = ["unusual"] if m.unusual else []
        if m.stale and not as_of:
            stale += 1
            marks.append(f"stale ({m.age_days:.0f} days old)")
        table.add_row(
            m.metric,
            amount(m.latest, m.unit, m.metric),
            local(m.at, where),
            usual,
            f"{m.z:+.1f}" if m.z is not None else "",
            ", ".join(marks),
        )
    out.print(table)
    if stale:
        out.print(
            f"{stale} latest value(s) are more than 3 days old: the twin judges them by "
            "what it knew then (import newer data to refresh them).",
            soft_wrap=True,
        )
    for key, value in found.measures.items():
        out.print(f"{key.replace('_', ' ')}: {value}", markup=False)


@app.command()
def cgm(
    person: PersonArg,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date (inclusive).")] = None,
    days: Annotated[
        int, typer.Option(min=0, help="The latest days, when --since is not given (0: all).")
    ] = CGM_DAYS,
    source: Annotated[
        str | None, typer.Option(help="The CGM source (default: the one with most readings).")
    ] = None,
    unit: GlucoseUnitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The CGM report: time in ranges against the consensus targets, mean, CV, GMI, MAGE,
    LBGI/HBGI and the AGP."""
    from lifetwin.operations.glucose import cgm as run

    found = run(
        context(person),
        since=when(since),
        until=when(until, end_of_day=True),
        days=days,
        source=source,
        unit=unit,
    )
    emit(found, as_json, render_cgm)


def render_cgm(report: CgmView) -> None:
    """The CGM report as text (also the first part of ``lifetwin glucose agp``)."""
    u = report.unit
    out.print(
        f"{report.readings:,} readings from {report.source}, {fmt_time(report.first)} to "
        f"{fmt_time(report.last)} UTC ({report.days:g} days), "
        f"{report.data_captured_pct:g} % captured"
    )
    out.print(
        f"mean {report.mean:g} {u}, SD {report.sd:g} {u}, CV {report.cv_pct:g} %, "
        f"GMI {report.gmi_pct:g} %, MAGE {report.mage} {u}, "
        f"LBGI {report.lbgi:g}, HBGI {report.hbgi:g}",
        soft_wrap=True,
    )
    bands = ", ".join(
        f"{label} {report.ranges_pct[key]:g} %" for key, label in report.range_labels.items()
    )
    out.print(f"time in ranges ({u}): {bands}", soft_wrap=True)
    out.print("Consensus targets (Battelino et al. 2019):")
    for check in report.checks:
        mark = "  ok " if check.met else "[bold red]  !  [/bold red]"
        out.print(
            f"{mark}{check.label}: {check.value_pct:g} % (target {check.target})",
            soft_wrap=True,
            highlight=False,
        )
    for warning in report.warnings:
        out.print(f"note: {warning}", soft_wrap=True, markup=False)
    table = Table(
        "hour",
        "p5",
        "p25",
        "median",
        "p75",
        "p95",
        "n",
        title=f"Ambulatory glucose profile ({u}, local time)",
    )
    for hour, cut in sorted(report.agp.items(), key=lambda kv: int(kv[0])):
        table.add_row(
            f"{int(hour):02d}:00",
            *(f"{getattr(cut, k):g}" for k in ("p5", "p25", "p50", "p75", "p95")),
            str(cut.n),
        )
    out.print(table)


@app.command()
def alerts(
    person: PersonArg,
    budget: Annotated[
        float,
        typer.Option(
            "--budget",
            min=0.01,
            max=10.0,
            help="Illness warning: false alerts per healthy month you accept.",
        ),
    ] = ILLNESS_BUDGET,
    deviation_budget: Annotated[
        float,
        typer.Option(
            "--deviation-budget",
            min=0.01,
            max=30.0,
            help="Unusual values: false alerts per metric per month you accept.",
        ),
    ] = DEVIATION_BUDGET,
    notify_file: Annotated[
        Path | None,
        typer.Option("--notify-file", help="Also append new alerts as JSON lines to this file."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Early warnings: the illness signal from wearables and unusual latest values."""
    from lifetwin.capabilities.early_warning import FileNotifier
    from lifetwin.operations.twin import alerts as run

    ctx = _twin_context(person, "forecasting")
    notifiers = [FileNotifier(str(notify_file))] if notify_file else []
    found = run(ctx, budget=budget, deviation_budget=deviation_budget, notifiers=notifiers)
    emit(found, as_json, _render_alerts)


def _render_alerts(found: AlertList) -> None:
    if not found.items:
        out.print("No early warnings. (They need data and a forecasting grant.)")
    for alert in found.items:
        out.print(f"{alert.day.isoformat()}  {alert.message}", soft_wrap=True)


@app.command()
def insights(
    person: PersonArg,
    fdr: Annotated[
        float,
        typer.Option(
            "--fdr", min=0.001, max=0.5, help="False discovery rate across all pairs tested."
        ),
    ] = INSIGHT_FDR,
    min_days: Annotated[
        int, typer.Option("--min-days", min=10, help="Fewest days a pair needs.")
    ] = INSIGHT_MIN_DAYS,
    as_json: JsonOpt = False,
) -> None:
    """Associations between your daily metrics (lags of 0-2 days), with FDR control."""
    from lifetwin.operations.twin import insights as run

    ctx = _twin_context(person, "twin_core")
    emit(run(ctx, fdr=fdr, min_days=min_days), as_json, _render_insights)


def _render_insights(found: InsightList) -> None:
    if not found.items:
        out.print(
            f"No insights at a {found.fdr:g} false discovery rate from "
            f"{found.metrics_tested} daily metrics (they need the twin_core grant and "
            f"{found.min_days} days)."
        )
    for rank, insight in enumerate(found.items, 1):
        out.print(f"{rank}. {insight.headline}", soft_wrap=True, markup=False)
        detail = insight.sentence[len(insight.headline) :].strip()
        out.print(f"   {detail} q = {insight.q_value:.2g}.", soft_wrap=True, markup=False)
    if found.related:
        out.print(
            f"Not compared ({found.related_left_out} comparisons), being one thing measured "
            f"two ways: {'; '.join(found.related)}.",
            soft_wrap=True,
            markup=False,
        )


@app.command()
def forecast(
    person: PersonArg,
    metric_code: Annotated[
        str,
        typer.Option(
            "--metric",
            "-m",
            help="glucose, a daily metric (resting_heart_rate, body_mass, ...), sleep or spending.",
        ),
    ] = "glucose",
    horizon: Annotated[
        int | None,
        typer.Option(
            "--horizon",
            help="Glucose: only this horizon in minutes (30, 60 or 120). Daily metrics: "
            "days ahead (default 7).",
        ),
    ] = None,
    unit: GlucoseUnitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Forecasts with intervals: glucose 30-120 minutes ahead, daily metrics days ahead."""
    from lifetwin.core.errors import LifeTwinError
    from lifetwin.operations.twin import DailyForecast
    from lifetwin.operations.twin import forecast as run

    ctx = _twin_context(person, "forecasting")
    found = run(ctx, metric_code, days=horizon or DAILY_HORIZON, unit=unit)
    if isinstance(found, DailyForecast):
        emit(found, as_json, _render_daily)
        return
    if horizon is not None and horizon not in (30, 60, 120):
        raise LifeTwinError("The horizon must be 30, 60 or 120 minutes.")
    emit(found, as_json, lambda f: _render_glucose(f, horizon))


def _render_glucose(found: GlucoseForecast, horizon: int | None) -> None:
    from lifetwin.operations.glucose import shown

    u = found.unit
    out.print(
        f"Last reading {fmt_time(found.start)} UTC: {shown(found.last, u)} {u} "
        f"(model learned from {found.trained_steps:,} five-minute steps)"
    )
    out.print(found.status, markup=False)
    for item in found.forecasts:
        if horizon is None or item.horizon_min == horizon:
            out.print(
                f"  in {item.horizon_min} min: {shown(item.value, u)} {u} "
                f"(90 % interval {shown(item.low, u)} to {shown(item.high, u)})"
            )
    for warning in found.warnings:
        out.print(f"note: {warning}", soft_wrap=True, markup=False)
    if found.hypo_warning:
        out.print(
            f"[bold red]A low (below {shown(found.hypo_threshold, u)} {u}) is forecast "
            "within 30 minutes.[/bold red]"
        )
    out.print(found.note)


def _render_daily(found: DailyForecast) -> None:
    out.print(
        f"{found.name}: {found.days} days up to {found.last_day} "
        f"(Holt-Winters with a weekly season, 80 % intervals from its own past errors)"
    )
    unit = found.unit if found.unit not in ("count", "dimensionless") else ""
    for f in found.forecasts:
        out.print(f"  {f.day}: {f.value:.4g} {unit} ({f.low:.4g} to {f.high:.4g})")
    b = found.backtest
    table = Table(
        "backtest MAE", *(f"{h} d ahead" for h in b.horizons), title="Rolling-origin backtest"
    )
    for model_name, values in b.mae.items():
        table.add_row(
            model_name.replace("_", " "), *("—" if v is None else f"{v:.3g}" for v in values)
        )
    table.add_row("interval coverage", *("—" if c is None else f"{c:.0%}" for c in b.coverage))
    out.print(table)


@app.command()
def risk(person: PersonArg, as_json: JsonOpt = False) -> None:
    """Validated risk scores from what the twin holds, with where each input came from."""
    from lifetwin.operations.twin import risk as run

    ctx = _twin_context(person, "twin_core")
    emit(run(ctx), as_json, _render_risk)


def _render_risk(report: RiskReport) -> None:
    for result in report.scores:
        if result.refused:
            out.print(f"[bold]{result.name}[/bold]: not computed ({result.refused})")
        else:
            category = f", {result.category}" if result.category else ""
            out.print(f"[bold]{result.name}[/bold]: {result.value:g} {result.unit}{category}")
        for key, value in result.inputs.items():
            out.print(f"    {key}: {value}", markup=False)
        out.print(f"    source: {result.reference}", markup=False)
    for hint in report.not_granted.values():
        out.print(hint, markup=False, soft_wrap=True)
    out.print(report.note)
