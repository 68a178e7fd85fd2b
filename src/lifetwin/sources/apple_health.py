"""Apple Health: ``export.zip`` or ``export.xml`` from the Health app, streamed.

Reads Records of every quantity type LifeTwin knows (values converted from
Apple's units, fractions in "%" scaled, "mmol<180.15…>/L" read as mmol/L),
sleep-analysis stages and mindful sessions, Workouts (statistics, events,
metadata, time zone, and the GPX route inside the zip), ActivitySummary days,
source name and device. Types outside the vocabulary are counted and skipped.

Memory stays flat whatever the file size: elements are freed as soon as they
are read, and numbers travel as column chunks rather than one object each.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

import numpy as np

from lifetwin.core.errors import LifeTwinError, UnknownMetricError
from lifetwin.core.model import Event, EventKind, Observation, Problem, Provenance, Quality
from lifetwin.core.units import conversion
from lifetwin.core.vocabulary import Metric, metric
from lifetwin.sources.base import Item, ReadOptions, SeriesChunk, Skipped
from lifetwin.sources.safeio import check_archive, iterparse, open_member, parse_small

CHUNK = 50_000
_SLEEP = {
    "HKCategoryValueSleepAnalysisInBed": "in_bed",
    "HKCategoryValueSleepAnalysisAsleep": "asleep",
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "asleep",
    "HKCategoryValueSleepAnalysisAwake": "awake",
    "HKCategoryValueSleepAnalysisAsleepCore": "light",
    "HKCategoryValueSleepAnalysisAsleepDeep": "deep",
    "HKCategoryValueSleepAnalysisAsleepREM": "rem",
}
_FRACTION_PERCENT = {"oxygen_saturation", "body_fat"}  # Apple writes 0.97 with unit "%"
_MOLAR = re.compile(r"^mmol<[\d.]+>/L$")
_GPX = "{http://www.topografix.com/GPX/1/1}"


class AppleHealthConnector:
    name = "apple_health"
    priority = 10  # detection order: lower is tried first
    description = "Apple Health export.zip or export.xml (records, sleep, workouts, routes)"

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    return any(n.endswith("export.xml") for n in archive.namelist())
            except (zipfile.BadZipFile, OSError):
                return False
        return b"<HealthData" in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        if path.suffix.lower() != ".zip":
            with path.open("rb") as handle:
                yield from _parse(handle, path.name, {}, options)
            return
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            yield Problem(file=path.name, reason="the file is not a readable zip archive")
            return
        with archive:
            check_archive(archive, path.name)
            members = [i for i in archive.infolist() if not i.filename.startswith("__MACOSX")]
            exports = [
                i
                for i in members
                if i.filename.endswith("/export.xml") or i.filename == "export.xml"
            ]
            if not exports:
                yield Problem(file=path.name, reason="the zip holds no export.xml")
                return
            routes = {
                i.filename.rsplit("/", 1)[-1]: i for i in members if i.filename.endswith(".gpx")
            }
            reader = _RouteReader(archive, routes, path.name)
            with open_member(archive, exports[0], path.name) as handle:
                yield from _parse(handle, exports[0].filename, reader.points, options)


class _RouteReader:
    def __init__(
        self, archive: zipfile.ZipFile, routes: dict[str, zipfile.ZipInfo], name: str
    ) -> None:
        self.archive, self.routes, self.name = archive, routes, name

    def points(self, reference: str) -> list[list[float]] | None:
        info = self.routes.get(reference.rsplit("/", 1)[-1])
        if info is None:
            return None
        if info.file_size > 32 * 1024 * 1024:  # a route is a few MB; parsed whole
            return None
        with open_member(self.archive, info, self.name) as handle:
            root = parse_small(handle.read(), info.filename)
        out = []
        for point in root.iter(f"{_GPX}trkpt"):
            when = point.findtext(f"{_GPX}time")
            elevation = point.findtext(f"{_GPX}ele")
            moment = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
            out.append(
                [
                    round(moment.timestamp() * 1000) if moment else 0,
                    float(point.get("lat")),
                    float(point.get("lon")),
                    float(elevation) if elevation else float("nan"),
                ]
            )
        return out


@dataclass
class _Buffer:
    metric: str
    unit: str | None
    source: str
    device: str | None
    starts: list[str] = field(default_factory=list)
    ends: list[str] = field(default_factory=list)
    values: list[str] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


@lru_cache(maxsize=4096)
def _device(raw: str | None) -> str | None:
    """'<<HKDevice: 0x…>, name:Apple Watch, …, hardware:Watch6,7, …>' -> 'Apple Watch Watch6,7'."""
    if not raw:
        return None
    fields = dict(re.findall(r"(\w+):([^,>]+(?:,\d+)?)", raw))
    name = fields.get("name", "").strip()
    hardware = fields.get("hardware", "").strip()
    return " ".join(" ".join(x.split()) for x in (name, hardware) if x) or None


@lru_cache(maxsize=4096)
def _name(raw: str | None) -> str | None:
    """Apple writes "Apple\u00a0Watch" with a no-break space; keep plain spaces."""
    return " ".join(raw.split()) if raw else None


@lru_cache(maxsize=512)
def _offset_min(text: str) -> int:
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    return sign * (int(digits[:2]) * 60 + int(digits[2:4]))


def _parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")


@lru_cache(maxsize=1024)
def _metric_for(hk_type: str) -> Metric | None:
    try:
        return metric(hk_type)
    except UnknownMetricError:
        return None


@lru_cache(maxsize=256)
def _unit(code: str, unit: str | None) -> str | None:
    if unit and _MOLAR.match(unit):
        return "mmol/L"
    if code == "bmi" and unit == "count":
        return "kg/m2"
    return unit


def _times(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    local = np.array([t[:10] + "T" + t[11:19] for t in texts], dtype="datetime64[s]")
    offsets = np.array([_offset_min(t[20:]) for t in texts], dtype=np.int64)
    ms = (local.astype(np.int64) - offsets * 60) * 1000
    return ms, offsets


def _chunk(buffer: _Buffer, file: str) -> Iterator[Item]:
    try:
        starts, tz = _times(buffer.starts)
        ends, _ = _times(buffer.ends)
        values = np.array(buffer.values, dtype=np.float64)
    except (ValueError, IndexError):
        yield from _chunk_slowly(buffer, file)
        return
    unit = _unit(buffer.metric, buffer.unit)
    if buffer.metric in _FRACTION_PERCENT and unit == "%":
        values = values * 100
    yield SeriesChunk(
        metric=buffer.metric,
        unit=unit,
        source=buffer.source,
        device=buffer.device,
        file=file,
        start_ms=starts,
        dur_ms=np.maximum(ends - starts, 0),
        value=values,
        tz_min=tz,
        line=np.array(buffer.lines, dtype=np.int64),
    )


def _chunk_slowly(buffer: _Buffer, file: str) -> Iterator[Item]:
    """One record at a time, to name the bad ones (rare: a damaged export)."""
    good = _Buffer(buffer.metric, buffer.unit, buffer.source, buffer.device)
    for start, end, value, line in zip(
        buffer.starts, buffer.ends, buffer.values, buffer.lines, strict=True
    ):
        try:
            _parse_time(start), _parse_time(end), float(value)
        except ValueError:
            yield Problem(
                file=file,
                line=line,
                reason=f"the record's time or value is malformed ({start!r}, {value!r})",
            )
            continue
        good.starts.append(start)
        good.ends.append(end)
        good.values.append(value)
        good.lines.append(line)
    if good.starts:
        yield from _chunk(good, file)


def _parse(
    handle: IO[bytes],
    file: str,
    routes: Any,
    options: ReadOptions,
) -> Iterator[Item]:
    buffers: dict[tuple[str, str | None, str, str | None], _Buffer] = {}
    buffered = 0
    skipped: dict[str, int] = {}
    default_zone: timezone = UTC
    tags = ("Record", "Workout", "ActivitySummary", "ExportDate")
    try:
        for _event, elem in iterparse(handle, file, tags):
            tag = elem.tag
            line = elem.sourceline or 0
            if tag == "Record":
                hk_type = elem.get("type", "")
                m = _metric_for(hk_type)
                if m is None:
                    skipped[hk_type] = skipped.get(hk_type, 0) + 1
                elif m.code == "sleep_stage":
                    yield _sleep(elem, file, line, options)
                elif m.code == "mindful_minutes" or m.is_numeric:
                    source = options.source or _name(elem.get("sourceName")) or "Apple Health"
                    if m.code == "mindful_minutes":
                        value = str(
                            (
                                _parse_time(elem.get("endDate", ""))
                                - _parse_time(elem.get("startDate", ""))
                            ).total_seconds()
                            / 60
                        )
                        unit: str | None = "min"
                    else:
                        value, unit = elem.get("value", ""), elem.get("unit")
                    quality = _quality(elem)
                    key = (m.code, unit, source, _device(elem.get("device")))
                    if quality:
                        yield _observation(
                            elem, m, value, unit, key[2], key[3], file, line, quality
                        )
                    else:
                        buffer = buffers.get(key)
                        if buffer is None:
                            buffer = buffers[key] = _Buffer(m.code, unit, key[2], key[3])
                        buffer.starts.append(elem.get("startDate", ""))
                        buffer.ends.append(elem.get("endDate") or elem.get("startDate", ""))
                        buffer.values.append(value)
                        buffer.lines.append(line)
                        buffered += 1
                else:
                    skipped[hk_type] = skipped.get(hk_type, 0) + 1
            elif tag == "Workout":
                yield _workout(elem, file, line, routes, options)
            elif tag == "ActivitySummary":
                yield from _activity_summary(elem, file, line, default_zone)
            elif tag == "ExportDate":
                value = elem.get("value", "")
                try:
                    moment = _parse_time(value)
                    offset = moment.utcoffset()
                    default_zone = timezone(offset) if offset is not None else UTC
                except ValueError:
                    pass
            parent = elem.getparent()
            if parent is not None and parent.getparent() is None:  # a child of <HealthData>
                elem.clear()
                while elem.getprevious() is not None:
                    del parent[0]
            if buffered >= CHUNK:
                for buffer in buffers.values():
                    yield from _chunk(buffer, file)
                buffers.clear()
                buffered = 0
    except LifeTwinError:
        raise
    except Exception as exc:  # lxml's XMLSyntaxError and kin: say where, keep what came before
        line = getattr(exc, "lineno", None)
        message = (str(exc) or type(exc).__name__).splitlines()[0]
        yield Problem(
            file=file,
            line=line if isinstance(line, int) else None,
            reason=f"the XML is malformed or truncated ({message})",
        )
    for buffer in buffers.values():
        yield from _chunk(buffer, file)
    for hk_type, count in sorted(skipped.items()):
        yield Skipped(
            what=hk_type or "records without a type",
            count=count,
            reason="not in LifeTwin's vocabulary yet",
        )


def _quality(elem: Any) -> Quality:
    quality = Quality.NONE
    for child in elem:
        entered = child.tag == "MetadataEntry" and child.get("key") == "HKWasUserEntered"
        if entered and child.get("value") == "1":
            quality |= Quality.MANUAL_ENTRY
    return quality


def _observation(
    elem: Any,
    m: Metric,
    value: str,
    unit: str | None,
    source: str,
    device: str | None,
    file: str,
    line: int,
    quality: Quality,
) -> Item:
    try:
        start = _parse_time(elem.get("startDate", ""))
        end = _parse_time(elem.get("endDate") or elem.get("startDate", ""))
        number = float(value)
    except ValueError:
        return Problem(file=file, line=line, reason="the record's time or value is malformed")
    unit = _unit(m.code, unit)
    if m.code in _FRACTION_PERCENT and unit == "%":
        number *= 100
    return Observation(
        metric=m.code,
        value=number,
        unit=unit,
        start=start,
        end=end if end != start else None,
        source=source,
        device=device,
        provenance=Provenance(file=file, line=line),
        quality=quality,
    )


def _sleep(elem: Any, file: str, line: int, options: ReadOptions) -> Item:
    stage = _SLEEP.get(elem.get("value", ""))
    if stage is None:
        return Problem(
            file=file,
            line=line,
            reason=f"'{elem.get('value')}' is not a sleep stage LifeTwin knows",
        )
    try:
        start, end = _parse_time(elem.get("startDate", "")), _parse_time(elem.get("endDate", ""))
    except ValueError:
        return Problem(file=file, line=line, reason="the sleep record's times are malformed")
    return Observation(
        metric="sleep_stage",
        value=stage,
        start=start,
        end=end,
        source=options.source or _name(elem.get("sourceName")) or "Apple Health",
        device=_device(elem.get("device")),
        provenance=Provenance(file=file, line=line),
    )


def _number(elem: Any, key: str) -> float | None:
    raw = elem.get(key)
    try:
        return float(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def _workout(elem: Any, file: str, line: int, routes: Any, options: ReadOptions) -> Item:
    try:
        start, end = _parse_time(elem.get("startDate", "")), _parse_time(elem.get("endDate", ""))
    except ValueError:
        return Problem(file=file, line=line, reason="the workout's times are malformed")
    activity = (elem.get("workoutActivityType") or "").removeprefix("HKWorkoutActivityType")
    details: dict[str, Any] = {}
    duration = _number(elem, "duration")
    if duration is not None:
        unit = elem.get("durationUnit") or "min"
        details["duration_min"] = round(duration * {"min": 1, "s": 1 / 60, "h": 60}.get(unit, 1), 6)
    distance = _number(elem, "totalDistance")
    if distance is not None:
        details["distance_m"] = conversion(
            elem.get("totalDistanceUnit") or "km", metric("distance")
        ).apply(distance)
    energy = _number(elem, "totalEnergyBurned")
    if energy is not None:
        details["energy_kcal"] = conversion(
            elem.get("totalEnergyBurnedUnit") or "kcal", metric("active_energy")
        ).apply(energy)
    metadata: dict[str, str] = {}
    statistics: dict[str, dict[str, Any]] = {}
    events: list[dict[str, Any]] = []
    route: list[list[float]] = []
    for child in elem:
        if child.tag == "MetadataEntry":
            metadata[child.get("key", "")] = child.get("value", "")
        elif child.tag == "WorkoutStatistics":
            name = child.get("type", "")
            found = _metric_for(name)
            statistics[found.code if found else name] = {
                k: float(v) if k in ("sum", "average", "minimum", "maximum") else v
                for k, v in child.attrib.items()
                if k in ("sum", "average", "minimum", "maximum", "unit")
            }
        elif child.tag == "WorkoutEvent":
            events.append(
                {
                    k: child.get(k)
                    for k in ("type", "date", "duration", "durationUnit")
                    if child.get(k)
                }
            )
        elif child.tag == "WorkoutRoute":
            for part in child:
                if part.tag == "FileReference" and part.get("path") and routes:
                    route = routes(part.get("path")) or route
                elif part.tag == "Location":
                    when = part.get("date")
                    route.append(
                        [
                            round(_parse_time(when).timestamp() * 1000) if when else 0,
                            float(part.get("latitude", "nan")),
                            float(part.get("longitude", "nan")),
                            float(part.get("altitude", "nan")),
                        ]
                    )
    if "HKTimeZone" in metadata:
        details["time_zone"] = metadata.pop("HKTimeZone")
    if metadata:
        details["metadata"] = metadata
    if statistics:
        details["statistics"] = statistics
    if events:
        details["events"] = events
    if route:
        details["route"] = {
            "points": len(route),
            "columns": ["time_ms", "lat", "lon", "ele"],
            "data": route,
        }
    return Event(
        kind=EventKind.WORKOUT,
        start=start,
        end=end,
        title=activity or "Workout",
        details=details,
        source=options.source or _name(elem.get("sourceName")) or "Apple Health",
        device=_device(elem.get("device")),
        provenance=Provenance(file=file, line=line),
    )


def _activity_summary(elem: Any, file: str, line: int, zone: timezone) -> Iterator[Item]:
    day = elem.get("dateComponents", "")
    try:
        start = datetime.fromisoformat(day).replace(tzinfo=zone)
    except ValueError:
        yield Problem(file=file, line=line, reason=f"'{day}' is not a date")
        return
    end = start + timedelta(days=1)
    for attribute, code, unit in (
        ("activeEnergyBurned", "active_energy", elem.get("activeEnergyBurnedUnit") or "kcal"),
        ("appleExerciseTime", "exercise_minutes", "min"),
        ("appleStandHours", "stand_hours", "count"),
    ):
        value = _number(elem, attribute)
        if value is not None:
            yield Observation(
                metric=code,
                value=value,
                unit=unit,
                start=start,
                end=end,
                source="Apple Activity summary",
                provenance=Provenance(file=file, line=line),
            )
