"""Glucose, as operations: the CGM report with the consensus targets, the forecast, the
newest reading with its trend, a day's trace with insulin and carbohydrates, a week of
days overlaid, the printable AGP report, and the person's glucose settings.

Units: every glucose value an operation returns is in the ``unit`` its model names — the
person's preference (the profile fact ``glucose_unit``: mg/dL unless they chose mmol/L),
or the unit the caller asks for. The API and the command line therefore show the same
numbers a person sees on the dashboard; a client that needs one fixed unit asks for it
(``unit=mg/dL``). Only the Nightscout-compatible API keeps Nightscout's rule (always
mg/dL on the wire). mmol/L values are mg/dL divided by :data:`MG_DL_PER_MMOL_L`, rounded
to two decimals; mg/dL values keep one.

Targets: the consensus of Battelino et al. (Diabetes Care 2019) for adults with type 1
or type 2 diabetes — more than 70 % of readings in 70–180 mg/dL, under 4 % below 70
(under 1 % below 54), under 25 % above 180 (under 5 % above 250) — and a coefficient of
variation of at most 36 % (Danne et al. 2017). The person's own target lines (profile
facts ``glucose_low_mg_dl``/``glucose_high_mg_dl``, 70/180 by default) are drawn on
every chart; time in ranges always uses the consensus bands, so it compares with
published targets.

Entry points (each ``op(ctx, ...) -> model``): :func:`cgm`, :func:`glucose_forecast`,
:func:`glucose_now`, :func:`glucose_day`, :func:`glucose_week`, :func:`agp_report`,
:func:`glucose_settings`, :func:`set_glucose_settings`; helpers the other operations use
to show glucose in the person's unit: :func:`preferred_unit`, :func:`to_unit`,
:func:`shown`, :func:`rows_in_unit`, :func:`converted`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, Field

from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.operations.context import Context

GlucoseUnit = Literal["mg/dL", "mmol/L"]
UNITS: tuple[GlucoseUnit, ...] = ("mg/dL", "mmol/L")
# 1 mmol/L of glucose (180.156 g/mol) is 18.0156 mg/dL: the factor core.units derives.
MG_DL_PER_MMOL_L = 18.0156
CGM_DAYS = 14  # the consensus report's period (Battelino et al. 2019)
WEEK_DAYS = 7
PROFILE_DAYS = 14  # daily profiles on the AGP report (the consensus shows two weeks)
PROFILE_BIN_MIN = 15  # daily profiles are 15-minute means
STALE_AFTER_MIN = 15  # a newest reading older than this is not "now"
DAY_MS = 86_400_000
CONSENSUS_RANGE = (70.0, 180.0)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
M = TypeVar("M", bound=BaseModel)

# The consensus ranges' labels in each unit (Battelino et al. 2019 give both).
RANGE_LABELS: dict[str, dict[str, str]] = {
    "mg/dL": {
        "very_low": "<54",
        "low": "54–69",
        "in_range": "70–180",
        "high": "181–250",
        "very_high": ">250",
    },
    "mmol/L": {
        "very_low": "<3.0",
        "low": "3.0–3.8",
        "in_range": "3.9–10.0",
        "high": "10.1–13.9",
        "very_high": ">13.9",
    },
}
# The thresholds the targets name, as the consensus writes them in each unit.
_THRESHOLD_WORDS = {
    "mg/dL": {54: "54", 70: "70", 180: "180", 250: "250"},
    "mmol/L": {54: "3.0", 70: "3.9", 180: "10.0", 250: "13.9"},
}
ARROWS = {  # Nightscout's direction names and the arrows its clients draw
    "DoubleUp": ("⇈", "rising very fast"),
    "SingleUp": ("↑", "rising fast"),
    "FortyFiveUp": ("↗", "rising"),
    "Flat": ("→", "steady"),
    "FortyFiveDown": ("↘", "falling"),
    "SingleDown": ("↓", "falling fast"),
    "DoubleDown": ("⇊", "falling very fast"),
    "NONE": ("⇼", "changing faster than a sensor can"),
    "NOT COMPUTABLE": ("", "no trend (no reading in the 15 minutes before)"),
}


# -- units ------------------------------------------------------------------------------
def parse_unit(text: str | None) -> GlucoseUnit | None:
    """A glucose unit as people write it (mg/dl, mgdl, mmol, mmol/l; any case).

    >>> parse_unit("MMOL"), parse_unit("mg/dl"), parse_unit(None)
    ('mmol/L', 'mg/dL', None)
    """
    if text is None or not text.strip():
        return None
    key = text.strip().lower().replace(" ", "")
    if key in ("mg/dl", "mgdl", "mg"):
        return "mg/dL"
    if key in ("mmol/l", "mmol", "mmoll"):
        return "mmol/L"
    quoted = text.strip()[:20].encode("unicode_escape").decode("ascii")
    raise LifeTwinError(f"'{quoted}' is not a glucose unit (use mg/dL or mmol/L).")


def preferred_unit(profile: dict[str, Any]) -> GlucoseUnit:
    """The person's glucose unit: the profile fact ``glucose_unit``, else mg/dL.

    >>> preferred_unit({"glucose_unit": "mmol/l"}), preferred_unit({})
    ('mmol/L', 'mg/dL')
    """
    chosen = str(profile.get("glucose_unit") or "")
    return "mmol/L" if chosen.lower().startswith("mmol") else "mg/dL"


def unit_for(ctx: Context, unit: str | None = None) -> GlucoseUnit:
    """The unit asked for, or the person's preference."""
    return parse_unit(unit) or preferred_unit(ctx.vault().profile())


def to_unit(mg_dl: float, unit: GlucoseUnit) -> float:
    """A glucose value (mg/dL) in ``unit``: mmol/L to two decimals, mg/dL to one.

    >>> to_unit(180.0, "mmol/L"), to_unit(99.14, "mg/dL")
    (9.99, 99.1)
    >>> from lifetwin.core.units import conversion
    >>> from lifetwin.core.vocabulary import metric
    >>> round(conversion("mmol/L", metric("glucose")).factor, 4) == MG_DL_PER_MMOL_L
    True
    """
    if unit == "mmol/L":
        return round(mg_dl / MG_DL_PER_MMOL_L, 2)
    return round(mg_dl, 1)


def _opt(mg_dl: float | None, unit: GlucoseUnit) -> float | None:
    return None if mg_dl is None else to_unit(mg_dl, unit)


def shown(value: float | None, unit: str) -> str:
    """A glucose value as a person reads it: whole mg/dL, mmol/L to one decimal.

    >>> shown(142.4, "mg/dL"), shown(7.86, "mmol/L"), shown(None, "mg/dL")
    ('142', '7.9', '—')
    """
    if value is None:
        return "—"
    return f"{value:.1f}" if unit == "mmol/L" else f"{value:.0f}"


def shown_change(value: float | None, unit: str) -> str:
    """A change with its sign (``+4``, ``-0.3``, ``±0``).

    >>> shown_change(4.0, "mg/dL"), shown_change(-0.26, "mmol/L"), shown_change(0.0, "mg/dL")
    ('+4', '-0.3', '±0')
    """
    if value is None:
        return "—"
    text = shown(abs(value), unit)
    if float(text) == 0:
        return "±" + text
    return ("+" if value > 0 else "-") + text


def converted(model: M, fields: tuple[str, ...], unit: GlucoseUnit) -> M:
    """A copy of a model with the named mg/dL fields in ``unit`` (None stays None)."""
    if unit == "mg/dL":
        return model
    update = {}
    for name in fields:
        value = getattr(model, name)
        update[name] = None if value is None else round(value / MG_DL_PER_MMOL_L, 2)
    return model.model_copy(update=update)


# -- targets ----------------------------------------------------------------------------
class Targets(BaseModel):
    """The person's glucose target range, drawn as lines on every glucose chart."""

    low: float
    high: float
    unit: GlucoseUnit


def _targets_mg_dl(ctx: Context) -> tuple[float, float]:
    from lifetwin.capabilities.unusual import glucose_targets

    return glucose_targets(ctx.vault().profile())


def targets(ctx: Context, unit: GlucoseUnit) -> Targets:
    low, high = _targets_mg_dl(ctx)
    return Targets(low=to_unit(low, unit), high=to_unit(high, unit), unit=unit)


class TargetCheck(BaseModel):
    """One consensus target and whether the period meets it."""

    key: str
    label: str = Field(description="what is measured, in the report's unit")
    value_pct: float
    target: str = Field(description="the consensus target, such as '< 4 %'")
    met: bool
    sentence: str


# key, what, which ranges add up to it, better when "below"/"above" the limit, limit
_CHECKS = (
    ("time_in_range", "Time in range {70}–{180}", ("in_range",), "above", 70.0),
    ("time_below_70", "Time below {70}", ("very_low", "low"), "below", 4.0),
    ("time_below_54", "Time below {54}", ("very_low",), "below", 1.0),
    ("time_above_180", "Time above {180}", ("high", "very_high"), "below", 25.0),
    ("time_above_250", "Time above {250}", ("very_high",), "below", 5.0),
)
CV_TARGET_PCT = 36.0


def target_checks(
    ranges_pct: dict[str, float], cv_pct: float | None, unit: str
) -> list[TargetCheck]:
    """The consensus targets (Battelino et al. 2019; CV: Danne et al. 2017) against the time
    in ranges; a check fails only when the value is worse than the target.

    >>> ranges = {"very_low": 1.5, "low": 3.0, "in_range": 68.0, "high": 22.0, "very_high": 5.5}
    >>> [c.key for c in target_checks(ranges, 38.0, "mg/dL") if not c.met]
    ['time_in_range', 'time_below_70', 'time_below_54', 'time_above_180', 'time_above_250', 'cv']
    >>> target_checks(ranges, None, "mmol/L")[1].label
    'Time below 3.9 mmol/L'
    """
    words = _THRESHOLD_WORDS[unit]
    found = []
    for key, what, parts, better, limit in _CHECKS:
        label = what
        for threshold, word in words.items():
            label = label.replace(f"{{{threshold}}}", word)
        label += f" {unit}"
        value = round(sum(ranges_pct.get(p, 0.0) for p in parts), 2)
        met = value >= limit if better == "above" else value <= limit
        target = f"> {limit:g} %" if better == "above" else f"< {limit:g} %"
        if met:
            sentence = f"{label}: {value:g} %, within the consensus target ({target})."
        else:
            side = "below" if better == "above" else "above"
            sentence = f"{label}: {value:g} %, {side} the consensus target ({target})."
        found.append(
            TargetCheck(
                key=key, label=label, value_pct=value, target=target, met=met, sentence=sentence
            )
        )
    if cv_pct is not None:
        met = cv_pct <= CV_TARGET_PCT
        found.append(
            TargetCheck(
                key="cv",
                label="Glucose variability (CV)",
                value_pct=cv_pct,
                target=f"≤ {CV_TARGET_PCT:g} %",
                met=met,
                sentence=f"Glucose variability (CV): {cv_pct:g} %, "
                + ("within" if met else "above")
                + f" the consensus target (≤ {CV_TARGET_PCT:g} %).",
            )
        )
    return found


# -- the CGM report ----------------------------------------------------------------------
class AgpHour(BaseModel):
    p5: float
    p25: float
    p50: float
    p75: float
    p95: float
    n: int


class CgmView(BaseModel):
    """The consensus CGM report of one source over a period (Battelino et al. 2019), in the
    person's glucose unit, with the consensus targets checked."""

    unit: GlucoseUnit
    readings: int
    source: str | None
    other_sources: list[str]
    period_start: datetime | None
    period_end: datetime | None
    days: float
    first: datetime | None
    last: datetime | None
    data_captured_pct: float
    mean: float | None
    sd: float | None
    cv_pct: float | None
    gmi_pct: float | None
    mage: float | None
    lbgi: float | None
    hbgi: float | None
    ranges_pct: dict[str, float]
    range_labels: dict[str, str] = Field(description="range -> its bounds in the unit")
    checks: list[TargetCheck] = Field(description="the consensus targets, met or not")
    targets: Targets
    agp: dict[str, AgpHour] = Field(description="local hour -> percentiles (in the unit)")
    warnings: list[str]


def cgm(
    ctx: Context,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    days: int = CGM_DAYS,
    source: str | None = None,
    unit: str | None = None,
) -> CgmView:
    """The report of the latest ``days`` (0: all the data; or ``since``..``until``), read
    for the caller's purpose (a caregiver sees it through their sharing grant)."""
    from lifetwin.capabilities.cgm_report import cgm_report

    if days < 0:
        raise LifeTwinError("The number of days must be 0 (all) or more.")
    if since is not None and until is not None and until <= since:
        raise LifeTwinError("The end of the period must be after its start.")
    if days == 0 and since is None:
        since = datetime(1970, 1, 1, tzinfo=UTC)
    shown_unit = unit_for(ctx, unit)
    report = cgm_report(
        ctx.vault(),
        ctx.purpose,
        since,
        until,
        recipient=ctx.recipient,
        source=source,
        days=days,
    )
    if not report.readings:
        raise NotEnoughDataError(f"There are no CGM readings of {ctx.person.name} in that range.")

    def u(value: float | None) -> float | None:
        return _opt(value, shown_unit)

    return CgmView(
        unit=shown_unit,
        readings=report.readings,
        source=report.source,
        other_sources=list(report.other_sources),
        period_start=report.period_start,
        period_end=report.period_end,
        days=round(report.days, 2),
        first=report.first,
        last=report.last,
        data_captured_pct=report.data_captured_pct,
        mean=u(report.mean_mg_dl),
        sd=u(report.sd_mg_dl),
        cv_pct=report.cv_pct,
        gmi_pct=report.gmi_pct,
        mage=u(report.mage_mg_dl),
        lbgi=report.lbgi,
        hbgi=report.hbgi,
        ranges_pct=dict(report.ranges_pct),
        range_labels=dict(RANGE_LABELS[shown_unit]),
        checks=target_checks(report.ranges_pct, report.cv_pct, shown_unit),
        targets=targets(ctx, shown_unit),
        agp={
            str(h): AgpHour(
                **{k: to_unit(c[k], shown_unit) for k in ("p5", "p25", "p50", "p75", "p95")},
                n=int(c["n"]),
            )
            for h, c in sorted(report.agp.items())
        },
        warnings=list(report.warnings),
    )


# -- the forecast -------------------------------------------------------------------------
class GlucosePoint(BaseModel):
    horizon_min: int
    value: float
    low: float
    high: float


class GlucoseForecast(BaseModel):
    """Glucose 30–120 minutes ahead with 90 % intervals, from the newest reading, in the
    person's glucose unit."""

    kind: Literal["glucose"] = "glucose"
    unit: GlucoseUnit
    start: datetime = Field(description="the time of the reading the forecast starts from")
    last: float = Field(description="that reading")
    forecasts: list[GlucosePoint]
    trajectory: dict[str, float] = Field(description="minutes ahead -> forecast, to 40 min")
    hypo_warning: bool = Field(description="a low is forecast and the forecast is current")
    hypo_threshold: float = Field(description="what counts as low (70 mg/dL)")
    current: bool
    age_min: float
    status: str
    warnings: list[str]
    trained_steps: int
    targets: Targets
    note: str = "Decision support, not a dosing instruction."


def glucose_forecast(
    ctx: Context, *, now: datetime | None = None, unit: str | None = None
) -> GlucoseForecast:
    """Reads for forecasting; refuses with one sentence when there is too little CGM."""
    from lifetwin.capabilities.glucose_forecast import HYPO_MG_DL, forecast_for_person

    shown_unit = unit_for(ctx, unit)
    result = forecast_for_person(ctx.vault(), now=now)
    if result is None:
        raise NotEnoughDataError(
            f"There is not enough CGM data for {ctx.person.name} to forecast (two days are "
            "needed, and a forecasting grant)."
        )
    return GlucoseForecast(
        unit=shown_unit,
        start=datetime.fromtimestamp(result.last_reading_ms / 1000, UTC),
        last=to_unit(result.last_mg_dl, shown_unit),
        forecasts=[
            GlucosePoint(
                horizon_min=f.horizon_min,
                value=to_unit(f.value_mg_dl, shown_unit),
                low=to_unit(f.low_mg_dl, shown_unit),
                high=to_unit(f.high_mg_dl, shown_unit),
            )
            for f in result.forecasts
        ],
        trajectory={str(k): to_unit(v, shown_unit) for k, v in sorted(result.trajectory.items())},
        hypo_warning=result.hypo_warning,
        hypo_threshold=to_unit(HYPO_MG_DL, shown_unit),
        current=result.current,
        age_min=round(result.age_min, 1),
        status=result.status,
        warnings=list(result.warnings),
        trained_steps=result.trained_steps,
        targets=targets(ctx, shown_unit),
    )


# -- reading the CGM ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Readings:
    """One CGM source's readings, oldest first (finger sticks and daily summaries left out)."""

    ts_ms: I64
    tz_min: I64
    mg_dl: F64
    source: str | None
    other_sources: list[str]

    @property
    def local_day(self) -> I64:
        return np.asarray((self.ts_ms + self.tz_min * 60_000) // DAY_MS, dtype=np.int64)

    def take(self, keep: npt.NDArray[np.bool_]) -> _Readings:
        return _Readings(
            self.ts_ms[keep], self.tz_min[keep], self.mg_dl[keep], self.source, self.other_sources
        )


def _cgm_streams(ctx: Context) -> list[Any]:
    return [
        s
        for s in ctx.vault().visible_streams(ctx.purpose, ctx.recipient)
        if s.metric == "glucose" and s.numeric and not s.source.endswith("(daily)")
    ]


def _span(ctx: Context) -> tuple[int, int]:
    """The first and last day (UTC, since the epoch) with CGM readings the caller may read."""
    vault = ctx.vault()
    spans = [d for d in (vault.stream_days(s) for s in _cgm_streams(ctx)) if d is not None]
    if not spans:
        raise NotEnoughDataError(f"There are no CGM readings of {ctx.person.name}.")
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _read(ctx: Context, lo_day: int, hi_day: int) -> _Readings:
    """The readings of UTC days ``lo_day``..``hi_day`` of the source with most of them."""
    from lifetwin.core.model import Quality

    series = ctx.vault().read_series(
        "glucose",
        purpose=ctx.purpose,
        recipient=ctx.recipient,
        since=datetime.fromtimestamp(lo_day * DAY_MS / 1000, UTC),
        until=datetime.fromtimestamp((hi_day + 1) * DAY_MS / 1000, UTC),
    )
    names = np.array([s.source for s in series.streams], dtype=object)
    daily = np.array([s.source.endswith("(daily)") for s in series.streams], dtype=bool)
    keep = (series.columns.quality & int(Quality.CALIBRATION)) == 0
    if len(names):
        keep &= ~daily[series.stream_index]
    sources = names[series.stream_index[keep]] if len(names) else np.zeros(0, dtype=object)
    counts: dict[str, int] = {}
    for name in sources.tolist():
        counts[name] = counts.get(name, 0) + 1
    chosen = max(counts, key=lambda k: (counts[k], k)) if counts else None
    index = np.flatnonzero(keep)[sources == chosen] if chosen else np.zeros(0, dtype=np.intp)
    ts = series.ts_ms[index]
    order = np.argsort(ts, kind="stable")
    index = index[order]
    return _Readings(
        ts_ms=series.ts_ms[index].astype(np.int64),
        tz_min=series.columns.tz_min[index].astype(np.int64),
        mg_dl=series.values[index].astype(np.float64),
        source=chosen,
        other_sources=sorted(k for k in counts if k != chosen),
    )


def _local(ms: int, tz_min: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, timezone(timedelta(minutes=tz_min)))


def _zone(tz_min: int) -> str:
    """``UTC+01:00`` for an offset of 60 minutes.

    >>> _zone(60), _zone(-330), _zone(0)
    ('UTC+01:00', 'UTC-05:30', 'UTC')
    """
    if tz_min == 0:
        return "UTC"
    sign = "+" if tz_min > 0 else "-"
    hours, minutes = divmod(abs(tz_min), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def _day_of(index: int) -> date:
    return date(1970, 1, 1) + timedelta(days=index)


def _index_of(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def _age_words(minutes: float) -> str:
    """How old, in words a person reads at a glance.

    >>> _age_words(4.2), _age_words(190), _age_words(4000)
    ('4 min', '3 h', '3 days')
    """
    if minutes < 90:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} h"
    return f"{minutes / 1440:.0f} days"


# -- the newest reading and its trend -------------------------------------------------------
class GlucoseNow(BaseModel):
    """The newest CGM reading, its trend (Nightscout's direction and arrow) and the change
    since the reading before, and whether it is too old to be "now"."""

    unit: GlucoseUnit
    at: datetime = Field(description="when the newest reading was taken (its local offset)")
    value: float
    source: str | None
    range: str = Field(description="its consensus range: very_low, low, in_range, high, ...")
    previous_at: datetime | None
    previous: float | None
    change: float | None = Field(
        description="since the previous reading (None: none within 15 min)"
    )
    minutes_since_previous: float | None
    rate_per_min: float | None = Field(description="the change per minute, in the unit")
    direction: str = Field(description="Nightscout's name: Flat, FortyFiveUp, SingleDown, ...")
    arrow: str
    trend: str = Field(description="the direction in words")
    age_min: float
    stale: bool = Field(description=f"the newest reading is older than {STALE_AFTER_MIN} min")
    status: str
    targets: Targets


def _range_of(mg_dl: float) -> str:
    """The consensus range of one value.

    >>> _range_of(53.9), _range_of(70.0), _range_of(180.4), _range_of(181.0), _range_of(251.0)
    ('very_low', 'in_range', 'in_range', 'high', 'very_high')
    """
    if mg_dl < 54:
        return "very_low"
    if mg_dl < 70:
        return "low"
    if mg_dl <= 180.5:  # as time_in_ranges: at 1 mg/dL, so 10.0 mmol/L is in range
        return "in_range"
    if mg_dl <= 250.5:
        return "high"
    return "very_high"


def glucose_now(
    ctx: Context, *, now: datetime | None = None, unit: str | None = None
) -> GlucoseNow:
    """The newest reading the caller may read, with its trend computed as Nightscout's
    entries compute theirs (:func:`lifetwin.services.nightscout.direction`: the change per
    minute from the reading before, when that is at most 15 minutes earlier)."""
    from lifetwin.services.nightscout import NEIGHBOUR_MS, direction

    shown_unit = unit_for(ctx, unit)
    _, last_day = _span(ctx)
    found = _read(ctx, last_day - 1, last_day)
    if not len(found.ts_ms):
        raise NotEnoughDataError(f"There are no CGM readings of {ctx.person.name}.")
    ms, value, tz = int(found.ts_ms[-1]), float(found.mg_dl[-1]), int(found.tz_min[-1])
    previous = change = gap_min = rate = None
    previous_at = None
    name = "NOT COMPUTABLE"
    if len(found.ts_ms) > 1:
        before_ms, before = int(found.ts_ms[-2]), float(found.mg_dl[-2])
        gap = ms - before_ms
        if 0 < gap <= NEIGHBOUR_MS:
            gap_min = gap / 60_000
            slope = (value - before) / gap_min  # mg/dL per minute, as Nightscout names it
            name = direction(slope)
            previous = to_unit(before, shown_unit)
            previous_at = _local(before_ms, int(found.tz_min[-2]))
            change = round(to_unit(value, shown_unit) - previous, 2)
            rate = round(to_unit(slope, shown_unit), 3 if shown_unit == "mmol/L" else 2)
    moment = now or datetime.now(UTC)
    age = max(0.0, (moment.timestamp() * 1000 - ms) / 60_000)
    stale = age > STALE_AFTER_MIN
    at = _local(ms, tz)
    if stale:
        status = (
            f"No new reading for {_age_words(age)}: the newest is from "
            f"{at.strftime('%Y-%m-%d %H:%M')} ({_zone(tz)}), so it is not your glucose now."
        )
    else:
        status = f"Newest reading {_age_words(age)} ago."
    arrow, words = ARROWS.get(name, ("", name))
    return GlucoseNow(
        unit=shown_unit,
        at=at,
        value=to_unit(value, shown_unit),
        source=found.source,
        range=_range_of(value),
        previous_at=previous_at,
        previous=previous,
        change=change,
        minutes_since_previous=None if gap_min is None else round(gap_min, 1),
        rate_per_min=rate,
        direction=name,
        arrow=arrow,
        trend=words,
        age_min=round(age, 1),
        stale=stale,
        status=status,
        targets=targets(ctx, shown_unit),
    )


# -- a day, a week, daily profiles ----------------------------------------------------------
class Reading(BaseModel):
    at: datetime
    value: float


class Dose(BaseModel):
    at: datetime
    units: float
    kind: str = Field(description="bolus, basal, long-acting, ... as the source named it")


class Delivered(BaseModel):
    at: datetime
    units: float


class Carbs(BaseModel):
    at: datetime
    grams: float


class DayStats(BaseModel):
    """One day in numbers (time in range against the consensus 70–180 mg/dL)."""

    readings: int
    mean: float | None
    lowest: float | None
    highest: float | None
    time_in_range_pct: float | None
    time_below_pct: float | None = Field(description="below 70 mg/dL (3.9 mmol/L)")
    time_above_pct: float | None = Field(description="above 180 mg/dL (10.0 mmol/L)")
    insulin_u: float = Field(description="delivered by a pump, else the doses logged")
    carbs_g: float


class ProfilePoint(BaseModel):
    minute: int = Field(description="minutes after local midnight (the bin's start)")
    value: float


class DayProfile(DayStats):
    """A day's trace as 15-minute means by local time, with its numbers."""

    day: date
    weekday: str
    points: list[ProfilePoint]


class GlucoseDay(BaseModel):
    """One local day's CGM trace with the insulin doses and carbohydrates of that day."""

    unit: GlucoseUnit
    day: date
    weekday: str
    zone: str = Field(description="the local time of the readings (their UTC offset)")
    first_day: date = Field(description="the first day with readings (for a date picker)")
    last_day: date
    previous_day: date | None
    next_day: date | None
    source: str | None
    other_sources: list[str]
    readings: list[Reading]
    insulin: list[Dose] = Field(description="the doses logged (boluses, injections)")
    delivered: list[Delivered] = Field(description="a pump's insulin per interval, if any")
    carbs: list[Carbs]
    stats: DayStats
    targets: Targets


class GlucoseWeek(BaseModel):
    """Seven days overlaid on one 24-hour axis (a week to compare with the next)."""

    unit: GlucoseUnit
    start: date
    end: date
    zone: str
    first_day: date
    last_day: date
    previous_start: date | None
    next_start: date | None
    source: str | None
    days: list[DayProfile]
    stats: DayStats = Field(description="the whole week")
    targets: Targets


@dataclass
class _Events:
    doses: list[tuple[int, float, str]]  # ms, units, kind (the doses logged)
    carbs: list[tuple[int, float]]  # ms, grams
    delivered_ms: I64  # a pump's insulin delivered per interval (basal and boluses)
    delivered_u: F64


def _events(ctx: Context, lo_ms: int, hi_ms: int) -> _Events:
    from lifetwin.core.model import Event

    vault = ctx.vault()
    since = datetime.fromtimestamp(lo_ms / 1000, UTC)
    until = datetime.fromtimestamp(hi_ms / 1000, UTC)
    doses: list[tuple[int, float, str]] = []
    carbs: list[tuple[int, float]] = []
    for kind in ("insulin", "meal"):
        records = vault.read_records(
            f"event:{kind}", purpose=ctx.purpose, recipient=ctx.recipient, since=since, until=until
        )
        for event in records:
            if not isinstance(event, Event):
                continue
            ms = int(event.start.timestamp() * 1000)
            details = event.details
            units = details.get("insulin_u")
            if kind == "insulin" and isinstance(units, int | float) and units > 0:
                doses.append((ms, float(units), str(details.get("type") or "insulin")))
            grams = details.get("carbs_g")
            if kind == "meal" and isinstance(grams, int | float) and grams > 0:
                carbs.append((ms, float(grams)))
    pump = vault.read_series(
        "insulin_delivered", purpose=ctx.purpose, recipient=ctx.recipient, since=since, until=until
    )
    order = np.argsort(pump.ts_ms, kind="stable")
    return _Events(
        sorted(doses),
        sorted(carbs),
        pump.ts_ms[order].astype(np.int64),
        pump.values[order].astype(np.float64),
    )


def _offsets(ms: I64, readings: _Readings, fallback: int) -> I64:
    """The local offset of each moment: that of the nearest reading (events carry no offset
    of their own that all sources agree on)."""
    n = len(readings.ts_ms)
    if not n:
        return np.full(len(ms), fallback, dtype=np.int64)
    at = np.searchsorted(readings.ts_ms, ms)
    before, after = np.clip(at - 1, 0, n - 1), np.clip(at, 0, n - 1)
    closer = np.abs(readings.ts_ms[before] - ms) <= np.abs(readings.ts_ms[after] - ms)
    return np.asarray(readings.tz_min[np.where(closer, before, after)], dtype=np.int64)


def _local_days(ms: I64, readings: _Readings, fallback: int) -> I64:
    return np.asarray((ms + _offsets(ms, readings, fallback) * 60_000) // DAY_MS, dtype=np.int64)


def _fallback_offset(ctx: Context, moment_ms: int) -> int:
    zone = ctx.vault().profile().get("time_zone")
    if not zone:
        return 0
    from zoneinfo import ZoneInfo

    offset = datetime.fromtimestamp(moment_ms / 1000, ZoneInfo(str(zone))).utcoffset()
    return int(offset.total_seconds() // 60) if offset else 0


def _pct(mask: npt.NDArray[np.bool_]) -> float | None:
    return round(100 * float(np.mean(mask)), 1) if len(mask) else None


def _stats(mg_dl: F64, doses: list[float], grams: list[float], unit: GlucoseUnit) -> DayStats:
    n = len(mg_dl)
    return DayStats(
        readings=n,
        mean=to_unit(float(np.mean(mg_dl)), unit) if n else None,
        lowest=to_unit(float(np.min(mg_dl)), unit) if n else None,
        highest=to_unit(float(np.max(mg_dl)), unit) if n else None,
        time_in_range_pct=_pct((mg_dl >= 70) & (mg_dl <= 180.5)),
        time_below_pct=_pct(mg_dl < 70),
        time_above_pct=_pct(mg_dl > 180.5),
        insulin_u=round(sum(doses), 2),
        carbs_g=round(sum(grams), 1),
    )


def _profile_points(readings: _Readings, unit: GlucoseUnit) -> list[ProfilePoint]:
    local = readings.ts_ms + readings.tz_min * 60_000
    minute = (local % DAY_MS) // 60_000
    bins = (minute // PROFILE_BIN_MIN).astype(np.int64)
    n = DAY_MS // 60_000 // PROFILE_BIN_MIN
    counts = np.bincount(bins, minlength=n)
    sums = np.bincount(bins, weights=readings.mg_dl, minlength=n)
    return [
        ProfilePoint(
            minute=int(b) * PROFILE_BIN_MIN, value=to_unit(float(sums[b] / counts[b]), unit)
        )
        for b in np.flatnonzero(counts).tolist()
    ]


def _profiles(
    ctx: Context, first: int, last: int, unit: GlucoseUnit
) -> tuple[list[DayProfile], _Readings, _Events]:
    """Each local day ``first``..``last`` (days since the epoch) as a profile; with the
    readings and events of those days. A day's insulin is what the pump delivered when
    there are pump data that day, else the doses logged (as the forecaster counts it)."""
    found = _read(ctx, first - 1, last + 1)
    local_day = found.local_day
    inside = found.take((local_day >= first) & (local_day <= last))
    fallback = (
        int(inside.tz_min[-1]) if len(inside.tz_min) else _fallback_offset(ctx, last * DAY_MS)
    )
    events = _events(ctx, (first - 1) * DAY_MS, (last + 2) * DAY_MS)
    dose_ms = np.array([e[0] for e in events.doses], dtype=np.int64)
    carb_ms = np.array([e[0] for e in events.carbs], dtype=np.int64)
    dose_days = _local_days(dose_ms, inside, fallback)
    carb_days = _local_days(carb_ms, inside, fallback)
    pump_days = _local_days(events.delivered_ms, inside, fallback)
    pump_in = (pump_days >= first) & (pump_days <= last)
    kept = _Events(
        [e for e, d in zip(events.doses, dose_days.tolist(), strict=True) if first <= d <= last],
        [e for e, d in zip(events.carbs, carb_days.tolist(), strict=True) if first <= d <= last],
        events.delivered_ms[pump_in],
        events.delivered_u[pump_in],
    )
    profiles = []
    days = inside.local_day
    for index in range(first, last + 1):
        one = inside.take(days == index)
        pumped = events.delivered_u[pump_days == index]
        doses = (
            pumped.tolist()
            if len(pumped)
            else [
                u
                for (_, u, _), d in zip(events.doses, dose_days.tolist(), strict=True)
                if d == index
            ]
        )
        grams = [
            g for (_, g), d in zip(events.carbs, carb_days.tolist(), strict=True) if d == index
        ]
        stats = _stats(one.mg_dl, doses, grams, unit)
        when = _day_of(index)
        profiles.append(
            DayProfile(
                **stats.model_dump(),
                day=when,
                weekday=when.strftime("%a"),
                points=_profile_points(one, unit),
            )
        )
    return profiles, inside, kept


def _common_offset(readings: _Readings, fallback: int) -> int:
    if not len(readings.tz_min):
        return fallback
    values, counts = np.unique(readings.tz_min, return_counts=True)
    return int(values[int(np.argmax(counts))])


def _newest_local_day(ctx: Context) -> tuple[int, int]:
    """The local days (since the epoch) of the caller's first and newest CGM readings."""
    first, last = _span(ctx)
    oldest = _read(ctx, first, first + 1)
    if len(oldest.ts_ms):
        first = int(oldest.local_day[0])
    newest = _read(ctx, last - 1, last)
    if len(newest.ts_ms):
        last = int(newest.local_day[-1])
    return first, last


def glucose_day(ctx: Context, day: date | None = None, *, unit: str | None = None) -> GlucoseDay:
    """One local day (default: the day of the newest reading): every reading, the insulin
    doses and carbohydrates, and the day's numbers. Reads for the caller's purpose."""
    shown_unit = unit_for(ctx, unit)
    first, last = _newest_local_day(ctx)
    index = last if day is None else _index_of(day)
    profiles, inside, events = _profiles(ctx, index, index, shown_unit)
    fallback = _common_offset(inside, _fallback_offset(ctx, index * DAY_MS))
    dose_tz = _offsets(np.array([e[0] for e in events.doses], dtype=np.int64), inside, fallback)
    carb_tz = _offsets(np.array([e[0] for e in events.carbs], dtype=np.int64), inside, fallback)
    pump_tz = _offsets(events.delivered_ms, inside, fallback)
    when = _day_of(index)
    stats = DayStats(**profiles[0].model_dump(include=set(DayStats.model_fields)))
    return GlucoseDay(
        unit=shown_unit,
        day=when,
        weekday=when.strftime("%A"),
        zone=_zone(fallback),
        first_day=_day_of(first),
        last_day=_day_of(last),
        previous_day=_day_of(index - 1) if index - 1 >= first else None,
        next_day=_day_of(index + 1) if index + 1 <= last else None,
        source=inside.source,
        other_sources=inside.other_sources,
        readings=[
            Reading(at=_local(ms, tz), value=to_unit(v, shown_unit))
            for ms, tz, v in zip(
                inside.ts_ms.tolist(), inside.tz_min.tolist(), inside.mg_dl.tolist(), strict=True
            )
        ],
        insulin=[
            Dose(at=_local(ms, tz), units=u, kind=k)
            for (ms, u, k), tz in zip(events.doses, dose_tz.tolist(), strict=True)
        ],
        delivered=[
            Delivered(at=_local(ms, tz), units=round(u, 3))
            for ms, tz, u in zip(
                events.delivered_ms.tolist(),
                pump_tz.tolist(),
                events.delivered_u.tolist(),
                strict=True,
            )
        ],
        carbs=[
            Carbs(at=_local(ms, tz), grams=g)
            for (ms, g), tz in zip(events.carbs, carb_tz.tolist(), strict=True)
        ],
        stats=stats,
        targets=targets(ctx, shown_unit),
    )


def glucose_week(
    ctx: Context, start: date | None = None, *, unit: str | None = None
) -> GlucoseWeek:
    """Seven local days from ``start`` (default: the week ending on the newest reading's
    day), each as 15-minute means, to lay over one another."""
    shown_unit = unit_for(ctx, unit)
    first, last = _newest_local_day(ctx)
    lo = last - WEEK_DAYS + 1 if start is None else _index_of(start)
    hi = lo + WEEK_DAYS - 1
    profiles, inside, _ = _profiles(ctx, lo, hi, shown_unit)
    fallback = _common_offset(inside, _fallback_offset(ctx, hi * DAY_MS))
    return GlucoseWeek(
        unit=shown_unit,
        start=_day_of(lo),
        end=_day_of(hi),
        zone=_zone(fallback),
        first_day=_day_of(first),
        last_day=_day_of(last),
        previous_start=_day_of(lo - WEEK_DAYS) if lo - 1 >= first else None,
        next_start=_day_of(lo + WEEK_DAYS) if hi + 1 <= last else None,
        source=inside.source,
        days=profiles,
        stats=_stats(
            inside.mg_dl,
            [d.insulin_u for d in profiles],
            [d.carbs_g for d in profiles],
            shown_unit,
        ),
        targets=targets(ctx, shown_unit),
    )


# -- the AGP report ----------------------------------------------------------------------------
class AgpReport(BaseModel):
    """The printable AGP report (the consensus layout): the CGM report of the period — time
    in ranges, the glucose statistics and targets, the AGP — and the daily profiles of its
    last (up to) 14 days."""

    person: str
    unit: GlucoseUnit
    report: CgmView
    days: list[DayProfile]
    note: str = "Decision support, not a diagnosis; discuss changes with your care team."


def agp_report(
    ctx: Context,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    days: int = CGM_DAYS,
    source: str | None = None,
    unit: str | None = None,
) -> AgpReport:
    """The AGP report of a period (as :func:`cgm` chooses it), with daily profiles."""
    report = cgm(ctx, since=since, until=until, days=days, source=source, unit=unit)
    first, last = report.first or report.period_start, report.last or report.period_end
    if first is None or last is None:  # a report with readings has both
        raise NotEnoughDataError(f"There are no CGM readings of {ctx.person.name} in that range.")
    last_ms = int(last.timestamp() * 1000)
    first_ms = int(first.timestamp() * 1000)
    probe = _read(ctx, last_ms // DAY_MS - 1, last_ms // DAY_MS + 1)
    offset = _common_offset(probe, 0)
    hi = (last_ms + offset * 60_000) // DAY_MS
    lo = max((first_ms + offset * 60_000) // DAY_MS, hi - PROFILE_DAYS + 1)
    profiles, _, _ = _profiles(ctx, lo, hi, report.unit)
    return AgpReport(person=ctx.person.name, unit=report.unit, report=report, days=profiles)


# -- settings ------------------------------------------------------------------------------
class GlucoseSettings(BaseModel):
    """How the person's glucose is shown: the unit and the target lines."""

    unit: GlucoseUnit
    targets: Targets
    defaults: bool = Field(description="the targets are the default 70–180 mg/dL")


def glucose_settings(ctx: Context) -> GlucoseSettings:
    """The person's glucose unit and targets (profile facts)."""
    from lifetwin.capabilities.unusual import DEFAULT_GLUCOSE_TARGETS

    unit = preferred_unit(ctx.vault().profile())
    return GlucoseSettings(
        unit=unit,
        targets=targets(ctx, unit),
        defaults=_targets_mg_dl(ctx) == DEFAULT_GLUCOSE_TARGETS,
    )


def set_glucose_settings(
    ctx: Context,
    *,
    unit: str | None = None,
    low: float | None = None,
    high: float | None = None,
) -> GlucoseSettings:
    """Set the person's glucose unit and/or target range (``low``/``high`` in the unit the
    person will have after this change). Stores profile facts; the person's own action."""
    profile = ctx.vault().profile()
    chosen = parse_unit(unit) or preferred_unit(profile)
    facts: dict[str, Any] = {}
    if unit is not None:
        facts["glucose_unit"] = "mmol/l" if chosen == "mmol/L" else "mg/dl"
    old_low, old_high = _targets_mg_dl(ctx)
    factor = MG_DL_PER_MMOL_L if chosen == "mmol/L" else 1.0
    new_low = old_low if low is None else round(low * factor, 2)
    new_high = old_high if high is None else round(high * factor, 2)
    if new_low >= new_high:
        raise LifeTwinError(
            f"The low target ({shown(to_unit(new_low, chosen), chosen)} {chosen}) must be below "
            f"the high one ({shown(to_unit(new_high, chosen), chosen)} {chosen})."
        )
    if low is not None:
        facts["glucose_low_mg_dl"] = new_low
    if high is not None:
        facts["glucose_high_mg_dl"] = new_high
    if facts:
        ctx.vault().set_profile(**facts)
    return glucose_settings(ctx)


# -- glucose in other operations ----------------------------------------------------------------
def rows_in_unit(rows: list[M], profile: dict[str, Any]) -> list[M]:
    """The twin's rows (``MetricNow``) with glucose in the person's unit, its sentence
    naming the unit."""
    from lifetwin.capabilities.unusual import glucose_targets

    unit = preferred_unit(profile)
    low, high = glucose_targets(profile)
    out = []
    for row in rows:
        if getattr(row, "metric", None) != "glucose":
            out.append(row)
            continue
        found = row.model_dump()
        words = _glucose_sentence(
            float(found["latest"]),
            found["usual"],
            found["spread"],
            found["z"],
            bool(found["unusual"]),
            (low, high),
            unit,
        )
        copy = converted(row, ("latest", "usual", "spread"), unit)
        out.append(copy.model_copy(update={"unit": unit, "sentence": words}))
    return out


def _glucose_sentence(
    value: float,
    usual: float | None,
    spread: float | None,
    z: float | None,
    unusual: bool,
    bounds: tuple[float, float],
    unit: GlucoseUnit,
) -> str:
    """The one rule's sentence (:func:`lifetwin.capabilities.unusual.unusual`), in a unit.

    >>> _glucose_sentence(198.0, None, None, None, True, (70.0, 180.0), "mmol/L")
    '11.0 mmol/L is above your target range (3.9–10.0 mmol/L).'
    """

    def s(v: float) -> str:
        return shown(to_unit(v, unit), unit)

    target = f"{s(bounds[0])}–{s(bounds[1])} {unit}"
    if value < bounds[0]:
        return f"{s(value)} {unit} is below your target range ({target})."
    if value > bounds[1]:
        return f"{s(value)} {unit} is above your target range ({target})."
    if unusual and z is not None and usual is not None and spread is not None:
        return (
            f"{s(value)} {unit} is unusually {'high' if z > 0 else 'low'} for you "
            f"(usually {s(usual)} ± {s(spread)}, z {z:+.1f})."
        )
    if z is not None:
        return f"{s(value)} {unit} is within your usual range."
    return f"{s(value)} {unit} is within your targets ({target})."


def values_in_unit(found: M, profile: dict[str, Any]) -> M:
    """A metric's values (``MetricValues`` of glucose) in the person's unit."""
    unit = preferred_unit(profile)
    if unit == "mg/dL":
        return found
    rows = [
        row.model_copy(
            update={
                "value": to_unit(float(row.value), unit)
                if isinstance(row.value, int | float)
                else row.value,
                "unit": unit,
            }
        )
        for row in getattr(found, "latest")  # noqa: B009 (a model of the data operations)
    ]
    copy = converted(found, ("minimum", "mean", "maximum"), unit)
    return copy.model_copy(update={"unit": unit, "latest": rows})
