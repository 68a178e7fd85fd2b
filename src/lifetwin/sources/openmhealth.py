"""Open mHealth data points (https://www.openmhealth.org/documentation/#/schema-docs).

Reads a single data point, a JSON array of them, or newline-delimited JSON;
each item may be a full data point (``header`` + ``body``) or a bare body as
the schemas' own examples are. The schema is taken from the header's
``schema_id`` or, for a bare body, from the measure's key.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lifetwin.core.model import Event, EventKind, Observation, Problem, Provenance
from lifetwin.core.units import conversion
from lifetwin.core.vocabulary import metric
from lifetwin.sources.base import Item, ReadOptions
from lifetwin.sources.textio import json_items, parse_time

# body key -> LifeTwin metric, for the omh schemas that carry one unit value
_MEASURES: dict[str, str] = {
    "heart_rate": "heart_rate",
    "blood_glucose": "glucose",
    "step_count": "steps",
    "body_weight": "body_mass",
    "body_height": "height",
    "body_temperature": "body_temperature",
    "oxygen_saturation": "oxygen_saturation",
    "respiratory_rate": "respiratory_rate",
    "body_mass_index": "bmi",
    "body_fat_percentage": "body_fat",
    "kcal_burned": "active_energy",
    "sleep_duration": "sleep_duration",
    "minutes_moderate_activity": "exercise_minutes",
    "systolic_blood_pressure": "blood_pressure_systolic",
    "diastolic_blood_pressure": "blood_pressure_diastolic",
}
_DURATION_UNITS = {"ms": 0.001, "sec": 1, "s": 1, "min": 60, "h": 3600, "d": 86400, "wk": 604800}
_DEFAULT_UNITS = {"step_count": "count", "body_mass_index": "kg/m2"}


class OpenMHealthConnector:
    name = "openmhealth"
    priority = 180  # detection order: lower is tried first
    description = "Open mHealth data points (JSON, JSON array or NDJSON)"

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() not in (".json", ".ndjson", ".jsonl"):
            return False
        text = head.decode("utf-8", "replace")
        return "effective_time_frame" in text or '"schema_id"' in text

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        for item in json_items(path, options.encoding):
            if isinstance(item, Problem):
                yield item
                continue
            line, value = item
            points = value if isinstance(value, list) else [value]
            for point in points:
                try:
                    yield from _data_point(path, line, point, options)
                except (ValueError, TypeError, KeyError) as exc:
                    yield Problem(file=path.name, line=line, reason=_reason(exc))


def _reason(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"the data point has no {exc.args[0]}"
    return str(exc).splitlines()[0]


def _data_point(path: Path, line: int, point: Any, options: ReadOptions) -> Iterator[Item]:
    if not isinstance(point, dict):
        raise ValueError("the item is not a JSON object")
    raw_header = point.get("header")
    header: dict[str, Any] = raw_header if isinstance(raw_header, dict) else {}
    body = point.get("body", point)
    if not isinstance(body, dict):
        raise ValueError("the data point's body is not a JSON object")
    acquisition = header.get("acquisition_provenance") or {}
    source = options.source or str(acquisition.get("source_name") or "openmhealth")
    device = str(acquisition["device"]) if acquisition.get("device") else None
    record_id = str(header["id"]) if header.get("id") else None
    provenance = Provenance(file=path.name, line=line, record=record_id)
    start, end = _time_frame(body.get("effective_time_frame"))
    schema = (header.get("schema_id") or {}).get("name")
    if schema == "physical-activity" or "activity_name" in body:
        yield _activity(body, start, end, source, provenance)
        return
    if isinstance(body.get("lifetwin_event"), dict):  # LifeTwin's own export of events
        raw = body["lifetwin_event"]
        yield Event(
            kind=EventKind(raw["kind"]),
            start=start,
            end=end,
            title=raw.get("title"),
            details=dict(raw.get("details") or {}),
            source=source,
            device=device,
            provenance=provenance,
        )
        return
    if isinstance(body.get("lifetwin_metric"), dict):  # a metric Open mHealth has no schema for
        raw = body["lifetwin_metric"]
        yield Observation(
            metric=str(raw["code"]),
            value=raw["value"],
            unit=raw.get("unit"),
            start=start,
            end=end,
            source=source,
            device=device,
            provenance=provenance,
        )
        return
    found = False
    for key, code in _MEASURES.items():
        if key not in body:
            continue
        found = True
        value, unit = _unit_value(body[key], key)
        yield Observation(
            metric=code,
            value=value,
            unit=unit,
            start=start,
            end=end,
            source=source,
            device=device,
            provenance=provenance,
        )
    if not found:
        raise ValueError(
            f"the data point's schema ({schema or 'unknown'}) is not one LifeTwin reads"
        )


def _unit_value(raw: Any, key: str) -> tuple[float, str | None]:
    if isinstance(raw, dict):
        if "value" not in raw:
            raise ValueError(f"{key} has no value")
        value, unit = raw["value"], raw.get("unit")
    else:
        value, unit = raw, None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} value '{value}' is not a number")
    return float(value), str(unit) if unit is not None else _DEFAULT_UNITS.get(key)


def _time_frame(frame: Any) -> tuple[datetime, datetime | None]:
    if not isinstance(frame, dict):
        raise ValueError("the data point has no effective_time_frame")
    if "date_time" in frame:
        return _aware(frame["date_time"]), None
    interval = frame.get("time_interval")
    if not isinstance(interval, dict):
        raise ValueError("effective_time_frame has neither date_time nor time_interval")
    duration = interval.get("duration")
    if "start_date_time" in interval:
        start = _aware(interval["start_date_time"])
        if "end_date_time" in interval:
            return start, _aware(interval["end_date_time"])
        return start, start + _duration(duration)
    if "end_date_time" in interval:
        end = _aware(interval["end_date_time"])
        return end - _duration(duration), end
    raise ValueError("time_interval has no start_date_time or end_date_time")


def _aware(value: Any) -> datetime:
    # Open mHealth requires an offset; a time without one is read as UTC.
    return parse_time(value, "iso", UTC)


def _duration(raw: Any) -> timedelta:
    if not isinstance(raw, dict) or "value" not in raw:
        raise ValueError("time_interval needs an end_date_time or a duration")
    unit = str(raw.get("unit", ""))
    if unit not in _DURATION_UNITS:
        raise ValueError(f"'{unit}' is not an Open mHealth duration unit")
    return timedelta(seconds=float(raw["value"]) * _DURATION_UNITS[unit])


def _activity(
    body: dict[str, Any],
    start: datetime,
    end: datetime | None,
    source: str,
    provenance: Provenance,
) -> Event:
    details: dict[str, Any] = {}
    if isinstance(body.get("distance"), dict):
        value, unit = _unit_value(body["distance"], "distance")
        details["distance_m"] = conversion(unit, metric("distance")).apply(value)
    if isinstance(body.get("kcal_burned"), dict):
        details["energy_kcal"] = _unit_value(body["kcal_burned"], "kcal_burned")[0]
    if body.get("reported_activity_intensity"):
        details["intensity"] = str(body["reported_activity_intensity"])
    return Event(
        kind=EventKind.WORKOUT,
        start=start,
        end=end,
        title=str(body.get("activity_name") or "activity"),
        details=details,
        source=source,
        provenance=provenance,
    )
