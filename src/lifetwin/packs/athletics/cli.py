"""``lifetwin activity``, ``lifetwin workouts`` and ``lifetwin workout``: the day's activity
against your usual, the workout list, and one workout with its zones, splits and route
(the operations of :mod:`lifetwin.packs.athletics.operations`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, out

if TYPE_CHECKING:
    from lifetwin.packs.athletics.operations import (
        ActivitySummary,
        WorkoutDetail,
        WorkoutList,
        WorkoutSummary,
    )

WORKOUT_DAYS = 365  # the operation's default, repeated so --help needs no engine import


def register(app: Any) -> None:
    app.command("activity")(activity)
    app.command("workouts")(workouts)
    app.command("workout")(workout)


def activity(
    person: PersonArg,
    day: Annotated[
        str | None, typer.Option("--day", help="The day (YYYY-MM-DD; default: today).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """The day's steps, energy and distance against your usual, and the last week and month."""
    from lifetwin.operations.local_time import parse_day
    from lifetwin.packs.athletics.operations import activity as run

    emit(run(context(person), day=parse_day(day, "--day")), as_json, _render_activity)


def workouts(
    person: PersonArg,
    days: Annotated[
        int, typer.Option("--days", min=1, help="How many days back the list reaches.")
    ] = WORKOUT_DAYS,
    as_json: JsonOpt = False,
) -> None:
    """Your workouts, newest first, with their ids (for `lifetwin workout`)."""
    from lifetwin.packs.athletics.operations import workouts as run

    emit(run(context(person), days=days), as_json, _render_list)


def workout(
    person: PersonArg,
    workout_id: Annotated[str, typer.Argument(help="The workout's id (from `lifetwin workouts`).")],
    as_json: JsonOpt = False,
) -> None:
    """One workout: distance, duration, heart-rate zones, kilometre splits and route."""
    from lifetwin.packs.athletics.operations import workout as run

    emit(run(context(person), workout_id), as_json, _render_workout)


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "m":
        return f"{value / 1000:.1f} km"
    if unit in ("count", "dimensionless", ""):
        return f"{value:,.0f}"
    return f"{value:,.0f} {unit}"


def _render_activity(found: ActivitySummary) -> None:
    from rich.table import Table

    when = "today" if found.today else f"{found.day:%a %d %b %Y}"
    out.print(f"[bold]Activity {when}[/bold] ({found.time_zone})")
    out.print(found.sentence, soft_wrap=True, markup=False)
    table = Table(
        "metric",
        "total",
        "usual by now" if found.today else "",
        "usual day",
        "last 7 days (mean)",
        "7 days before",
        "30 days",
    )
    for m in found.metrics:
        table.add_row(
            m.name,
            _amount(m.total, m.unit),
            _amount(m.usual_by_now, m.unit) if found.today else "",
            _amount(m.usual_day, m.unit),
            _amount(m.week_mean, m.unit),
            _amount(m.previous_week_mean, m.unit),
            _amount(m.month_mean, m.unit),
        )
    out.print(table)
    if found.recent_workouts:
        out.print("Recent workouts:")
        for w in found.recent_workouts:
            out.print(f"  {_line(w)}", markup=False, soft_wrap=True)


def _line(w: WorkoutSummary) -> str:
    from lifetwin.packs.athletics.workouts import duration_text, pace_text

    parts = [f"{w.start:%a %d %b %H:%M}", w.title]
    if w.duration_min is not None:
        parts.append(duration_text(w.duration_min))
    if w.distance_m is not None:
        parts.append(f"{w.distance_m / 1000:.2f} km")
    if w.pace_min_per_km is not None:
        parts.append(pace_text(w.pace_min_per_km))
    if w.speed_km_h is not None:
        parts.append(f"{w.speed_km_h:g} km/h")
    if w.avg_heart_rate_bpm is not None:
        parts.append(f"avg {w.avg_heart_rate_bpm:.0f} bpm")
    return "  ".join(parts)


def _render_list(found: WorkoutList) -> None:
    from rich.table import Table

    if not found.items:
        out.print(f"No workouts in the last {found.days} days.")
        return
    week, month = found.last_7_days, found.last_30_days
    out.print(
        f"Last 7 days: {week['count']:.0f} workouts, {week['distance_km']:g} km, "
        f"{week['duration_min'] / 60:.1f} h; last 30 days: {month['count']:.0f} workouts, "
        f"{month['distance_km']:g} km, {month['duration_min'] / 60:.1f} h."
    )
    table = Table("id", f"when ({found.time_zone})", "workout", title="Workouts, newest first")
    for w in found.items:
        table.add_row(w.id, f"{w.start:%Y-%m-%d %H:%M}", _line(w).split("  ", 1)[1])
    out.print(table)


def _render_workout(w: WorkoutDetail) -> None:
    from rich.table import Table

    from lifetwin.packs.athletics.workouts import duration_text, pace_text

    out.print(f"[bold]{w.title}[/bold], {w.start:%a %d %b %Y %H:%M} ({w.time_zone})")
    out.print(_line(w).split("  ", 2)[2], markup=False, soft_wrap=True)
    facts = []
    if w.max_heart_rate_bpm is not None:
        facts.append(f"max {w.max_heart_rate_bpm:.0f} bpm")
    if w.ascent_m is not None:
        facts.append(f"ascent {w.ascent_m:.0f} m")
    if w.energy_kcal is not None:
        facts.append(f"{w.energy_kcal:.0f} kcal")
    if facts:
        out.print(", ".join(facts))
    out.print(w.hr_max_basis, markup=False, soft_wrap=True)
    if w.zones:
        table = Table("zone", "heart rate", "time", "share", title="Time in heart-rate zones")
        for z in w.zones:
            span = (
                f"below {z.high_bpm:.0f} bpm"
                if z.low_bpm is None
                else f"{z.low_bpm:.0f}–{z.high_bpm:.0f} bpm"
            )
            bar = "█" * round(z.pct / 5)
            table.add_row(
                f"{z.zone} {z.name}" if z.zone else z.name,
                span,
                duration_text(z.minutes),
                f"{z.pct:g} % {bar}",
            )
        out.print(table)
    elif not w.heart_rate:
        out.print("No heart rate was recorded during this workout.")
    if w.splits:
        table = Table("km", "time", "pace", "avg heart rate", title="Splits")
        for s in w.splits:
            table.add_row(
                f"{s.km}" if s.length_km >= 0.995 else f"{s.km} ({s.length_km:g} km)",
                duration_text(s.seconds / 60),
                pace_text(s.pace_min_per_km),
                f"{s.avg_heart_rate_bpm:.0f} bpm" if s.avg_heart_rate_bpm is not None else "",
            )
        out.print(table)
    if w.route is not None:
        out.print(
            f"Route: {w.route.points} GPS points over {w.route.width_m / 1000:.1f} × "
            f"{w.route.height_m / 1000:.1f} km (the dashboard draws it, without map tiles)."
        )
