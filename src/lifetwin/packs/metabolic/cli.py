"""``lifetwin glucose``: the newest reading and its trend, a day, a week, the printable AGP
report, and the person's glucose unit and targets. Each command calls one operation of
:mod:`lifetwin.operations.glucose` (the API's ``/glucose/...`` routes call the same)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, out, when
from lifetwin.cli.twin import CGM_DAYS, GlucoseUnitOpt

if TYPE_CHECKING:
    from lifetwin.operations.glucose import (
        AgpReport,
        GlucoseDay,
        GlucoseNow,
        GlucoseSettings,
        GlucoseWeek,
    )


def _day(text: str | None, what: str) -> date | None:
    from lifetwin.core.errors import LifeTwinError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a date for {what} (use YYYY-MM-DD).") from None


def register(app: typer.Typer) -> None:
    """Add the ``glucose`` command group to ``lifetwin``."""
    glucose = typer.Typer(
        help="Glucose: the newest reading and its trend, a day, a week, the AGP report, "
        "your unit and targets.",
        no_args_is_help=True,
    )
    app.add_typer(glucose, name="glucose")
    glucose.command("now")(now)
    glucose.command("day")(day)
    glucose.command("week")(week)
    glucose.command("agp")(agp)
    glucose.command("settings")(settings)


def now(person: PersonArg, unit: GlucoseUnitOpt = None, as_json: JsonOpt = False) -> None:
    """The newest reading, its trend arrow and the change since the reading before."""
    from lifetwin.operations.glucose import glucose_now

    emit(glucose_now(context(person), unit=unit), as_json, _render_now)


def _render_now(found: GlucoseNow) -> None:
    from lifetwin.operations.glucose import shown, shown_change

    u = found.unit
    change = ""
    if found.change is not None and found.previous_at is not None:
        change = (
            f" ({shown_change(found.change, u)} {u} since "
            f"{found.previous_at.strftime('%H:%M')}, {found.minutes_since_previous:g} min earlier)"
        )
    out.print(
        f"{shown(found.value, u)} {u} {found.arrow} {found.trend}{change} at "
        f"{found.at.strftime('%Y-%m-%d %H:%M')} (UTC{found.at.strftime('%z')[:3]}:"
        f"{found.at.strftime('%z')[3:]})",
        soft_wrap=True,
        highlight=False,
    )
    if found.stale:
        out.print(f"[bold red]{found.status}[/bold red]", soft_wrap=True)
    else:
        out.print(found.status, markup=False)
    t = found.targets
    out.print(f"Your targets: {shown(t.low, u)}–{shown(t.high, u)} {u}", highlight=False)


def day(
    person: PersonArg,
    on: Annotated[
        str | None,
        typer.Option("--day", help="The day (YYYY-MM-DD; default: the day of the newest reading)."),
    ] = None,
    unit: GlucoseUnitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One day: glucose by hour, the insulin and carbohydrates, the day's numbers."""
    from lifetwin.operations.glucose import glucose_day

    found = glucose_day(context(person), _day(on, "--day"), unit=unit)
    emit(found, as_json, lambda d: _render_day(d, person))


def _stats_line(found: GlucoseDay | GlucoseWeek, what: str) -> str:
    from lifetwin.operations.glucose import shown

    s, u = found.stats, found.unit
    if not s.readings:
        return f"{what}: no readings."
    return (
        f"{what}: {s.readings:,} readings, mean {shown(s.mean, u)} {u} "
        f"({shown(s.lowest, u)} to {shown(s.highest, u)}), {s.time_in_range_pct:g} % in range, "
        f"{s.time_below_pct:g} % below {_low(u)}, {s.time_above_pct:g} % above {_high(u)}; "
        f"insulin {s.insulin_u:g} U, carbohydrates {s.carbs_g:g} g"
    )


def _low(unit: str) -> str:
    return "3.9" if unit == "mmol/L" else "70"


def _high(unit: str) -> str:
    return "10.0" if unit == "mmol/L" else "180"


def _render_day(found: GlucoseDay, person: str) -> None:
    from lifetwin.operations.glucose import shown

    u = found.unit
    title = f"{found.weekday} {found.day.isoformat()} ({found.zone}), {found.source or 'no source'}"
    out.print(_stats_line(found, title), soft_wrap=True, highlight=False)
    if found.readings:
        table = Table("hour", "mean", "lowest", "highest", "insulin (U)", "carbs (g)")
        table.title = f"Glucose by hour ({u}, local time)"
        for hour in range(24):
            values = [r.value for r in found.readings if r.at.hour == hour]
            dosed = sum(d.units for d in found.insulin if d.at.hour == hour)
            pumped = sum(d.units for d in found.delivered if d.at.hour == hour)
            eaten = sum(c.grams for c in found.carbs if c.at.hour == hour)
            if not values and not dosed and not eaten:
                continue
            table.add_row(
                f"{hour:02d}:00",
                shown(sum(values) / len(values), u) if values else "—",
                shown(min(values), u) if values else "—",
                shown(max(values), u) if values else "—",
                f"{pumped if found.delivered else dosed:.1f}",
                f"{eaten:g}" if eaten else "",
            )
        out.print(table)
    for dose in found.insulin:
        out.print(f"  {dose.at.strftime('%H:%M')} insulin {dose.units:g} U ({dose.kind})")
    for meal in found.carbs:
        out.print(f"  {meal.at.strftime('%H:%M')} carbohydrates {meal.grams:g} g")
    hints = []
    if found.previous_day:
        hints.append(f"--day {found.previous_day.isoformat()}")
    if found.next_day:
        hints.append(f"--day {found.next_day.isoformat()}")
    out.print(
        f"Readings from {found.first_day.isoformat()} to {found.last_day.isoformat()}; "
        f"other days: lifetwin glucose day {person!r} " + " or ".join(hints),
        soft_wrap=True,
        markup=False,
        highlight=False,
    )


def week(
    person: PersonArg,
    start: Annotated[
        str | None,
        typer.Option(
            "--start",
            help="The week's first day (YYYY-MM-DD; default: the week up to the newest reading).",
        ),
    ] = None,
    unit: GlucoseUnitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Seven days side by side: each day's numbers (the dashboard lays them over each other)."""
    from lifetwin.operations.glucose import glucose_week

    found = glucose_week(context(person), _day(start, "--start"), unit=unit)
    emit(found, as_json, _render_week)


def _render_week(found: GlucoseWeek) -> None:
    from lifetwin.operations.glucose import shown

    u = found.unit
    title = f"{found.start.isoformat()} to {found.end.isoformat()} ({found.zone})"
    out.print(_stats_line(found, title), soft_wrap=True, highlight=False)
    table = Table(
        "day",
        f"mean ({u})",
        "in range",
        f"below {_low(u)}",
        f"above {_high(u)}",
        "insulin (U)",
        "carbs (g)",
        "readings",
    )
    for d in found.days:
        table.add_row(
            f"{d.weekday} {d.day.isoformat()}",
            shown(d.mean, u),
            "—" if d.time_in_range_pct is None else f"{d.time_in_range_pct:g} %",
            "—" if d.time_below_pct is None else f"{d.time_below_pct:g} %",
            "—" if d.time_above_pct is None else f"{d.time_above_pct:g} %",
            f"{d.insulin_u:g}",
            f"{d.carbs_g:g}",
            str(d.readings),
        )
    out.print(table)
    moves = []
    if found.previous_start:
        moves.append(f"the week before: --start {found.previous_start.isoformat()}")
    if found.next_start:
        moves.append(f"the week after: --start {found.next_start.isoformat()}")
    if moves:
        out.print("; ".join(moves), markup=False, highlight=False)


def agp(
    person: PersonArg,
    since: Annotated[str | None, typer.Option(help="From this date (YYYY-MM-DD).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this date (inclusive).")] = None,
    days: Annotated[
        int, typer.Option(min=0, help="The latest days, when --since is not given (0: all).")
    ] = CGM_DAYS,
    source: Annotated[
        str | None, typer.Option(help="The CGM source (default: the one with most readings).")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report as one printable HTML page to this file (print it, or save "
            "it as PDF, from a browser).",
        ),
    ] = None,
    unit: GlucoseUnitOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The AGP report (the consensus layout): time in ranges, statistics and targets, the
    glucose profile by hour, and daily profiles."""
    from lifetwin.operations.glucose import agp_report

    found = agp_report(
        context(person),
        since=when(since),
        until=when(until, end_of_day=True),
        days=days,
        source=source,
        unit=unit,
    )
    if output is not None:
        from lifetwin.web.glucose_report import agp_html

        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(agp_html(found))
        if not as_json:
            out.print(
                f"Wrote the AGP report of {found.person} to {output} (one printable page; it "
                "holds health data, readable only by you).",
                markup=False,
                soft_wrap=True,
            )
            return
    emit(found, as_json, _render_agp)


def _render_agp(found: AgpReport) -> None:
    from lifetwin.cli.twin import render_cgm
    from lifetwin.operations.glucose import shown

    render_cgm(found.report)
    u = found.unit
    table = Table("day", f"mean ({u})", "in range", "readings", title="Daily profiles")
    for d in found.days:
        table.add_row(
            f"{d.weekday} {d.day.isoformat()}",
            shown(d.mean, u),
            "—" if d.time_in_range_pct is None else f"{d.time_in_range_pct:g} %",
            str(d.readings),
        )
    out.print(table)
    out.print("Print it on one page: lifetwin glucose agp PERSON --output agp.html", markup=False)


def settings(
    person: PersonArg,
    unit: Annotated[
        str | None, typer.Option("--unit", help="Show glucose in mg/dL or mmol/L from now on.")
    ] = None,
    low: Annotated[
        float | None,
        typer.Option("--low", help="The low end of your target range, in your unit (default 70)."),
    ] = None,
    high: Annotated[
        float | None,
        typer.Option(
            "--high", help="The high end of your target range, in your unit (default 180)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Show or set how your glucose is shown: the unit and the target lines."""
    from lifetwin.operations.glucose import glucose_settings, set_glucose_settings

    ctx = context(person)
    if unit is None and low is None and high is None:
        found = glucose_settings(ctx)
    else:
        found = set_glucose_settings(ctx, unit=unit, low=low, high=high)
    emit(found, as_json, _render_settings)


def _render_settings(found: GlucoseSettings) -> None:
    from lifetwin.operations.glucose import shown

    u, t = found.unit, found.targets
    default = " (the default)" if found.defaults else ""
    out.print(
        f"Glucose is shown in {u}; your target range is {shown(t.low, u)}–{shown(t.high, u)} "
        f"{u}{default}.",
        highlight=False,
    )
