"""What the twin computes: ``twin``, ``cgm``, ``alerts``, ``insights``, ``forecast``,
``risk`` and the k-anonymous research table ``population``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lifetwin.cli.app import PersonArg, app, fmt_time, open_store, out, when
from lifetwin.core.errors import LifeTwinError
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import Store


@app.command()
def twin(
    person: PersonArg,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Show the twin as it was before this date (YYYY-MM-DD)."),
    ] = None,
) -> None:
    """The twin's state: each metric's latest value against the person's own baselines."""
    from lifetwin.capabilities.twin_state import TwinState, refresh_twin

    store = open_store()
    who = store.person(person)
    vault = store.vault(who)
    if as_of:
        state = TwinState.build(vault, when(as_of))
        out.print(f"{who.name}'s twin as of {as_of} (rebuilt from the data before it)")
    else:
        state, learned = refresh_twin(vault)
        out.print(f"{who.name}'s twin ({learned:,} new observations learned)")
    if not state.overall:
        out.print("The twin has no data it may use (it needs the twin_core grant).")
        return
    table = Table("metric", "latest", "usual now (centre ± spread)", "z", "overall", "n")
    for code in sorted(state.overall):
        ts_ms, value, tz_min = state.latest[code]
        slot = state.hourly[code].get(TwinState.slot(ts_ms, tz_min))
        overall = state.overall[code]
        z = slot.z(value) if slot else None
        table.add_row(
            code,
            f"{value:g}",
            f"{slot.centre:.4g} ± {slot.spread:.3g}" if slot else "",
            f"{z:+.1f}" if z is not None else "",
            f"{overall.centre:.4g} ± {overall.spread:.3g}",
            f"{overall.n:,}",
        )
    out.print(table)
    if not as_of:
        from lifetwin.capabilities.measures import derived_measures

        for key, value in derived_measures(vault).items():
            out.print(f"{key.replace('_', ' ')}: {value}", markup=False)


@app.command()
def cgm(
    person: PersonArg,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date (inclusive).")] = None,
) -> None:
    """The CGM report: time in ranges, mean, CV, GMI, MAGE, LBGI/HBGI and the AGP."""
    from lifetwin.capabilities.cgm_report import RANGES, cgm_report

    store = open_store()
    who = store.person(person)
    report = cgm_report(
        store.vault(who), Purpose.SELF_ACCESS, when(since), when(until, end_of_day=True)
    )
    if not report.readings:
        out.print(f"No CGM readings for {who.name} in that range.")
        return
    out.print(
        f"{who.name}: {report.readings:,} readings, {fmt_time(report.first)} to "
        f"{fmt_time(report.last)}, {report.data_captured_pct:g} % captured"
    )
    out.print(
        f"mean {report.mean_mg_dl:g} mg/dL, SD {report.sd_mg_dl:g}, CV "
        f"{report.cv_pct:g} %, GMI {report.gmi_pct:g} %, MAGE {report.mage_mg_dl} mg/dL, "
        f"LBGI {report.lbgi:g}, HBGI {report.hbgi:g}"
    )
    bands = ", ".join(f"{label} mg/dL {report.ranges_pct[name]:g} %" for name, label in RANGES)
    out.print(f"time in ranges: {bands}", soft_wrap=True)
    table = Table(
        "hour",
        "p5",
        "p25",
        "median",
        "p75",
        "p95",
        "n",
        title="Ambulatory glucose profile (mg/dL, local time)",
    )
    for hour, cut in sorted(report.agp.items()):
        table.add_row(
            f"{hour:02d}:00",
            *(f"{cut[k]:g}" for k in ("p5", "p25", "p50", "p75", "p95")),
            f"{cut['n']:.0f}",
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
    ] = 0.1,
    deviation_budget: Annotated[
        float,
        typer.Option(
            "--deviation-budget",
            min=0.01,
            max=30.0,
            help="Unusual values: false alerts per metric per month you accept.",
        ),
    ] = 1.0,
    notify_file: Annotated[
        Path | None,
        typer.Option("--notify-file", help="Also append new alerts as JSON lines to this file."),
    ] = None,
) -> None:
    """Early warnings: the resting-heart-rate illness signal and unusual latest values."""
    from lifetwin.capabilities.early_warning import (
        FileNotifier,
        deviation_alerts,
        illness_alerts,
    )

    store = open_store()
    vault = store.vault(store.person(person))
    notifiers = [FileNotifier(str(notify_file))] if notify_file else []
    found = illness_alerts(vault, false_alerts_per_month=budget, notifiers=notifiers)
    found += deviation_alerts(vault, false_alerts_per_month=deviation_budget, notifiers=notifiers)
    if not found:
        out.print("No early warnings. (They need data and a forecasting grant.)")
        return
    for alert in found:
        out.print(f"{alert.day.isoformat()}  {alert.message}", soft_wrap=True)


@app.command()
def insights(
    person: PersonArg,
    fdr: Annotated[
        float,
        typer.Option(
            "--fdr", min=0.001, max=0.5, help="False discovery rate across all pairs tested."
        ),
    ] = 0.05,
    min_days: Annotated[
        int, typer.Option("--min-days", min=10, help="Fewest days a pair needs.")
    ] = 28,
) -> None:
    """Associations between your daily metrics (lags of 0-2 days), with FDR control."""
    from lifetwin.capabilities.insights import daily_table, find_insights

    store = open_store()
    table, units = daily_table(store.vault(store.person(person)), min_days=min_days)
    found = find_insights(table, units, min_days=min_days, fdr=fdr)
    if not found:
        out.print(
            f"No insights at a {fdr:g} false discovery rate from {len(table)} daily "
            "metrics (they need the twin_core grant and enough days)."
        )
        return
    for insight in found:
        out.print(f"- {insight.sentence} (q = {insight.q_value:.3g})", soft_wrap=True)


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
) -> None:
    """Forecasts with intervals: glucose 30-120 minutes ahead, daily metrics days ahead."""
    from lifetwin.capabilities.glucose_forecast import HORIZONS_MIN, forecast_for_person

    store = open_store()
    who = store.person(person)
    if metric_code in ("sleep", "spending") or metric(metric_code).code != "glucose":
        _forecast_daily(store, who, metric_code, horizon or 7)
        return
    if horizon is not None and horizon not in HORIZONS_MIN:
        raise LifeTwinError("The horizon must be 30, 60 or 120 minutes.")
    result = forecast_for_person(store.vault(who))
    if result is None:
        out.print(
            f"Not enough CGM data for {who.name} to forecast (two days are needed, "
            "and a forecasting grant)."
        )
        return
    when = datetime.fromtimestamp(result.last_reading_ms / 1000, UTC)
    out.print(
        f"Last reading {fmt_time(when)} UTC: {result.last_mg_dl:g} mg/dL "
        f"(model learned from {result.trained_steps:,} five-minute steps)"
    )
    for item in result.forecasts:
        if horizon is None or item.horizon_min == horizon:
            out.print(
                f"  in {item.horizon_min} min: {item.value_mg_dl:.0f} mg/dL "
                f"(90 % interval {item.low_mg_dl:.0f} to {item.high_mg_dl:.0f})"
            )
    if result.hypo_warning:
        out.print("[bold red]A low (below 70 mg/dL) is forecast within the hour.[/bold red]")
    out.print("Decision support, not a dosing instruction.")


def _forecast_daily(store: Store, who: Any, name: str, horizon: int) -> None:
    from lifetwin.capabilities.daily_forecast import MIN_DAYS, forecast_daily

    if not 1 <= horizon <= 60:
        raise LifeTwinError("For daily metrics the horizon is 1 to 60 days.")
    result = forecast_daily(store.vault(who), name, horizon)
    if result is None:
        out.print(
            f"Not enough daily {name} data for {who.name} to forecast ({MIN_DAYS} days are "
            "needed, and a forecasting grant)."
        )
        return
    out.print(
        f"{name} for {who.name}: {result.days} days up to {result.last_day} "
        f"(Holt-Winters with a weekly season, 80 % intervals from its own past errors)"
    )
    for f in result.forecasts:
        out.print(f"  {f.day}: {f.value:.4g} {result.unit} ({f.low:.4g} to {f.high:.4g})")
    b = result.backtest
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
def risk(person: PersonArg) -> None:
    """Validated risk scores from what the twin holds, with where each input came from."""
    from lifetwin.capabilities.risk import all_scores, gather_inputs

    store = open_store()
    results = all_scores(gather_inputs(store.vault(store.person(person))))
    for result in results:
        if result.refused:
            out.print(f"[bold]{result.name}[/bold]: not computed ({result.refused})")
        else:
            out.print(
                f"[bold]{result.name}[/bold]: {result.value:g} {result.unit}, {result.category}"
            )
        for key, value in result.inputs.items():
            out.print(f"    {key}: {value}", markup=False)
        out.print(f"    source: {result.reference}", markup=False)
    out.print("Decision support, not a diagnosis: discuss these with a clinician.")


@app.command()
def population(
    metric_code: Annotated[str, typer.Option("--metric", "-m", help="The metric's code.")],
    k: Annotated[int, typer.Option("--k", min=2, help="Smallest group size allowed.")] = 5,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the table as JSON to this file.")
    ] = None,
) -> None:
    """A research table of per-person summaries: consented, generalized, k-anonymous."""
    from lifetwin.services.population import population_table

    table = population_table(open_store(), metric_code, k=k)
    if output:
        output.write_text(json.dumps(table, indent=2), encoding="utf-8")
        out.print(f"Wrote {len(table)} rows to {output}.")
        return
    grid = Table("person", "birth year", "sex", "region", "mean", "count")
    for row in table:
        grid.add_row(
            row["person"],
            str(row["birth_year"] or ""),
            row["sex"] or "",
            row["region"] or "",
            f"{row['mean']:g}",
            str(row["count"]),
        )
    out.print(grid)
