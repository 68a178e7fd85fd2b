"""Sleep, as an operation: one night's hypnogram and totals, against the person's usual,
and the nights of the last week and month.

:func:`sleep` reads the ``sleep_stage`` records (and, for nights without stages, the
nightly ``sleep_duration``) through the consent gate for the caller's purpose and returns a
:class:`SleepSummary`. The command line (``lifetwin sleep``), the API
(``GET /api/v1/persons/{id}/sleep``) and the dashboard's sleep page all call it.

A night is named by the date of the evening it began (the night of Saturday 14 November
runs into Sunday morning): a session of stages belongs to the night of the local date 12
hours before it started. When several sources recorded the same night (a watch and a
ring), the one with the most sleep recorded is shown and the others are named. Times are
on the person's clock (profile fact ``time_zone``), the zone named in ``time_zone``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from lifetwin.core.errors import NotEnoughDataError
from lifetwin.core.model import Observation
from lifetwin.operations.context import Context
from lifetwin.operations.local_time import clock, from_ms, person_zone
from lifetwin.packs.sleep.nights import (
    MINUTE_MS,
    STAGES,
    clock_mean_min,
    night_totals,
    split_sessions,
)

SLEEP_NIGHTS = 30  # the nights listed (the month's trend)
USUAL_NIGHTS = 28  # the nights before that make "usual"
SESSION_GAP_H = 3.0  # no record for longer than this: a new sleep session
STAGE_LABELS = {
    "awake": "Awake",
    "rem": "REM",
    "light": "Light",
    "deep": "Deep",
    "asleep": "Asleep (no stage)",
    "in_bed": "In bed",
}


class SleepSegment(BaseModel):
    stage: str
    start: datetime
    end: datetime
    minutes: float


class NightView(BaseModel):
    """One night's totals (minutes), bed and wake times on the person's clock."""

    night: date = Field(description="the date of the evening the night began")
    bed_time: datetime
    wake_time: datetime
    in_bed_min: float
    asleep_min: float
    awake_min: float
    efficiency_pct: float | None = Field(description="asleep / in bed, %")
    latency_min: float | None = Field(description="from going to bed to the first sleep")
    wake_ups: int
    stages: dict[str, float] = Field(description="minutes per stage recorded")
    staged: bool = Field(description="whether light, deep and REM sleep were told apart")
    source: str


class SleepPeriod(BaseModel):
    """Averages over a run of nights (None where there are none)."""

    label: str
    first: date | None
    last: date | None
    nights: int
    asleep_min: float | None
    efficiency_pct: float | None
    bed_time: str | None = Field(description="mean bedtime, HH:MM on the person's clock")
    wake_time: str | None
    stages: dict[str, float] = Field(description="mean minutes per stage, staged nights")


class SleepSummary(BaseModel):
    """A night (the newest, or the one asked for) with its hypnogram, against the
    person's usual, and the nights of the last week and month."""

    person: str
    time_zone: str = Field(description="the zone every time here is shown in")
    night: NightView
    hypnogram: list[SleepSegment]
    usual: SleepPeriod = Field(description=f"the up to {USUAL_NIGHTS} nights before this one")
    vs_usual_min: float | None = Field(description="minutes asleep more (+) or less than usual")
    sentence: str
    nights: list[NightView] = Field(description=f"the last {SLEEP_NIGHTS} nights, oldest first")
    week: SleepPeriod
    previous_week: SleepPeriod
    month: SleepPeriod
    previous_night: date | None
    next_night: date | None
    other_sources: list[str]


def hours_minutes(minutes: float) -> str:
    """A duration people read at a glance.

    >>> hours_minutes(432.4), hours_minutes(45), hours_minutes(-75)
    ('7 h 12 min', '45 min', '-1 h 15 min')
    """
    sign = "-" if minutes < 0 else ""
    whole = round(abs(minutes))
    h, m = divmod(whole, 60)
    return f"{sign}{h} h {m} min" if h else f"{sign}{m} min"


def _night_of(start: datetime) -> date:
    return (start - timedelta(hours=12)).date()


def _nights_from_stages(items: list[Observation], zone: tzinfo) -> dict[date, list[_Night]]:
    by_source: dict[str, list[Observation]] = defaultdict(list)
    for item in items:
        if item.end is not None and item.end > item.start and isinstance(item.value, str):
            by_source[item.source].append(item)
    found: dict[date, list[_Night]] = defaultdict(list)
    gap_ms = int(SESSION_GAP_H * 3_600_000)
    for source, records in by_source.items():
        starts = np.array([int(r.start.timestamp() * 1000) for r in records], dtype=np.int64)
        ends = np.array([int(r.end.timestamp() * 1000) for r in records if r.end], dtype=np.int64)
        grouped: dict[date, list[int]] = defaultdict(list)
        for session in split_sessions(starts, ends, gap_ms):
            night = _night_of(from_ms(int(starts[session[0]]), zone))
            grouped[night].extend(session.tolist())
        for night, index in grouped.items():
            chosen = sorted(index, key=lambda i: (starts[i], ends[i]))
            found[night].append(
                _Night(
                    source,
                    [str(records[i].value) for i in chosen],
                    starts[chosen],
                    ends[chosen],
                )
            )
    return found


class _Night:
    """One source's record of one night."""

    def __init__(self, source: str, stages: list[str], starts: Any, ends: Any) -> None:
        self.source = source
        self.stage_list = stages
        self.starts = starts
        self.ends = ends
        self.totals = night_totals(stages, starts, ends) if stages else None
        self.plain: tuple[int, int, float] | None = None  # bed ms, wake ms, asleep min

    @classmethod
    def from_total(cls, source: str, bed_ms: int, wake_ms: int, asleep_min: float) -> _Night:
        made = cls(source, [], np.array([], dtype=np.int64), np.array([], dtype=np.int64))
        made.plain = (bed_ms, wake_ms, asleep_min)
        return made

    @property
    def asleep_min(self) -> float:
        if self.totals is not None:
            return self.totals.asleep_min
        return self.plain[2] if self.plain else 0.0

    def view(self, night: date, zone: tzinfo) -> NightView:
        t = self.totals
        if t is not None:
            staged = any(s in t.stages for s in ("light", "deep", "rem"))
            return NightView(
                night=night,
                bed_time=from_ms(t.bed_ms, zone),
                wake_time=from_ms(t.wake_ms, zone),
                in_bed_min=t.in_bed_min,
                asleep_min=t.asleep_min,
                awake_min=t.awake_min,
                efficiency_pct=t.efficiency_pct,
                latency_min=t.latency_min,
                wake_ups=t.wake_ups,
                stages=t.stages,
                staged=staged,
                source=self.source,
            )
        assert self.plain is not None
        bed, wake, asleep = self.plain
        in_bed = max((wake - bed) / MINUTE_MS, asleep)
        return NightView(
            night=night,
            bed_time=from_ms(bed, zone),
            wake_time=from_ms(wake, zone),
            in_bed_min=round(in_bed, 1),
            asleep_min=round(asleep, 1),
            awake_min=round(in_bed - asleep, 1),
            efficiency_pct=round(100 * asleep / in_bed, 1) if in_bed > 0 else None,
            latency_min=None,
            wake_ups=0,
            stages={},
            staged=False,
            source=self.source,
        )

    def segments(self, zone: tzinfo) -> list[SleepSegment]:
        shown = [i for i, s in enumerate(self.stage_list) if s != "in_bed"]
        if not shown:
            shown = list(range(len(self.stage_list)))
        return [
            SleepSegment(
                stage=self.stage_list[i],
                start=from_ms(int(self.starts[i]), zone),
                end=from_ms(int(self.ends[i]), zone),
                minutes=round((int(self.ends[i]) - int(self.starts[i])) / MINUTE_MS, 1),
            )
            for i in shown
        ]


def _period(label: str, nights: list[NightView]) -> SleepPeriod:
    def mean(values: list[float]) -> float | None:
        return round(statistics.fmean(values), 1) if values else None

    def clock_of(times: list[datetime]) -> str | None:
        found = clock_mean_min(np.array([t.hour * 60 + t.minute for t in times], dtype=float))
        return None if found is None else clock(found)

    staged = [n for n in nights if n.staged]
    stages = {
        s: round(statistics.fmean(n.stages.get(s, 0.0) for n in staged), 1)
        for s in STAGES
        if any(s in n.stages for n in staged)
    }
    return SleepPeriod(
        label=label,
        first=nights[0].night if nights else None,
        last=nights[-1].night if nights else None,
        nights=len(nights),
        asleep_min=mean([n.asleep_min for n in nights]),
        efficiency_pct=mean([n.efficiency_pct for n in nights if n.efficiency_pct is not None]),
        bed_time=clock_of([n.bed_time for n in nights]),
        wake_time=clock_of([n.wake_time for n in nights]),
        stages=stages,
    )


def _read(ctx: Context, since: datetime | None, zone: tzinfo) -> dict[date, list[_Night]]:
    vault = ctx.vault()
    records = vault.read_records(
        "sleep_stage", purpose=ctx.purpose, recipient=ctx.recipient, since=since
    )
    items = [r for r in records.items if isinstance(r, Observation)]
    nights = _nights_from_stages(items, zone)
    totals = vault.read_series(
        "sleep_duration", purpose=ctx.purpose, recipient=ctx.recipient, since=since
    )
    for k in range(len(totals)):
        bed = int(totals.ts_ms[k])
        asleep = float(totals.values[k])
        wake = bed + max(int(totals.columns.dur_ms[k]), round(asleep * MINUTE_MS))
        night = _night_of(from_ms(bed, zone))
        source = totals.streams[int(totals.stream_index[k])].source
        if not any(n.source == source for n in nights.get(night, [])):
            nights[night].append(_Night.from_total(source, bed, wake, asleep))
    return nights


def _zone(ctx: Context) -> tuple[tzinfo, str]:
    return person_zone(ctx.vault().profile())


def sleep(ctx: Context, *, night: date | None = None) -> SleepSummary:
    """The night of ``night`` (the evening's date; default: the newest night recorded)."""
    zone, zone_name = _zone(ctx)
    reach = timedelta(days=SLEEP_NIGHTS + USUAL_NIGHTS + 3)
    if night is not None:
        since = datetime.combine(night, datetime.min.time(), zone) - reach
    else:
        since = datetime.now(UTC) - reach
    held = _read(ctx, since, zone)
    if not held and night is None:  # nothing lately: an import from the past
        held = _read(ctx, None, zone)
    if not held:
        raise NotEnoughDataError(
            f"There is no sleep of {ctx.person.name} that may be read for this "
            "(no sleep stages or nightly totals)."
        )
    known = sorted(held)
    chosen_night = known[-1] if night is None else night
    if chosen_night not in held:
        raise NotEnoughDataError(
            f"There is no sleep recorded for the night of {chosen_night:%a %d %b %Y} "
            f"(the nights held run from {known[0]:%d %b %Y} to {known[-1]:%d %b %Y})."
        )
    best = {n: max(held[n], key=lambda x: (x.asleep_min, x.source)) for n in known}
    views = {n: best[n].view(n, zone) for n in known}
    before = [n for n in known if n < chosen_night]
    upto = [views[n] for n in known if n <= chosen_night]
    shown = views[chosen_night]
    usual = _period("usual", [views[n] for n in before[-USUAL_NIGHTS:]])
    vs = None if usual.asleep_min is None else round(shown.asleep_min - usual.asleep_min, 1)
    recent = [v for v in upto if (chosen_night - v.night).days < SLEEP_NIGHTS]
    week = [v for v in upto if (chosen_night - v.night).days < 7]
    last_week = [v for v in upto if 7 <= (chosen_night - v.night).days < 14]
    later = [n for n in known if n > chosen_night]
    return SleepSummary(
        person=ctx.person.name,
        time_zone=zone_name,
        night=shown,
        hypnogram=best[chosen_night].segments(zone),
        usual=usual,
        vs_usual_min=vs,
        sentence=_sentence(shown, vs, zone_name),
        nights=recent,
        week=_period("last 7 nights", week),
        previous_week=_period("the 7 nights before", last_week),
        month=_period(f"last {SLEEP_NIGHTS} nights", recent),
        previous_night=before[-1] if before else None,
        next_night=later[0] if later else None,
        other_sources=sorted({x.source for x in held[chosen_night]} - {shown.source}),
    )


def _sentence(night: NightView, vs_usual: float | None, zone_name: str) -> str:
    text = (
        f"You slept {hours_minutes(night.asleep_min)} "
        f"({night.bed_time:%H:%M} to {night.wake_time:%H:%M} {zone_name})"
    )
    if vs_usual is not None:
        if abs(vs_usual) < 5:
            text += ", about as long as usual"
        else:
            more = "more" if vs_usual > 0 else "less"
            text += f", {hours_minutes(abs(vs_usual))} {more} than usual"
    if night.efficiency_pct is not None:
        text += f"; asleep {night.efficiency_pct:g} % of your time in bed"
    return text + "."
