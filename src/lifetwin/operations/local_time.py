"""The person's own clock: their time zone (the profile fact ``time_zone``), local days and
clock times, so every surface shows a night, a workout or a payment at the hour the person
lived it — with the zone named.

When the profile has no ``time_zone``, the UTC offset the data were recorded with stands in
(named ``UTC+01:00``), and without that, UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def offset_name(minutes: int) -> str:
    """A fixed offset's name.

    >>> offset_name(60), offset_name(-330), offset_name(0)
    ('UTC+01:00', 'UTC-05:30', 'UTC')
    """
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def person_zone(
    profile: dict[str, Any], recorded_offset_min: int | None = None
) -> tuple[tzinfo, str]:
    """The person's zone and its name: the profile's ``time_zone``, else the offset the
    data carry, else UTC.

    >>> person_zone({"time_zone": "Europe/Berlin"})[1]
    'Europe/Berlin'
    >>> person_zone({}, 120)[1], person_zone({})[1]
    ('UTC+02:00', 'UTC')
    """
    name = profile.get("time_zone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name), name
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if recorded_offset_min:
        return timezone(timedelta(minutes=recorded_offset_min)), offset_name(recorded_offset_min)
    return UTC, "UTC"


def local(moment: datetime, zone: tzinfo) -> datetime:
    """The same instant on the person's clock."""
    return moment.astimezone(zone)


def from_ms(ms: int, zone: tzinfo) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(zone)


def day_start(day: date, zone: tzinfo) -> datetime:
    """Local midnight at the start of ``day`` (an aware time)."""
    return datetime.combine(day, datetime.min.time(), zone)


def local_minutes(ts_ms: I64, zone: tzinfo) -> I64:
    """Minutes since 1970-01-01 00:00 on the person's clock, for each time (the zone's
    offset looked up once per hour, so a change to summer time falls where it should).

    >>> t = np.array([0, 3_600_000], dtype=np.int64)
    >>> local_minutes(t, ZoneInfo("Europe/Berlin")).tolist()
    [60, 120]
    """
    hours, inverse = np.unique(ts_ms // 3_600_000, return_inverse=True)
    offsets = np.zeros(len(hours), dtype=np.int64)
    for i, hour in enumerate(hours.tolist()):
        offset = datetime.fromtimestamp(hour * 3600, UTC).astimezone(zone).utcoffset()
        offsets[i] = int(offset.total_seconds() // 60) if offset else 0
    return np.asarray(ts_ms // 60_000 + offsets[inverse.ravel()], dtype=np.int64)


def today(zone: tzinfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(zone).date()


def parse_day(text: str | None, what: str = "the day") -> date | None:
    """A YYYY-MM-DD date (None for nothing), or one sentence why not.

    >>> parse_day("2026-11-14")
    datetime.date(2026, 11, 14)
    """
    if text is None or text == "":
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        from lifetwin.core.errors import LifeTwinError

        raise LifeTwinError(f"'{text}' is not a date for {what} (use YYYY-MM-DD).") from None


def clock(minutes: float) -> str:
    """Minutes after midnight as a clock time (wrapped to one day).

    >>> clock(23 * 60 + 7.6), clock(1441), clock(-30)
    ('23:08', '00:01', '23:30')
    """
    whole = round(minutes) % 1440
    return f"{whole // 60:02d}:{whole % 60:02d}"
