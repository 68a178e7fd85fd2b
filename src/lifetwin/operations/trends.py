"""Trends, as an operation: each numeric metric day by day over the last month, with the
means of this week, the week before and the month — what the overview's sparklines draw.

A day's value is its total for metrics counted over intervals (steps, energy; the largest
of the sources' totals, so two devices do not double a day) and its mean for the others
(heart rate, weight). Days are the person's own (profile fact ``time_zone``).
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta

import numpy as np
from pydantic import BaseModel, Field

from lifetwin.core.vocabulary import Kind, metrics
from lifetwin.operations.context import Context
from lifetwin.operations.local_time import day_start, local_minutes, person_zone

TREND_DAYS = 30
MIN_TREND_DAYS = 4  # a metric needs values on this many of the days to have a trend


class Trend(BaseModel):
    metric: str
    name: str
    unit: str
    how: str = Field(description="daily total or daily mean")
    days: list[float | None] = Field(description=f"the last {TREND_DAYS} days, oldest first")
    week_mean: float | None
    previous_week_mean: float | None
    month_mean: float | None
    change_pct: float | None = Field(description="this week's mean against the week before")
    sentence: str


class TrendList(BaseModel):
    """Each numeric metric's last month, day by day (for sparklines)."""

    person: str
    time_zone: str
    first_day: date
    last_day: date
    items: list[Trend]


def _mean(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return statistics.fmean(found) if found else None


def _digits(value: float) -> int:
    return 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2


def _shown(value: float, unit: str) -> str:
    if unit == "min" and abs(value) >= 60:
        hours, minutes = divmod(round(abs(value)), 60)
        return f"{'-' if value < 0 else ''}{hours} h {minutes} min"
    text = f"{value:,.{_digits(value)}f}"
    return text if unit in ("count", "dimensionless", "") else f"{text} {unit}"


def _sentence(
    name: str, week: float | None, before: float | None, unit: str, how: str, signed: bool
) -> str:
    if week is None:
        return f"No {name.lower()} in the last 7 days."
    per = " a day" if how == "daily total" else " on average"
    text = f"This week {_shown(week, unit)}{per}"
    if before is not None and signed:  # a scale through zero: a difference, not a percentage
        diff = week - before
        if abs(diff) < 10 ** -_digits(week):
            text += ", as the week before"
        else:
            higher = "higher" if diff > 0 else "lower"
            text += f", {_shown(abs(diff), unit)} {higher} than the week before"
    elif before:
        change = (week - before) / abs(before) * 100
        if abs(change) < 2:
            text += ", as the week before"
        else:
            text += f", {abs(change):.0f} % {'more' if change > 0 else 'less'} than the week before"
    return text + "."


def trends(ctx: Context, *, days: int = TREND_DAYS) -> TrendList:
    """The last ``days`` days (7 to 366) of every numeric metric the caller may read."""
    days = min(max(days, 7), 366)
    vault = ctx.vault()
    zone, zone_name = person_zone(vault.profile())
    last = datetime.now(UTC).astimezone(zone).date()
    first = last - timedelta(days=days - 1)
    visible = vault.visible_streams(ctx.purpose, ctx.recipient)
    held = {s.metric for s in visible if s.numeric}
    units = {s.metric: s.unit for s in visible if s.numeric}
    base = (first - date(1970, 1, 1)).days
    items: list[Trend] = []
    for m in metrics():
        if m.code not in held or not m.is_numeric or m.unit == "currency":
            continue  # money has its own summary: a day's mean payment is no trend
        data = vault.read_series(
            m.code,
            purpose=ctx.purpose,
            recipient=ctx.recipient,
            since=day_start(first, zone),
            until=day_start(last + timedelta(days=1), zone),
        )
        if not len(data):
            continue
        index = local_minutes(data.ts_ms, zone) // 1440 - base
        ok = (index >= 0) & (index < days)
        index, values = index[ok], data.values[ok]
        source = data.stream_index.astype(np.int64)[ok]
        totals = m.kind is Kind.INTERVAL
        if totals:
            # per day, the largest of the sources' sums
            sums = np.zeros((days, int(source.max(initial=0)) + 1))
            np.add.at(sums, (index, source), values)
            counted = np.zeros(days, dtype=np.int64)
            np.add.at(counted, index, 1)
            daily = np.where(counted > 0, sums.max(axis=1), np.nan)
        else:
            counts = np.bincount(index, minlength=days)
            sums_1d = np.bincount(index, weights=values, minlength=days)
            with np.errstate(invalid="ignore", divide="ignore"):
                daily = np.where(counts > 0, sums_1d / np.maximum(counts, 1), np.nan)
        if np.count_nonzero(np.isfinite(daily)) < MIN_TREND_DAYS:
            continue
        digits = _digits(float(np.nanmax(np.abs(daily))))
        series = [None if not np.isfinite(v) else round(float(v), digits + 1) for v in daily]
        week, before = _mean(series[-7:]), _mean(series[-14:-7])
        unit = m.unit if m.unit != "currency" else units.get(m.code, "")
        how = "daily total" if totals else "daily mean"
        signed = m.minimum is not None and m.minimum < 0
        items.append(
            Trend(
                metric=m.code,
                name=m.name,
                unit=unit,
                how=how,
                days=series,
                week_mean=None if week is None else round(week, digits + 1),
                previous_week_mean=None if before is None else round(before, digits + 1),
                month_mean=None if (mm := _mean(series)) is None else round(mm, digits + 1),
                change_pct=(
                    round((week - before) / abs(before) * 100, 1)
                    if week is not None and before and not signed
                    else None
                ),
                sentence=_sentence(m.name, week, before, unit, how, signed),
            )
        )
    return TrendList(
        person=ctx.person.name, time_zone=zone_name, first_day=first, last_day=last, items=items
    )
