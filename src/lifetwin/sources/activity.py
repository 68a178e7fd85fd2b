"""Activities: Garmin FIT (activity, monitoring, weight scale, HRV), TCX and GPX.

FIT times are UTC; an activity's local offset comes from its ``local_timestamp``.
Each activity becomes a workout event (sport, duration, distance, energy, heart
rate, HRV from beat-to-beat intervals when present, and the route) plus heart-rate,
speed and power series. TCX and GPX are parsed with the same safe XML settings as
Apple Health.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import fitdecode
import numpy as np

from lifetwin.core.model import Event, EventKind, Observation, Problem, Provenance
from lifetwin.sources.base import Item, ReadOptions, SeriesChunk
from lifetwin.sources.safeio import parse_small

SEMICIRCLE_DEG = 180.0 / 2**31
MAX_XML_BYTES = 32 * 1024 * 1024  # a GPX or TCX is parsed whole


def _chunk(
    metric: str,
    unit: str,
    source: str,
    device: str | None,
    file: str,
    points: list[tuple[int, float, int]],
    tz_min: int,
) -> SeriesChunk:
    times = np.array([p[0] for p in points], dtype=np.int64)
    return SeriesChunk(
        metric=metric,
        unit=unit,
        source=source,
        device=device,
        file=file,
        start_ms=times,
        dur_ms=np.zeros(len(points), dtype=np.int64),
        value=np.array([p[1] for p in points], dtype=np.float64),
        tz_min=np.full(len(points), tz_min, dtype=np.int64),
        line=np.array([p[2] for p in points], dtype=np.int64),
    )


def _rmssd_ms(rr_s: list[float]) -> float | None:
    rr = np.array([r for r in rr_s if r and 0.25 < r < 2.5]) * 1000
    if len(rr) < 10:
        return None
    return float(np.round(np.sqrt(np.mean(np.diff(rr) ** 2)), 1))


class FitConnector:
    name = "fit"
    priority = 20  # detection order: lower is tried first
    description = "Garmin FIT files (activities, monitoring, weight scale, HRV) via fitdecode"

    def detect(self, path: Path, head: bytes) -> bool:
        return len(head) >= 12 and head[8:12] == b".FIT"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "Garmin"
        file = path.name
        series: dict[str, list[tuple[int, float, int]]] = {
            "heart_rate": [],
            "speed": [],
            "cycling_power": [],
        }
        route: list[list[float]] = []
        rr: list[float] = []
        session: dict[str, Any] = {}
        device: str | None = None
        offset_min = 0
        last_full: datetime | None = None
        monitoring_steps: dict[str, float] = {}
        index = 0
        try:
            with fitdecode.FitReader(str(path), check_crc=fitdecode.CrcCheck.RAISE) as fit:
                for frame in fit:
                    if not isinstance(frame, fitdecode.FitDataMessage):
                        continue
                    index += 1
                    values = {f.name: f.value for f in frame.fields if f.value is not None}
                    name = frame.name
                    stamp = values.get("timestamp")
                    if isinstance(stamp, datetime):
                        last_full = stamp
                    if name == "file_id":
                        product = values.get("garmin_product") or values.get("product")
                        maker = values.get("manufacturer")
                        device = " ".join(str(x) for x in (maker, product) if x) or None
                    elif name == "record" and isinstance(stamp, datetime):
                        ms = round(stamp.timestamp() * 1000)
                        for field, metric in (
                            ("heart_rate", "heart_rate"),
                            ("enhanced_speed", "speed"),
                            ("power", "cycling_power"),
                        ):
                            if isinstance(values.get(field), int | float):
                                series[metric].append((ms, float(values[field]), index))
                        lat, lon = values.get("position_lat"), values.get("position_long")
                        if isinstance(lat, int) and isinstance(lon, int):
                            route.append(
                                [
                                    ms,
                                    round(lat * SEMICIRCLE_DEG, 7),
                                    round(lon * SEMICIRCLE_DEG, 7),
                                    float(values.get("enhanced_altitude", math.nan)),
                                ]
                            )
                    elif name == "hrv":
                        rr.extend(v for v in values.get("time", ()) if isinstance(v, float))
                    elif name == "session":
                        session = values
                    elif (
                        name == "activity"
                        and isinstance(values.get("local_timestamp"), datetime)
                        and stamp
                    ):
                        local = values["local_timestamp"].replace(tzinfo=UTC)
                        offset_min = round((local - stamp).total_seconds() / 60)
                    elif name == "weight_scale" and isinstance(stamp, datetime):
                        where = Provenance(file=file, record=str(index))
                        for field, metric, unit in (
                            ("weight", "body_mass", "kg"),
                            ("percent_fat", "body_fat", "%"),
                            ("bmi", "bmi", "kg/m2"),
                        ):
                            if isinstance(values.get(field), int | float):
                                yield Observation(
                                    metric=metric,
                                    value=float(values[field]),
                                    unit=unit,
                                    start=stamp,
                                    source=source,
                                    device=device,
                                    provenance=where,
                                )
                    elif name == "monitoring" and last_full is not None:
                        moment = _monitoring_time(values, last_full)
                        ms = round(moment.timestamp() * 1000)
                        if isinstance(values.get("heart_rate"), int) and values["heart_rate"]:
                            series["heart_rate"].append((ms, float(values["heart_rate"]), index))
                        steps = values.get("steps")
                        kind = str(values.get("activity_type", "all"))
                        if (
                            steps is None
                            and kind in ("walking", "running")
                            and isinstance(values.get("cycles"), int | float)
                        ):
                            # The profile's "steps" subfield of cycles: fitdecode reads the
                            # field with the cycles scale (2), so steps are twice the value.
                            steps = values["cycles"] * 2
                        if isinstance(steps, int | float):
                            before = monitoring_steps.get(kind, 0.0)
                            if steps >= before and steps > before:
                                yield Observation(
                                    metric="steps",
                                    value=float(steps - before),
                                    unit="count",
                                    start=moment,
                                    source=source,
                                    device=device,
                                    provenance=Provenance(file=file, record=str(index)),
                                )
                            monitoring_steps[kind] = float(steps)
        except Exception as exc:  # fitdecode raises many kinds on damaged input (struct.error, ...)
            yield Problem(file=file, reason=f"the FIT file is damaged or truncated ({exc})")
        for metric, points in series.items():
            if points:
                unit = {"heart_rate": "bpm", "speed": "m/s", "cycling_power": "W"}[metric]
                yield _chunk(metric, unit, source, device, file, points, offset_min)
        if session:
            yield _fit_workout(session, route, rr, offset_min, source, device, file)


def _monitoring_time(values: dict[str, Any], last_full: datetime) -> datetime:
    if isinstance(values.get("timestamp"), datetime):
        return values["timestamp"]  # type: ignore[no-any-return]
    short = values.get("timestamp_16")
    if not isinstance(short, int):
        return last_full
    base = int(last_full.timestamp()) - 631065600  # FIT epoch: 1989-12-31
    seconds = base + ((short - base) & 0xFFFF)
    return datetime.fromtimestamp(seconds + 631065600, UTC)


def _fit_workout(
    session: dict[str, Any],
    route: list[list[float]],
    rr: list[float],
    offset_min: int,
    source: str,
    device: str | None,
    file: str,
) -> Event:
    zone = timezone(timedelta(minutes=offset_min))
    start = session["start_time"].astimezone(zone)
    elapsed = float(session.get("total_elapsed_time", 0))
    details: dict[str, Any] = {"duration_min": round(elapsed / 60, 6)}
    for field, key in (
        ("total_distance", "distance_m"),
        ("total_calories", "energy_kcal"),
        ("avg_heart_rate", "avg_heart_rate_bpm"),
        ("max_heart_rate", "max_heart_rate_bpm"),
        ("total_ascent", "ascent_m"),
    ):
        if isinstance(session.get(field), int | float):
            details[key] = float(session[field])
    rmssd = _rmssd_ms(rr)
    if rmssd is not None:
        details["hrv_rmssd_ms"] = rmssd
        details["rr_intervals"] = len(rr)
    if route:
        details["route"] = {
            "points": len(route),
            "columns": ["time_ms", "lat", "lon", "ele"],
            "data": route,
        }
    sport = str(session.get("sport", "workout"))
    return Event(
        kind=EventKind.WORKOUT,
        start=start,
        end=start + timedelta(seconds=elapsed),
        title=sport.replace("_", " ").title(),
        details=details,
        source=source,
        device=device,
        provenance=Provenance(file=file),
    )


# -- TCX and GPX -----------------------------------------------------------------
_TCX = "{http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2}"
_GPX = "{http://www.topografix.com/GPX/1/1}"


def _xml(path: Path) -> Any:
    if path.stat().st_size > MAX_XML_BYTES:
        raise ValueError(f"the file is larger than {MAX_XML_BYTES // 2**20} MB")
    return parse_small(path.read_bytes(), path.name)


def _iso(text: str | None) -> datetime | None:
    if not text:
        return None
    moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TcxConnector:
    name = "tcx"
    priority = 30  # detection order: lower is tried first
    description = "Garmin Training Center TCX activities"

    def detect(self, path: Path, head: bytes) -> bool:
        return b"TrainingCenterDatabase" in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "TCX"
        try:
            root = _xml(path)
        except Exception as exc:  # lxml syntax errors, refused entities, size
            yield Problem(file=path.name, reason=f"the TCX cannot be read ({exc})")
            return
        for activity in root.iter(f"{_TCX}Activity"):
            hr: list[tuple[int, float, int]] = []
            route: list[list[float]] = []
            totals = {"seconds": 0.0, "meters": 0.0, "kcal": 0.0}
            start: datetime | None = None
            for lap in activity.iter(f"{_TCX}Lap"):
                start = start or _iso(lap.get("StartTime"))
                totals["seconds"] += float(lap.findtext(f"{_TCX}TotalTimeSeconds") or 0)
                totals["meters"] += float(lap.findtext(f"{_TCX}DistanceMeters") or 0)
                totals["kcal"] += float(lap.findtext(f"{_TCX}Calories") or 0)
                for point in lap.iter(f"{_TCX}Trackpoint"):
                    when = _iso(point.findtext(f"{_TCX}Time"))
                    if when is None:
                        continue
                    ms = round(when.timestamp() * 1000)
                    beat = point.find(f"{_TCX}HeartRateBpm/{_TCX}Value")
                    if beat is not None and beat.text:
                        hr.append((ms, float(beat.text), point.sourceline or 0))
                    lat = point.findtext(f"{_TCX}Position/{_TCX}LatitudeDegrees")
                    lon = point.findtext(f"{_TCX}Position/{_TCX}LongitudeDegrees")
                    if lat and lon:
                        alt = point.findtext(f"{_TCX}AltitudeMeters")
                        route.append([ms, float(lat), float(lon), float(alt) if alt else math.nan])
            if start is None:
                yield Problem(
                    file=path.name,
                    line=activity.sourceline,
                    reason="the activity has no lap start time",
                )
                continue
            if hr:
                yield _chunk("heart_rate", "bpm", source, None, path.name, hr, 0)
            details: dict[str, Any] = {
                "duration_min": round(totals["seconds"] / 60, 6),
                "distance_m": totals["meters"],
                "energy_kcal": totals["kcal"],
            }
            if route:
                details["route"] = {
                    "points": len(route),
                    "columns": ["time_ms", "lat", "lon", "ele"],
                    "data": route,
                }
            notes = activity.findtext(f"{_TCX}Notes")
            if notes:
                details["notes"] = notes
            yield Event(
                kind=EventKind.WORKOUT,
                start=start,
                end=start + timedelta(seconds=totals["seconds"]),
                title=activity.get("Sport") or "Workout",
                details=details,
                source=source,
                provenance=Provenance(file=path.name, line=activity.sourceline),
            )


class GpxConnector:
    name = "gpx"
    priority = 40  # detection order: lower is tried first
    description = "GPX tracks (with heart rate from Garmin's track point extension)"

    def detect(self, path: Path, head: bytes) -> bool:
        return b"<gpx" in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "GPX"
        try:
            root = _xml(path)
        except Exception as exc:
            yield Problem(file=path.name, reason=f"the GPX cannot be read ({exc})")
            return
        ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
        for track in root.iter(f"{ns}trk"):
            route: list[list[float]] = []
            hr: list[tuple[int, float, int]] = []
            for point in track.iter(f"{ns}trkpt"):
                when = _iso(point.findtext(f"{ns}time"))
                if when is None:
                    continue
                ms = round(when.timestamp() * 1000)
                ele = point.findtext(f"{ns}ele")
                route.append(
                    [
                        ms,
                        float(point.get("lat")),
                        float(point.get("lon")),
                        float(ele) if ele else math.nan,
                    ]
                )
                for child in point.iter():
                    if isinstance(child.tag, str) and child.tag.endswith("}hr") and child.text:
                        hr.append((ms, float(child.text), point.sourceline or 0))
            if not route:
                continue
            if hr:
                yield _chunk("heart_rate", "bpm", source, None, path.name, hr, 0)
            start = datetime.fromtimestamp(route[0][0] / 1000, UTC)
            end = datetime.fromtimestamp(route[-1][0] / 1000, UTC)
            distance = sum(_haversine_m(a, b) for a, b in itertools.pairwise(route))
            yield Event(
                kind=EventKind.WORKOUT,
                start=start,
                end=end,
                title=track.findtext(f"{ns}name") or track.findtext(f"{ns}type") or "Track",
                details={
                    "duration_min": round((end - start).total_seconds() / 60, 6),
                    "distance_m": round(distance, 1),
                    "route": {
                        "points": len(route),
                        "columns": ["time_ms", "lat", "lon", "ele"],
                        "data": route,
                    },
                },
                source=source,
                provenance=Provenance(file=path.name, line=track.sourceline),
            )


def _haversine_m(a: list[float], b: list[float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a[1], a[2], b[1], b[2]))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(h))
