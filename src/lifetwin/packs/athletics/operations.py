"""Activity and workouts, as operations: the day's totals against the person's usual, the
last week and month day by day, the workout list, and one workout with its heart-rate
curve, zones, splits and route.

* :func:`activity` — steps, active energy, distance, exercise minutes and flights of a day
  (today by default), each with the usual day and (today) the usual total by this time of
  day, the last 30 days, and the means of this week, the week before and the month;
* :func:`workouts` — the ``event:workout`` records of the last year, newest first;
* :func:`workout` — one of them by its id: distance, duration, pace or speed, the heart
  rate recorded during it, the time in each heart-rate zone (zones from the profile fact
  ``max_heart_rate_bpm``, else 220 − age, saying which), kilometre splits, and the GPS
  track projected to metres with a scale bar (drawn without map tiles).

Each reads through the consent gate for the caller's purpose; the command line
(``lifetwin activity``, ``lifetwin workouts``, ``lifetwin workout``), the API and the
dashboard's activity pages call them. Times are on the person's clock (profile fact
``time_zone``), the zone named in ``time_zone``.
"""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.core.model import Event
from lifetwin.core.vocabulary import metric
from lifetwin.operations.context import Context
from lifetwin.operations.local_time import day_start, local_minutes, person_zone
from lifetwin.packs.athletics import workouts as calc

ACTIVITY_DAYS = 30  # days in the month's trend
USUAL_DAYS = 28  # days before the day that make "usual"
ACTIVITY_METRICS = ("steps", "active_energy", "distance", "exercise_minutes", "flights_climbed")
WORKOUT_DAYS = 365  # how far back the workout list reaches
ROUTE_POINTS = 1500  # at most this many points of a track are drawn
PACE_SPORTS = ("run", "walk", "hik", "jog")  # sports shown with a pace (min/km), not a speed


# -- activity ----------------------------------------------------------------------------
class DayTotal(BaseModel):
    day: date
    value: float | None


class ActivityMetric(BaseModel):
    """One activity metric's day against the person's usual."""

    metric: str
    name: str
    unit: str
    total: float | None = Field(description="the day's total (so far, for today)")
    usual_by_now: float | None = Field(
        description="today only: the usual total by this time of day (median of earlier days)"
    )
    usual_day: float | None = Field(
        description=f"median daily total of the {USUAL_DAYS} days before"
    )
    days: list[DayTotal] = Field(description=f"the last {ACTIVITY_DAYS} days, oldest first")
    week_mean: float | None
    previous_week_mean: float | None
    month_mean: float | None
    sources: list[str]


class WorkoutSummary(BaseModel):
    id: str = Field(description="the workout's id (for `lifetwin workout` and the API)")
    title: str
    start: datetime
    end: datetime | None
    duration_min: float | None
    distance_m: float | None
    energy_kcal: float | None
    avg_heart_rate_bpm: float | None
    max_heart_rate_bpm: float | None
    ascent_m: float | None
    pace_min_per_km: float | None = Field(description="for runs, walks and hikes")
    speed_km_h: float | None
    has_route: bool
    source: str
    device: str | None


class ActivitySummary(BaseModel):
    """A day's activity: totals against the usual, and the month day by day."""

    person: str
    time_zone: str
    day: date
    today: bool
    as_of: datetime = Field(description="the day's totals count what was recorded before this")
    metrics: list[ActivityMetric]
    recent_workouts: list[WorkoutSummary]
    sentence: str


def _zone(ctx: Context) -> tuple[tzinfo, str]:
    return person_zone(ctx.vault().profile())


def _mean(values: list[float | None]) -> float | None:
    found = [v for v in values if v is not None]
    return round(statistics.fmean(found), 1) if found else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _metric_day(
    ctx: Context, code: str, day: date, zone: tzinfo, now: datetime, is_today: bool
) -> ActivityMetric | None:
    m = metric(code)
    first = day - timedelta(days=max(ACTIVITY_DAYS, USUAL_DAYS + 1))
    data = ctx.vault().read_series(
        code,
        purpose=ctx.purpose,
        recipient=ctx.recipient,
        since=day_start(first, zone),
        until=day_start(day + timedelta(days=1), zone),
    )
    if not len(data):
        return None
    minutes = local_minutes(data.ts_ms, zone)
    days = minutes // 1440
    sources = data.stream_index.astype(np.int64)
    totals = calc.daily_totals(days, sources, data.values)
    epoch = date(1970, 1, 1)
    index = (day - epoch).days
    before = [totals[d] for d in range(index - USUAL_DAYS, index) if d in totals]
    by_now = None
    if is_today:
        clock = int(local_minutes(np.array([int(now.timestamp() * 1000)]), zone)[0]) % 1440
        early = minutes % 1440 < clock
        upto = calc.daily_totals(days[early], sources[early], data.values[early])
        by_now = _median(
            [upto.get(d, 0.0) for d in range(index - USUAL_DAYS, index) if d in totals]
        )
    series = [
        DayTotal(
            day=epoch + timedelta(days=d),
            value=round(totals[d], 1) if d in totals else None,
        )
        for d in range(index - ACTIVITY_DAYS + 1, index + 1)
    ]
    values = [p.value for p in series]
    return ActivityMetric(
        metric=m.code,
        name=m.name,
        unit=m.unit,
        total=round(totals[index], 1) if index in totals else (0.0 if is_today else None),
        usual_by_now=by_now,
        usual_day=_median(before),
        days=series,
        week_mean=_mean(values[-7:]),
        previous_week_mean=_mean(values[-14:-7]),
        month_mean=_mean(values),
        sources=sorted({s.source for s in data.streams}),
    )


def activity(ctx: Context, *, day: date | None = None) -> ActivitySummary:
    """The activity of ``day`` (default: today on the person's clock)."""
    zone, zone_name = _zone(ctx)
    now = datetime.now(UTC)
    today = now.astimezone(zone).date()
    chosen = day or today
    if chosen > today:
        raise LifeTwinError(f"{chosen.isoformat()} is in the future.")
    is_today = chosen == today
    found = [
        m
        for code in ACTIVITY_METRICS
        if (m := _metric_day(ctx, code, chosen, zone, now, is_today)) is not None
    ]
    recent = _workout_summaries(ctx, zone, since=day_start(chosen - timedelta(days=13), zone))
    recent = [w for w in recent if w.start.date() <= chosen][:5]
    if not found and not recent:
        raise NotEnoughDataError(
            f"There is no activity of {ctx.person.name} that may be read for this (steps, "
            "energy, distance or workouts)."
        )
    as_of = now if is_today else day_start(chosen + timedelta(days=1), zone)
    return ActivitySummary(
        person=ctx.person.name,
        time_zone=zone_name,
        day=chosen,
        today=is_today,
        as_of=as_of.astimezone(zone),
        metrics=found,
        recent_workouts=recent,
        sentence=_activity_sentence(found, is_today),
    )


def _amount(value: float, unit: str) -> str:
    if unit == "m":
        return f"{value / 1000:.1f} km"
    if unit in ("count", "dimensionless", ""):
        return f"{value:,.0f}"
    return f"{value:,.0f} {unit}"


def _activity_sentence(found: list[ActivityMetric], is_today: bool) -> str:
    parts = []
    for m in found:
        if m.metric not in ("steps", "active_energy") or m.total is None:
            continue
        what = "steps" if m.metric == "steps" else "of active energy"
        text = f"{_amount(m.total, m.unit)} {what}"
        usual = m.usual_by_now if is_today else m.usual_day
        if usual:
            text += f" (usually {_amount(usual, m.unit)}{' by now' if is_today else ''})"
        parts.append(text)
    if not parts:
        return "No steps or energy recorded for this day."
    return ("So far today: " if is_today else "That day: ") + " and ".join(parts) + "."


# -- workouts ------------------------------------------------------------------------------
class WorkoutList(BaseModel):
    person: str
    time_zone: str
    days: int = Field(description="how far back the list reaches")
    items: list[WorkoutSummary] = Field(description="newest first")
    last_7_days: dict[str, float] = Field(description="count, distance_km, duration_min")
    last_30_days: dict[str, float]


class HeartRateSample(BaseModel):
    minute: float = Field(description="minutes after the start")
    bpm: float


class ZoneView(BaseModel):
    zone: int = Field(description="0: below zone 1; 1-5: the zones")
    name: str
    low_bpm: float | None
    high_bpm: float | None
    minutes: float
    pct: float


class SplitView(BaseModel):
    km: int = Field(description="the split's number (1 = the first kilometre)")
    length_km: float
    seconds: float
    pace_min_per_km: float
    avg_heart_rate_bpm: float | None


class RouteView(BaseModel):
    """The GPS track in metres east (x) and north (y) of its centre, for drawing offline."""

    x_m: list[float]
    y_m: list[float]
    elevation_m: list[float | None] | None
    along_km: list[float]
    points: int = Field(description="points recorded (those above are at most 1500 of them)")
    width_m: float
    height_m: float
    scale_bar_m: float
    projection: str = "equirectangular around the track's centre (x east, y north, metres)"


class WorkoutDetail(WorkoutSummary):
    """One workout: its totals, heart rate, zones, splits and route."""

    time_zone: str
    heart_rate: list[HeartRateSample]
    heart_rate_source: str | None
    hr_max_bpm: float | None
    hr_max_basis: str = Field(description="where the maximum heart rate of the zones came from")
    zones: list[ZoneView]
    splits: list[SplitView]
    route: RouteView | None


def _number(details: dict[str, Any], key: str) -> float | None:
    value = details.get(key)
    return float(value) if isinstance(value, int | float) and np.isfinite(value) else None


def _summary(ctx: Context, item: Event, zone: tzinfo) -> WorkoutSummary:
    d = item.details
    duration = _number(d, "duration_min")
    if duration is None and item.end is not None:
        duration = (item.end - item.start).total_seconds() / 60
    distance = _number(d, "distance_m")
    title = item.title or "Workout"
    pace = speed = None
    if distance and duration:
        if any(word in title.lower() for word in PACE_SPORTS):
            pace = round(duration / (distance / 1000), 2)
        else:
            speed = round(distance / 1000 / (duration / 60), 1)
    route = d.get("route")
    return WorkoutSummary(
        id=ctx.vault().record_id(item),
        title=title,
        start=item.start.astimezone(zone),
        end=item.end.astimezone(zone) if item.end else None,
        duration_min=round(duration, 1) if duration is not None else None,
        distance_m=round(distance, 1) if distance is not None else None,
        energy_kcal=_number(d, "energy_kcal"),
        avg_heart_rate_bpm=_number(d, "avg_heart_rate_bpm"),
        max_heart_rate_bpm=_number(d, "max_heart_rate_bpm"),
        ascent_m=_number(d, "ascent_m"),
        pace_min_per_km=pace,
        speed_km_h=speed,
        has_route=isinstance(route, dict) and bool(route.get("data")),
        source=item.source,
        device=item.device,
    )


def _read_workouts(ctx: Context, since: datetime | None) -> list[Event]:
    records = ctx.vault().read_records(
        "event:workout", purpose=ctx.purpose, recipient=ctx.recipient, since=since
    )
    return [r for r in records.items if isinstance(r, Event)]


def _workout_summaries(ctx: Context, zone: tzinfo, since: datetime | None) -> list[WorkoutSummary]:
    found = [_summary(ctx, w, zone) for w in _read_workouts(ctx, since)]
    return sorted(found, key=lambda w: w.start, reverse=True)


def _totals(items: list[WorkoutSummary], since: datetime) -> dict[str, float]:
    chosen = [w for w in items if w.start >= since]
    return {
        "count": float(len(chosen)),
        "distance_km": round(sum(w.distance_m or 0.0 for w in chosen) / 1000, 1),
        "duration_min": round(sum(w.duration_min or 0.0 for w in chosen), 1),
    }


def workouts(ctx: Context, *, days: int = WORKOUT_DAYS) -> WorkoutList:
    """The workouts of the last ``days`` days, newest first."""
    if days < 1:
        raise LifeTwinError("The number of days must be 1 or more.")
    zone, zone_name = _zone(ctx)
    now = datetime.now(UTC)
    items = _workout_summaries(ctx, zone, since=now - timedelta(days=days))
    return WorkoutList(
        person=ctx.person.name,
        time_zone=zone_name,
        days=days,
        items=items,
        last_7_days=_totals(items, now - timedelta(days=7)),
        last_30_days=_totals(items, now - timedelta(days=30)),
    )


def _age(profile: dict[str, Any], on: date) -> float | None:
    born = profile.get("birth_date")
    try:
        birth = date.fromisoformat(str(born)) if born else None
    except ValueError:
        return None
    if birth is None:
        return None
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def hr_max(profile: dict[str, Any], on: date) -> tuple[float | None, str]:
    """The maximum heart rate for zones and a sentence saying where it came from."""
    own = profile.get("max_heart_rate_bpm")
    if isinstance(own, int | float) and own > 0:
        return float(own), (
            f"Zones from your maximum heart rate of {float(own):g} bpm (your profile)."
        )
    age = _age(profile, on)
    if age is not None:
        est = calc.max_hr_from_age(age)
        return est, (
            f"Zones from 220 − age ({age}) = {est:g} bpm, an estimate that is often 10 bpm or "
            "more off: set max_heart_rate_bpm in your profile for your own."
        )
    return None, (
        "No zones: they need your maximum heart rate (profile fact max_heart_rate_bpm) or "
        "your birth date."
    )


def _heart_rate(
    ctx: Context, item: Event, end: datetime
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], str | None]:
    data = ctx.vault().read_series(
        "heart_rate",
        purpose=ctx.purpose,
        recipient=ctx.recipient,
        since=item.start,
        until=end,
    )
    if not len(data):
        return np.zeros(0, dtype=np.int64), np.zeros(0), None
    names = [s.source for s in data.streams]
    index = data.stream_index.astype(np.int64)
    counts = np.bincount(index, minlength=len(names))
    own = [i for i, name in enumerate(names) if name == item.source and counts[i]]
    pick = own[0] if own else int(np.argmax(counts))
    keep = index == pick
    return data.ts_ms[keep], data.values[keep], names[pick]


def workout(ctx: Context, workout_id: str) -> WorkoutDetail:
    """One workout by its id (from :func:`workouts`)."""
    zone, zone_name = _zone(ctx)
    found = [w for w in _read_workouts(ctx, None) if ctx.vault().record_id(w) == workout_id]
    if not found:
        raise NotEnoughDataError(
            f"There is no workout {workout_id!r} of {ctx.person.name} that may be read for this."
        )
    item = found[0]
    base = _summary(ctx, item, zone)
    end = item.end or item.start + timedelta(minutes=base.duration_min or 0)
    ts, bpm, hr_source = _heart_rate(ctx, item, end)
    start_ms = int(item.start.timestamp() * 1000)
    end_ms = int(end.timestamp() * 1000)
    profile = ctx.vault().profile()
    top, basis = hr_max(profile, item.start.astimezone(zone).date())
    zones: list[ZoneView] = []
    if top is not None and len(ts):
        weights = calc.sample_weights_s(ts, end_ms)
        minutes = calc.zone_minutes(bpm, weights, top)
        total = sum(minutes) or 1.0
        bounds = calc.zone_bounds(top)
        zones.append(
            ZoneView(
                zone=0,
                name="Below zone 1",
                low_bpm=None,
                high_bpm=bounds[0][0],
                minutes=minutes[0],
                pct=round(100 * minutes[0] / total, 1),
            )
        )
        for i, (low, high) in enumerate(bounds):
            zones.append(
                ZoneView(
                    zone=i + 1,
                    name=calc.ZONE_NAMES[i],
                    low_bpm=low,
                    high_bpm=high,
                    minutes=minutes[i + 1],
                    pct=round(100 * minutes[i + 1] / total, 1),
                )
            )
    curve = [
        HeartRateSample(minute=round((t - start_ms) / 60_000, 2), bpm=float(v))
        for t, v in zip(ts.tolist(), bpm.tolist(), strict=True)
    ]
    route, splits = _route(item, ts, bpm)
    return WorkoutDetail(
        **base.model_dump(),
        time_zone=zone_name,
        heart_rate=curve,
        heart_rate_source=hr_source,
        hr_max_bpm=top,
        hr_max_basis=basis,
        zones=zones,
        splits=splits,
        route=route,
    )


def _route(
    item: Event, hr_ts: np.ndarray[Any, Any], hr_bpm: np.ndarray[Any, Any]
) -> tuple[RouteView | None, list[SplitView]]:
    raw = item.details.get("route")
    if not isinstance(raw, dict) or not raw.get("data"):
        return None, []
    columns = list(raw.get("columns") or ["time_ms", "lat", "lon", "ele"])
    table = np.array(
        [[np.nan if v is None else float(v) for v in row] for row in raw["data"]], dtype=float
    )
    if table.ndim != 2 or "lat" not in columns or "lon" not in columns:
        return None, []
    lat, lon = table[:, columns.index("lat")], table[:, columns.index("lon")]
    ok = np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    table, lat, lon = table[ok], lat[ok], lon[ok]
    if len(lat) < 2:
        return None, []
    x, y = calc.project_m(lat, lon)
    along = np.r_[0.0, np.cumsum(calc.segment_lengths_m(lat, lon))] / 1000
    ele = table[:, columns.index("ele")] if "ele" in columns else None
    keep = calc.thin(len(x), ROUTE_POINTS)
    width = float(np.ptp(x)) or 1.0
    height = float(np.ptp(y)) or 1.0
    route = RouteView(
        x_m=[round(float(v), 1) for v in x[keep]],
        y_m=[round(float(v), 1) for v in y[keep]],
        elevation_m=(
            [None if not np.isfinite(v) else round(float(v), 1) for v in ele[keep]]
            if ele is not None and np.isfinite(ele).any()
            else None
        ),
        along_km=[round(float(v), 3) for v in along[keep]],
        points=len(x),
        width_m=round(width, 1),
        height_m=round(height, 1),
        scale_bar_m=calc.scale_bar_m(max(width, height)),
    )
    splits: list[SplitView] = []
    if "time_ms" in columns:
        times = table[:, columns.index("time_ms")].astype(np.int64)
        if np.all(np.diff(times) >= 0) and times[-1] > times[0]:
            start_s = times[0] / 1000.0
            for n, (km, seconds) in enumerate(calc.km_splits(times, lat, lon), start=1):
                lo = start_s + sum(s.seconds for s in splits)
                inside = (hr_ts / 1000.0 >= lo) & (hr_ts / 1000.0 < lo + seconds)
                splits.append(
                    SplitView(
                        km=n,
                        length_km=km,
                        seconds=round(seconds, 1),
                        pace_min_per_km=round(seconds / 60 / km, 2),
                        avg_heart_rate_bpm=(
                            round(float(hr_bpm[inside].mean()), 1) if inside.any() else None
                        ),
                    )
                )
    return route, splits
