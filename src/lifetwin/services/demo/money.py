"""The demo person's money, in euros: a current account's statement and online orders.

The statement holds what a salaried person in Berlin sees on their account: the salary
on the last banking day of the month, the rent and the monthly direct debits (transit
pass, phone and internet, electricity, subscriptions, the sports club, the pharmacy's
prescription co-payment), and card payments day by day — groceries (a big shop on
Saturday), the bakery, lunch on working days, dinner out at the weekend, the drugstore,
books, train tickets, cash from the machine. Online orders come from the shop's own
order history (paid by a credit card whose statement is not imported), so nothing is
counted twice. Amounts are negative for money out, as bank exports and the finance
connectors have them.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

CURRENCY = "EUR"


@dataclass(frozen=True)
class Money:
    """One movement of money (negative is money out)."""

    when: datetime
    amount: float
    payee: str
    category: str
    type: str  # card, direct_debit, credit_transfer, atm, online_order
    items: str | None = None


SALARY = ("Nordlicht Software GmbH", 3412.56)
# day of month, payee, amount, category
MONTHLY: tuple[tuple[int, str, float, str], ...] = (
    (1, "Hausverwaltung Graefe GmbH", -1150.00, "rent"),
    (1, "BVG Deutschlandticket", -63.00, "transport"),
    (1, "Urban Sports Club", -49.00, "sports"),
    (5, "Telekom Deutschland", -44.95, "utilities"),
    (8, "Apotheke am Kottbusser Tor", -10.00, "health"),
    (10, "Spotify", -11.99, "subscriptions"),
    (15, "Vattenfall Europe Sales", -72.00, "utilities"),
    (17, "Netflix", -13.99, "subscriptions"),
)


class Habit(NamedTuple):
    """A kind of card payment: how likely on a weekday, a Saturday and a Sunday."""

    category: str
    payees: tuple[str, ...]
    chance: tuple[float, float, float]
    low: float
    high: float
    hours: tuple[float, float]  # local time of day


HABITS: tuple[Habit, ...] = (
    Habit("groceries", ("REWE", "EDEKA", "Lidl", "ALDI Nord", "Bio Company"),
          (0.35, 0.9, 0.0), 6, 38, (17.5, 20)),
    Habit("bakery_and_cafe", ("Bäckerei Kiezbrot", "Café Landwehr"),
          (0.55, 0.5, 0.6), 2.5, 8.5, (7.8, 9.5)),
    Habit("eating_out", ("Imbiss am Görli", "Pho Hanoi Kreuzberg", "Kantine Ritterstraße"),
          (0.35, 0.0, 0.0), 8.5, 15, (12, 13.5)),
    Habit("eating_out", ("Trattoria Spreeblick", "Sushi am Kanal", "Curry Station"),
          (0.08, 0.5, 0.3), 22, 58, (19, 21.5)),
    Habit("household", ("dm-drogerie markt", "Rossmann"), (0.12, 0.2, 0.0), 4, 26, (17, 19.5)),
    Habit("books", ("Dussmann das KulturKaufhaus",), (0.04, 0.1, 0.0), 10, 32, (16, 19)),
    Habit("transport", ("DB Fernverkehr",), (0.03, 0.05, 0.05), 19.9, 49.9, (9, 21)),
    Habit("cash", ("Geldautomat Berliner Sparkasse",), (0.08, 0.12, 0.0), 50, 100, (10, 19)),
)  # fmt: skip
ORDER_ITEMS: tuple[tuple[str, float, str], ...] = (
    ("Running socks, 3 pairs", 14.99, "sports"),
    ("Energy gels, 12 pack", 21.50, "sports"),
    ("Bike inner tube 28 inch", 8.99, "sports"),
    ("Glucose tablets, 50", 6.49, "health"),
    ("Coffee beans, 1 kg", 24.90, "groceries"),
    ("USB-C charger", 19.99, "electronics"),
    ("Paperback: a Spanish short-story reader", 14.00, "books"),
    ("Rain jacket", 89.95, "clothing"),
    ("Reflective vest", 12.99, "sports"),
)


def _banking_day(day: date, forward: bool) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1 if forward else -1)
    return day


def statement(
    rng: np.random.Generator, first_day: date, end: datetime, zone: ZoneInfo
) -> list[Money]:
    """The account's movements from ``first_day`` (local) up to ``end``, oldest first.

    >>> from datetime import UTC
    >>> zone = ZoneInfo("Europe/Berlin")
    >>> rows = statement(np.random.default_rng(0), date(2026, 2, 1), datetime(2026, 3, 1, tzinfo=UTC), zone)
    >>> salary = [r for r in rows if r.category == "income"]
    >>> [(r.when.date().isoformat(), r.amount) for r in salary]
    [('2026-02-27', 3412.56)]
    >>> out = -sum(r.amount for r in rows if r.amount < 0)
    >>> 1800 < out < 3200, {r.category for r in rows} >= {"rent", "groceries", "transport", "subscriptions"}
    (True, True)
    """  # noqa: E501
    rows: list[Money] = []

    def at(day: date, hour: float) -> datetime:
        seconds = round(hour * 3600)  # to the second: no two payments at the same instant
        return datetime.combine(day, time(0), zone) + timedelta(seconds=seconds)

    day = first_day
    last = end.astimezone(zone).date()
    while day <= last:
        month_end = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
        if day == _banking_day(month_end, forward=False):
            rows.append(Money(at(day, 6.0), SALARY[1], SALARY[0], "income", "credit_transfer"))
        for i, (dom, payee, amount, category) in enumerate(MONTHLY):
            if day == _banking_day(date(day.year, day.month, dom), forward=True):
                booked = at(day, 7.0 + i / 60)
                rows.append(Money(booked, amount, payee, category, "direct_debit"))
        slot = 0 if day.weekday() < 5 else 1 if day.weekday() == 5 else 2
        for category, payees, chance, low, high, hours in HABITS:
            if rng.random() >= chance[slot]:
                continue
            payee = payees[int(rng.integers(len(payees)))]
            if category == "groceries" and slot == 1:
                low, high, hours = 35.0, 85.0, (10.0, 13.0)
            if category == "cash":
                amount = -float(rng.choice([50.0, 100.0]))
            else:
                amount = -round(float(rng.uniform(low, high)), 2)
            kind = "atm" if category == "cash" else "card"
            rows.append(Money(at(day, float(rng.uniform(*hours))), amount, payee, category, kind))
        day += timedelta(days=1)
    ordered = sorted(rows, key=lambda r: r.when)
    for i in range(1, len(ordered)):  # a statement's entries at distinct instants
        if ordered[i].when <= ordered[i - 1].when:
            ordered[i] = replace(ordered[i], when=ordered[i - 1].when + timedelta(seconds=1))
    return [r for r in ordered if r.when <= end]


def online_orders(
    rng: np.random.Generator, first_day: date, end: datetime, zone: ZoneInfo
) -> list[Money]:
    """Orders from an online shop's history: one or two items, VAT included."""
    rows: list[Money] = []
    day = first_day
    last = end.astimezone(zone).date()
    while day <= last:
        if rng.random() < 0.08:
            picks = rng.choice(len(ORDER_ITEMS), size=int(rng.integers(1, 3)), replace=False)
            chosen = [ORDER_ITEMS[int(i)] for i in picks]
            total = round(sum(price for _name, price, _cat in chosen), 2)
            when = datetime.combine(day, time(0), zone) + timedelta(
                minutes=int(rng.integers(19 * 60, 23 * 60))
            )
            rows.append(
                Money(
                    when,
                    -total,
                    "Online shop",
                    chosen[0][2],
                    "online_order",
                    "; ".join(name for name, _price, _cat in chosen),
                )
            )
        day += timedelta(days=1)
    return [r for r in rows if r.when <= end]
