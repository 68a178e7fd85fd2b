"""``lifetwin readiness``: the day's signals against your own baselines as one 0-100 summary
with its parts in plain words (the operation :func:`lifetwin.packs.cardio.operations.readiness`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, out

if TYPE_CHECKING:
    from lifetwin.packs.cardio.operations import Readiness


def register(app: Any) -> None:
    app.command("readiness")(readiness)


def readiness(
    person: PersonArg,
    day: Annotated[
        str | None,
        typer.Option(
            "--day",
            help="The day (YYYY-MM-DD; default: today, or yesterday while today has no "
            "sleep, resting heart rate or HRV yet).",
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Today against your own baselines (sleep, resting HR, HRV, load); not a medical score."""
    from lifetwin.operations.local_time import parse_day
    from lifetwin.packs.cardio.operations import readiness as run
    from lifetwin.privacy.consent import Purpose

    ctx = context(person).for_purpose(Purpose.TWIN_CORE)
    emit(run(ctx, day=parse_day(day, "--day")), as_json, _render)


def _render(found: Readiness) -> None:
    score = "—" if found.score is None else f"{found.score}/100"
    out.print(f"[bold]Readiness {found.day:%a %d %b %Y}: {score}[/bold] ({found.level})")
    out.print(found.sentence, markup=False, soft_wrap=True)
    for part in found.parts:
        mark = "  —" if part.score is None else f"{part.score:>3}"
        out.print(f"{mark}  {part.sentence}", markup=False, soft_wrap=True)
    out.print(found.note)
