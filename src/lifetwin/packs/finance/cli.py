"""``lifetwin money``: a month's spending by category in your own currency, and the months
before (the operation :func:`lifetwin.packs.finance.operations.money`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from lifetwin.cli.app import JsonOpt, PersonArg, context, emit, out

if TYPE_CHECKING:
    from lifetwin.packs.finance.operations import MoneySummary


def register(app: Any) -> None:
    app.command("money")(money)


def money(
    person: PersonArg,
    month: Annotated[
        str | None,
        typer.Option("--month", help="The month (YYYY-MM; default: this month, or the newest)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Spending by category and month, in your own currency."""
    from lifetwin.packs.finance.operations import money as run

    emit(run(context(person), month=month), as_json, _render)


def _render(found: MoneySummary) -> None:
    from rich.table import Table

    from lifetwin.packs.finance.operations import money_text

    c = found.currency
    out.print(f"[bold]Money, {found.month}[/bold] (amounts in {c}: {found.currency_basis})")
    out.print(found.sentence, soft_wrap=True, markup=False)
    out.print(
        f"spent {money_text(found.spent, c)}, came in {money_text(found.income, c)}, "
        f"net {money_text(found.net, c)}"
    )
    table = Table("category", f"spent ({c})", "payments", "share", title="By category")
    for cat in found.categories:
        table.add_row(cat.label, f"{cat.amount:,.2f}", str(cat.count), f"{cat.share_pct:g} %")
    out.print(table)
    months = Table("month", f"spent ({c})", f"came in ({c})", title="Month by month")
    for m in found.months:
        months.add_row(m.month, f"{m.spent:,.2f}", f"{m.income:,.2f}")
    out.print(months)
    if found.largest:
        out.print("Largest payments:")
        for p in found.largest:
            out.print(
                f"  {p.at:%d %b} {p.payee} ({p.category}): {money_text(p.amount, c)}",
                markup=False,
            )
    for code, amount in found.other_currencies.items():
        out.print(f"also spent {money_text(amount, code)} (not converted, not in the totals)")
