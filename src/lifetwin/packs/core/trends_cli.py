"""``lifetwin trends``: every numeric metric's last month day by day, with this week
against the week before (the operation :func:`lifetwin.operations.trends.trends`, which the
overview's sparklines draw)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, out

if TYPE_CHECKING:
    from lifetwin.operations.trends import TrendList

TREND_DAYS = 30  # the operation's default, repeated so --help needs no engine import
BLOCKS = "▁▂▃▄▅▆▇█"


def register(app: Any) -> None:
    app.command("trends")(trends)


def trends(
    person: PersonArg,
    days: Annotated[
        int, typer.Option("--days", min=7, max=366, help="How many days back (7-366).")
    ] = TREND_DAYS,
    as_json: JsonOpt = False,
) -> None:
    """Each metric day by day over the last month, this week against the week before."""
    from lifetwin.operations.trends import trends as run

    emit(run(context(person), days=days), as_json, _render)


def blocks(values: list[float | None]) -> str:
    """A sparkline in text.

    >>> blocks([1.0, 2.0, None, 8.0])
    '▁▂ █'
    """
    known = [v for v in values if v is not None]
    if not known:
        return ""
    low, high = min(known), max(known)
    span = (high - low) or 1.0
    return "".join(
        " " if v is None else BLOCKS[round((v - low) / span * (len(BLOCKS) - 1))] for v in values
    )


def _render(found: TrendList) -> None:
    from rich.table import Table

    table = Table(title=f"Day by day, {found.first_day:%d %b} to {found.last_day:%d %b}")
    table.add_column("metric")
    days = max((len(t.days) for t in found.items), default=7)
    table.add_column(f"days in {found.time_zone}", no_wrap=True, min_width=days)
    table.add_column("this week")
    for t in found.items:
        table.add_row(t.name, blocks(t.days), t.sentence)
    out.print(table)
