"""Normalization and plausibility checks.

A value that converts but is implausible (heart rate 900 bpm, glucose -5) is
*quarantined*: kept, with the reason, visible to the person, and never used as
good data. A value that cannot be interpreted at all (an unknown metric, a unit
that does not convert) is an error the importer reports as a problem.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from lifetwin.core.model import Observation, Quarantined
from lifetwin.core.units import canonical_unit, conversion
from lifetwin.core.vocabulary import Metric, ValueType, metric

FUTURE_TOLERANCE = timedelta(days=1)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
EARLIEST_MS = int(EARLIEST.timestamp() * 1000)


def time_reason(start_ms: int, now_ms: int) -> str | None:
    """Why a time (epoch milliseconds) cannot be a measurement's, or None. Shared by the
    importer and the API's ingest, so both refuse the same times.

    >>> time_reason(0, 1_700_000_000_000) is None
    True
    >>> time_reason(-3_000_000_000_000, 0)
    'the time 1874-12-07T18:40:00+00:00 is before 1900'
    """
    if start_ms < EARLIEST_MS:
        if start_ms < -62_135_596_800_000:  # before the year 1
            return f"the time {start_ms} ms is before 1900"
        moment = EARLIEST + timedelta(milliseconds=start_ms - EARLIEST_MS)
        return f"the time {moment.replace(microsecond=0).isoformat()} is before 1900"
    if start_ms > now_ms + int(FUTURE_TOLERANCE.total_seconds() * 1000):
        if start_ms > 253_402_300_799_000:  # after the year 9999
            return f"the time {start_ms} ms is in the future"
        moment = datetime.fromtimestamp(start_ms / 1000, UTC)
        return f"the time {moment.isoformat()} is in the future"
    return None


def times_ok(start_ms: npt.NDArray[np.int64], now_ms: int) -> npt.NDArray[np.bool_]:
    """Where times are between 1900 and a day from now (what ``time_reason`` accepts)."""
    limit = now_ms + int(FUTURE_TOLERANCE.total_seconds() * 1000)
    return (start_ms >= EARLIEST_MS) & (start_ms <= limit)


def _fmt(value: float) -> str:
    return f"{value:g}"


def range_reason(m: Metric, value: float) -> str | None:
    """Why ``value`` (canonical unit) is implausible for ``m``, or None if it is fine.

    >>> range_reason(metric("heart_rate"), 900.0)
    'heart_rate 900 bpm is outside the plausible range 20 to 250 bpm'
    """
    low = m.minimum if m.minimum is not None else -np.inf
    high = m.maximum if m.maximum is not None else np.inf
    if low <= value <= high:
        return None
    unit = f" {m.unit}" if m.unit not in ("dimensionless", "currency") else ""
    return (
        f"{m.code} {_fmt(value)}{unit} is outside the plausible range "
        f"{_fmt(low)} to {_fmt(high)}{unit}"
    )


def plausible_mask(m: Metric, values: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
    """True where values (canonical unit) are finite and inside the metric's range."""
    ok = np.isfinite(values)
    if m.minimum is not None:
        ok &= values >= m.minimum
    if m.maximum is not None:
        ok &= values <= m.maximum
    return ok


def normalize(observation: Observation, now: datetime) -> Observation | Quarantined:
    """Convert to the canonical unit and check plausibility.

    Raises UnknownMetricError or UnitError when the observation cannot be read.
    """
    m = metric(observation.metric)
    value: float | str = observation.value
    reason: str | None = None
    if m.value_type is ValueType.NUMBER:
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                return Quarantined(
                    observation=observation,
                    reason=f"{m.code} needs a number, but '{value}' is not one",
                )
        value = conversion(observation.unit, m).apply(value)
        reason = range_reason(m, value)
    elif m.value_type is ValueType.CATEGORY:
        value = str(value).strip().lower()
        if m.categories and value not in m.categories:
            reason = (
                f"'{value}' is not a {m.code} category (expected one of {', '.join(m.categories)})"
            )
    else:
        value = str(value)
    normalized = observation.model_copy(
        update={
            "metric": m.code,
            "value": value,
            "unit": canonical_unit(m, observation.unit) if m.is_numeric else None,
        }
    )
    if reason is None:
        reason = time_reason(int(observation.start.timestamp() * 1000), int(now.timestamp() * 1000))
    if reason is not None:
        return Quarantined(observation=normalized, reason=reason)
    return normalized
