"""``lifetwin sleep``: a night's hypnogram and totals against your usual, and the nights of
the last week and month (the operation :func:`lifetwin.packs.sleep.operations.sleep`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, out

if TYPE_CHECKING:
    from lifetwin.packs.sleep.operations import SleepSummary


def register(app: Any) -> None:
    app.command("sleep")(sleep)


def sleep(
    person: PersonArg,
    night: Annotated[
        str | None,
        typer.Option(
            "--night",
            help="The night that began on this evening (YYYY-MM-DD; default: the newest).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A night's sleep: stages, time asleep, efficiency, bed and wake times, vs your usual."""
    from lifetwin.operations.local_time import parse_day
    from lifetwin.packs.sleep.operations import sleep as run

    found = run(context(person), night=parse_day(night, "--night"))
    emit(found, as_json, _render)


def _render(found: SleepSummary) -> None:
    from rich.table import Table

    from lifetwin.packs.sleep.operations import STAGE_LABELS, hours_minutes

    n = found.night
    out.print(
        f"[bold]Night of {n.night:%a %d %b %Y}[/bold] (times in {found.time_zone}, from {n.source})"
    )
    out.print(found.sentence, soft_wrap=True, markup=False)
    facts = [
        f"in bed {hours_minutes(n.in_bed_min)}",
        f"asleep {hours_minutes(n.asleep_min)}",
        f"awake {hours_minutes(n.awake_min)}",
    ]
    if n.latency_min is not None:
        facts.append(f"fell asleep after {hours_minutes(n.latency_min)}")
    facts.append(f"woke {n.wake_ups} times")
    out.print(", ".join(facts), soft_wrap=True)
    if n.staged:
        stages = ", ".join(
            f"{STAGE_LABELS.get(s, s)} {hours_minutes(m)}" for s, m in n.stages.items()
        )
        out.print(f"stages: {stages}", soft_wrap=True)
    if found.other_sources:
        out.print(f"also recorded by: {', '.join(found.other_sources)}", markup=False)
    for p in (found.week, found.previous_week, found.usual):
        if p.asleep_min is not None:
            out.print(
                f"{p.label}: {hours_minutes(p.asleep_min)} asleep on average over {p.nights} "
                f"nights, to bed {p.bed_time}, up {p.wake_time}",
                soft_wrap=True,
            )
    table = Table(
        "night",
        "bed",
        "up",
        "asleep",
        "deep",
        "REM",
        "efficiency",
        title=f"The last {len(found.nights)} nights ({found.time_zone})",
    )
    for v in found.nights:
        table.add_row(
            f"{v.night:%a %d %b}",
            f"{v.bed_time:%H:%M}",
            f"{v.wake_time:%H:%M}",
            _short(v.asleep_min),
            _short(v.stages["deep"]) if "deep" in v.stages else "",
            _short(v.stages["rem"]) if "rem" in v.stages else "",
            f"{v.efficiency_pct:g} %" if v.efficiency_pct is not None else "",
        )
    out.print(table)


def _short(minutes: float) -> str:
    """Minutes as h:mm, for tables.

    >>> _short(464), _short(45)
    ('7:44', '0:45')
    """
    whole = round(minutes)
    return f"{whole // 60}:{whole % 60:02d}"
