"""What a vault holds: the person, their streams, a metric's values, the quarantine."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError
from lifetwin.core.model import Event, Observation
from lifetwin.core.vocabulary import metric
from lifetwin.operations.context import Context
from lifetwin.services.importer import ImportSummary
from lifetwin.services.overview import summarize

MAX_POINTS = 10_000


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def parse_time(text: str | None, what: str) -> datetime | None:
    """An ISO 8601 time or a YYYY-MM-DD date (UTC when no offset is given)."""
    if text is None or text == "":
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise LifeTwinError(f"'{text}' is not a time for {what} (use ISO 8601).") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _iso_many(ms: npt.NDArray[np.int64]) -> list[str]:
    text = np.datetime_as_string(ms.astype("datetime64[ms]").astype("datetime64[s]"), unit="s")
    return [t + "Z" for t in text.tolist()]


def _rounded(values: npt.NDArray[np.float64], digits: int = 3) -> list[float | None]:
    out = np.round(values, digits).astype(object)
    out[~np.isfinite(values)] = None
    result: list[float | None] = out.tolist()
    return result


def num(value: float | None, digits: int = 2) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits)


def _day(days_since_epoch: int) -> str:
    return (date(1970, 1, 1) + timedelta(days=days_since_epoch)).isoformat()


# -- imports --------------------------------------------------------------------------------
class ProblemView(BaseModel):
    file: str | None
    line: int | None
    reason: str


class ImportResult(BaseModel):
    """What an import did, for the person to read."""

    file: str
    format: str
    read: int
    stored: int
    duplicates: int
    changed: int
    quarantined: int
    problem_count: int
    problems: list[ProblemView]
    skipped: dict[str, int]
    fatal: str | None
    warnings: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, s: ImportSummary) -> ImportResult:
        return cls(
            file=s.file,
            format=s.format,
            read=s.read,
            stored=s.stored,
            duplicates=s.duplicates,
            changed=s.changed,
            quarantined=s.quarantined,
            problem_count=s.problem_count,
            problems=[
                ProblemView(file=p.file, line=p.line, reason=p.reason) for p in s.problems[:100]
            ],
            skipped=dict(s.skipped),
            fatal=s.fatal,
            warnings=list(s.warnings),
        )


# -- the person -------------------------------------------------------------------------------
class PersonView(BaseModel):
    id: str
    name: str
    created: datetime
    streams: int


class StreamView(BaseModel):
    metric: str
    source: str
    device: str | None
    unit: str
    numeric: bool
    last_day: str | None


class StreamList(BaseModel):
    items: list[StreamView]
    next: str | None = None


def streams(ctx: Context) -> StreamList:
    """The streams the caller's purpose may see, with the day of their newest data."""
    vault = ctx.vault()
    last = vault.stream_last_days()
    visible = vault.visible_streams(ctx.purpose, ctx.recipient)
    items = [
        StreamView(
            metric=s.metric,
            source=s.source,
            device=s.device,
            unit=s.unit,
            numeric=s.numeric,
            last_day=_day(last[s.id]) if s.id in last else None,
        )
        for s in visible
    ]
    vault.log_event("view", ctx.purpose.value, what="streams", recipient=ctx.recipient)
    return StreamList(items=items)


def person(ctx: Context) -> PersonView:
    vault = ctx.vault()
    visible = vault.visible_streams(ctx.purpose, ctx.recipient)
    vault.log_event("view", ctx.purpose.value, what="person", recipient=ctx.recipient)
    return PersonView(
        id=ctx.person.id, name=ctx.person.name, created=ctx.person.created, streams=len(visible)
    )


# -- a metric's values ----------------------------------------------------------------------------
class Point(BaseModel):
    t: str
    ms: int
    value: float | None = None
    mean: float | None = None
    min: float | None = None
    max: float | None = None
    n: int | None = None


class SeriesPage(BaseModel):
    metric: str
    name: str
    unit: str
    every_s: int | None
    points: list[Point]
    next_after_ms: int | None
    sources: list[str]


def series(
    ctx: Context,
    code: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    every_s: int | None = None,
    limit: int = 5000,
    after_ms: int | None = None,
) -> SeriesPage:
    """A metric's values in a time range, optionally averaged into buckets of ``every_s``
    seconds; at most ``limit`` points, then a cursor for the next page."""
    m = metric(code)
    if not m.is_numeric:
        raise LifeTwinError(f"{m.code} is not a numeric metric; read it as records.")
    data = ctx.vault().read_series(
        m.code, purpose=ctx.purpose, recipient=ctx.recipient, since=since, until=until
    )
    ts, values = data.ts_ms, data.values
    if after_ms is not None:
        keep = ts > after_ms
        ts, values = ts[keep], values[keep]
    points: list[Point]
    if every_s:
        bucket = ts // (every_s * 1000)
        starts = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]]) if len(ts) else ts
        counts = np.diff(np.r_[starts, len(ts)])
        means = np.add.reduceat(values, starts) / counts if len(ts) else values
        lows = np.minimum.reduceat(values, starts) if len(ts) else values
        highs = np.maximum.reduceat(values, starts) if len(ts) else values
        at = bucket[starts] * every_s * 1000
        points = [
            Point(t=t, ms=ms, mean=mean, min=lo, max=hi, n=n)
            for t, ms, mean, lo, hi, n in zip(
                _iso_many(at),
                at.tolist(),
                _rounded(means),
                _rounded(lows),
                _rounded(highs),
                counts.tolist(),
                strict=True,
            )
        ]
    else:
        points = [
            Point(t=t, ms=ms, value=v)
            for t, ms, v in zip(_iso_many(ts), ts.tolist(), _rounded(values), strict=True)
        ]
    page, more = points[:limit], len(points) > limit
    return SeriesPage(
        metric=m.code,
        name=m.name,
        unit=m.unit,
        every_s=every_s,
        points=page,
        next_after_ms=page[-1].ms if more and page else None,
        sources=sorted({s.source for s in data.streams}),
    )


# -- holdings (lifetwin show) --------------------------------------------------------------------
class Holding(BaseModel):
    metric: str
    source: str
    device: str | None
    count: int
    first: datetime | None
    last: datetime | None


class Holdings(BaseModel):
    person: str
    streams: list[Holding]
    quarantined: int


def holdings(ctx: Context) -> Holdings:
    """Every stream the person holds, with its count and first and last time."""
    vault = ctx.vault()
    rows = [
        Holding(
            metric=r.stream.metric,
            source=r.stream.source,
            device=r.stream.device,
            count=r.count,
            first=r.first,
            last=r.last,
        )
        for r in summarize(vault)
    ]
    return Holdings(
        person=ctx.person.name,
        streams=rows,
        quarantined=len(vault.quarantined(purpose=ctx.purpose)),
    )


class ValueRow(BaseModel):
    start: datetime
    end: datetime | None
    value: float | str | None
    unit: str | None
    source: str
    details: dict[str, object] | None = None


class MetricValues(BaseModel):
    metric: str
    name: str
    unit: str
    count: int
    minimum: float | None = None
    mean: float | None = None
    maximum: float | None = None
    latest: list[ValueRow]


def metric_values(
    ctx: Context,
    code: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 20,
) -> MetricValues:
    """The values of one metric (or ``event:KIND``): count, range and the latest ones."""
    vault = ctx.vault()
    if code.startswith("event:"):
        records = vault.read_records(code, purpose=ctx.purpose, since=since, until=until)
        rows = [
            ValueRow(
                start=r.start,
                end=r.end,
                value=r.title if isinstance(r, Event) else None,
                unit=None,
                source=r.source,
                details=dict(r.details) if isinstance(r, Event) else None,
            )
            for r in list(records)[-limit:]
        ]
        return MetricValues(
            metric=code, name=code.removeprefix("event:"), unit="", count=len(records), latest=rows
        )
    m = metric(code)
    if m.is_numeric:
        data = vault.read_series(m.code, purpose=ctx.purpose, since=since, until=until)
        values = data.values
        rows = [
            ValueRow(
                start=o.start,
                end=o.end,
                value=float(o.value) if isinstance(o.value, float | int) else o.value,
                unit=o.unit,
                source=o.source,
            )
            for o in vault.series_observations(data.tail(limit))
        ]
        result = MetricValues(
            metric=m.code,
            name=m.name,
            unit=data.unit,
            count=len(data),
            minimum=num(float(values.min()), 4) if len(values) else None,
            mean=num(float(values.mean()), 4) if len(values) else None,
            maximum=num(float(values.max()), 4) if len(values) else None,
            latest=rows,
        )
        if m.code == "glucose":
            from lifetwin.operations.glucose import values_in_unit

            result = values_in_unit(result, vault.profile())
        return result
    found = vault.read_records(m.code, purpose=ctx.purpose, since=since, until=until)
    observations = [r for r in found if isinstance(r, Observation)]
    rows = [
        ValueRow(start=o.start, end=o.end, value=o.value, unit=o.unit, source=o.source)
        for o in observations[-limit:]
    ]
    return MetricValues(
        metric=m.code, name=m.name, unit=m.unit, count=len(observations), latest=rows
    )
