"""Money, as an operation: what a month's spending went on, by category, in the person's
own currency, and the months before it.

:func:`money` reads the ``event:transaction`` records (a bank's statement: negative is
money out, positive money in) and ``event:purchase`` records (a shop's order history,
paid from an account whose statement is not imported — so nothing is counted twice)
through the consent gate for the caller's purpose. Without transaction records, the
signed ``transaction_amount`` series stands in (uncategorized).

The currency is the profile fact ``currency``, else the one most records carry. Amounts
in any other currency are listed apart, never added to these totals (no exchange rates
are guessed). Months run on the person's clock (profile fact ``time_zone``).
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, tzinfo

from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.core.model import Event
from lifetwin.operations.context import Context
from lifetwin.operations.local_time import day_start, from_ms, person_zone

MONEY_MONTHS = 6  # months in the trend, the chosen one included
LARGEST = 5  # the largest payments listed
INCOME = ("income", "salary")


class CategorySpend(BaseModel):
    category: str
    label: str
    amount: float = Field(description="money out, in the currency (positive)")
    count: int
    share_pct: float


class MonthSpend(BaseModel):
    month: str = Field(description="YYYY-MM")
    spent: float
    income: float
    by_category: dict[str, float]


class Payment(BaseModel):
    at: datetime
    payee: str
    category: str
    amount: float = Field(description="money out (positive)")
    kind: str = Field(description="transaction (bank) or purchase (a shop's order)")


class MoneySummary(BaseModel):
    """A month's spending by category, in the person's currency, and the months before."""

    person: str
    time_zone: str
    currency: str = Field(description="ISO 4217 code of every amount here")
    currency_basis: str
    month: str = Field(description="YYYY-MM")
    complete: bool = Field(description="whether the month is over")
    spent: float
    income: float
    net: float = Field(description="income minus spending")
    categories: list[CategorySpend] = Field(description="largest first")
    largest: list[Payment]
    months: list[MonthSpend] = Field(description=f"the last {MONEY_MONTHS} months, oldest first")
    usual_month_spent: float | None = Field(description="mean of the complete months before")
    other_currencies: dict[str, float] = Field(
        description="money out this month in other currencies, not converted"
    )
    sentence: str


def label(category: str) -> str:
    """A category as people write it.

    >>> label("bakery_and_cafe")
    'Bakery and cafe'
    """
    return category.replace("_", " ").strip().capitalize() or "Uncategorized"


def money_text(amount: float, currency: str) -> str:
    """An amount with its currency code, as the surfaces show it.

    >>> money_text(1150, "EUR"), money_text(-3.5, "USD")
    ('1,150.00 EUR', '-3.50 USD')
    """
    return f"{amount:,.2f} {currency}"


def parse_month(text: str) -> date:
    """The first day of a YYYY-MM month, or one sentence why not.

    >>> parse_month("2026-03")
    datetime.date(2026, 3, 1)
    """
    try:
        year, month = text.split("-")
        return date(int(year), int(month), 1)
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a month (use YYYY-MM, such as 2026-03).") from None


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


class _Row:
    def __init__(
        self,
        at: datetime,
        amount: float,
        currency: str | None,
        category: str,
        payee: str,
        kind: str,
    ) -> None:
        self.at, self.amount, self.currency = at, amount, currency
        self.category, self.payee, self.kind = category, payee, kind


def _rows(ctx: Context, since: datetime, until: datetime, zone: tzinfo) -> list[_Row]:
    vault = ctx.vault()
    rows: list[_Row] = []
    for kind in ("event:transaction", "event:purchase"):
        records = vault.read_records(
            kind, purpose=ctx.purpose, recipient=ctx.recipient, since=since, until=until
        )
        for item in records.items:
            if not isinstance(item, Event):
                continue
            amount = item.details.get("amount")
            if not isinstance(amount, int | float):
                continue
            signed = -abs(float(amount)) if kind == "event:purchase" else float(amount)
            currency = item.details.get("currency")
            rows.append(
                _Row(
                    item.start.astimezone(zone),
                    signed,
                    str(currency).upper() if currency else None,
                    str(item.details.get("category") or "uncategorized"),
                    str(item.details.get("payee") or item.title or ""),
                    kind.removeprefix("event:"),
                )
            )
    if not any(r.kind == "transaction" for r in rows):
        series = vault.read_series(
            "transaction_amount",
            purpose=ctx.purpose,
            recipient=ctx.recipient,
            since=since,
            until=until,
        )
        for k in range(len(series)):
            unit = series.streams[int(series.stream_index[k])].unit
            rows.append(
                _Row(
                    from_ms(int(series.ts_ms[k]), zone),
                    float(series.values[k]),
                    unit.upper() if unit and unit != "currency" else None,
                    "income" if series.values[k] > 0 else "uncategorized",
                    "",
                    "transaction",
                )
            )
    return rows


def _currency(ctx: Context, rows: list[_Row]) -> tuple[str, str]:
    own = ctx.vault().profile().get("currency")
    if isinstance(own, str) and own:
        return own.upper(), "your profile's currency"
    counted = Counter(r.currency for r in rows if r.currency)
    if counted:
        return counted.most_common(1)[0][0], "the currency most of your records are in"
    raise NotEnoughDataError(
        "The currency of these amounts is unknown: set it in the profile (currency, such as EUR)."
    )


def money(ctx: Context, *, month: str | None = None) -> MoneySummary:
    """The spending of ``month`` (YYYY-MM; default: the newest month with money records)."""
    zone, zone_name = person_zone(ctx.vault().profile())
    now = datetime.now(UTC).astimezone(zone)
    first = parse_month(month) if month is not None else date(now.year, now.month, 1)
    since = day_start(_shift(first, -(MONEY_MONTHS - 1)), zone)
    until = day_start(_shift(first, 1), zone)
    rows = _rows(ctx, since, until, zone)
    if month is None and not any(r.at.date() >= first for r in rows):
        everything = _rows(ctx, datetime(1970, 1, 1, tzinfo=UTC), until, zone)
        if everything:  # nothing this month: the newest month there is
            newest = max(r.at for r in everything)
            first = date(newest.year, newest.month, 1)
            since = day_start(_shift(first, -(MONEY_MONTHS - 1)), zone)
            until = day_start(_shift(first, 1), zone)
            rows = [r for r in everything if since <= r.at < until]
    if not rows:
        raise NotEnoughDataError(
            f"There are no transactions or purchases of {ctx.person.name} that may be read for "
            "this in the six months up to "
            f"{first:%B %Y}."
        )
    currency, basis = _currency(ctx, rows)
    key = f"{first:%Y-%m}"
    ours = [r for r in rows if (r.currency or currency) == currency]
    months: dict[str, dict[str, float]] = {}
    income: dict[str, float] = defaultdict(float)
    for i in range(MONEY_MONTHS - 1, -1, -1):
        months[f"{_shift(first, -i):%Y-%m}"] = defaultdict(float)
    counts: Counter[str] = Counter()
    for r in ours:
        m = f"{r.at:%Y-%m}"
        if m not in months:
            continue
        if r.amount > 0 or r.category in INCOME:
            income[m] += max(r.amount, 0.0)
        else:
            months[m][r.category] += -r.amount
            if m == key:
                counts[r.category] += 1
    this = months[key]
    spent = round(sum(this.values()), 2)
    categories = [
        CategorySpend(
            category=c,
            label=label(c),
            amount=round(v, 2),
            count=counts[c],
            share_pct=round(100 * v / spent, 1) if spent else 0.0,
        )
        for c, v in sorted(this.items(), key=lambda cv: -cv[1])
    ]
    out = [r for r in ours if f"{r.at:%Y-%m}" == key and r.amount < 0]
    largest = [
        Payment(
            at=r.at, payee=r.payee, category=r.category, amount=round(-r.amount, 2), kind=r.kind
        )
        for r in sorted(out, key=lambda r: r.amount)[:LARGEST]
    ]
    trend = [
        MonthSpend(
            month=m,
            spent=round(sum(cats.values()), 2),
            income=round(income[m], 2),
            by_category={c: round(v, 2) for c, v in sorted(cats.items())},
        )
        for m, cats in months.items()
    ]
    # Months before the first record are not months without spending: they are left out,
    # and the first month counts as whole only when its records start in its first days.
    start = min(r.at for r in ours).date() if ours else first
    trend = [t for t in trend if t.month >= f"{start:%Y-%m}"]
    whole = [t for t in trend[:-1] if t.month > f"{start:%Y-%m}" or start.day <= 3]
    usual = round(statistics.fmean(t.spent for t in whole), 2) if whole else None
    other: dict[str, float] = defaultdict(float)
    for r in rows:
        if r.currency and r.currency != currency and f"{r.at:%Y-%m}" == key and r.amount < 0:
            other[r.currency] += -r.amount
    month_income = round(income[key], 2)
    complete = now.date() >= _shift(first, 1)
    return MoneySummary(
        person=ctx.person.name,
        time_zone=zone_name,
        currency=currency,
        currency_basis=basis,
        month=key,
        complete=complete,
        spent=spent,
        income=month_income,
        net=round(month_income - spent, 2),
        categories=categories,
        largest=largest,
        months=trend,
        usual_month_spent=usual,
        other_currencies={c: round(v, 2) for c, v in sorted(other.items())},
        sentence=_sentence(first, spent, categories, usual, currency, complete),
    )


def _sentence(
    first: date,
    spent: float,
    categories: list[CategorySpend],
    usual: float | None,
    currency: str,
    complete: bool,
) -> str:
    text = (
        f"{'In' if complete else 'So far in'} {first:%B %Y} you spent {money_text(spent, currency)}"
    )
    if categories:
        top = categories[0]
        text += f", most on {top.label.lower()} ({money_text(top.amount, currency)})"
    if usual is not None:
        text += f"; a whole month usually comes to {money_text(usual, currency)}"
    return text + "."
