"""Fitbit (Google Takeout files and Web API payloads), Google Fit REST datasets, Oura API v2.

Fitbit Takeout writes one file per metric and day (``heart_rate-2020-01-01.json``,
``steps-…``, ``resting_heart_rate-…``, ``sleep-…``, ``weight-…``) plus CSVs for SpO2
and HRV; times without an offset are read in ``--timezone`` (default: this machine's).
Fitbit Takeout ``weight`` is in the account's unit and does not say which: LifeTwin reads
it as pounds (Fitbit's default for US accounts). For an account set to kilograms, import
weight with the table connector and a mapping instead (a known limitation).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from lifetwin.core.model import Observation, Problem, Provenance
from lifetwin.sources.base import Item, ReadOptions
from lifetwin.sources.cgm import local_zone
from lifetwin.sources.textio import BoundedLines, json_items, parse_time

_TAKEOUT = re.compile(
    r"^(heart_rate|steps|resting_heart_rate|sleep|weight|calories|distance)-\d{4}-\d{2}-\d{2}\.json$"
)
_FITBIT_STAGES = {
    "wake": "awake",
    "awake": "awake",
    "restless": "awake",
    "light": "light",
    "deep": "deep",
    "rem": "rem",
    "asleep": "asleep",
}


def _json_docs(path: Path, options: ReadOptions) -> Iterator[tuple[int, Any] | Problem]:
    yield from json_items(path, options.encoding)


def _fitbit_time(text: str, tz: tzinfo) -> datetime:
    for fmt in (
        "%m/%d/%y %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S.%f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d",
    ):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    return parse_time(text, "iso", tz)


class FitbitConnector:
    name = "fitbit"
    priority = 80  # detection order: lower is tried first
    description = (
        "Fitbit Takeout JSON/CSV (heart rate, steps, sleep, weight, SpO2, HRV) and Web API"
    )

    def detect(self, path: Path, head: bytes) -> bool:
        name = path.name
        if _TAKEOUT.match(name):
            return True
        if name.startswith(("Daily SpO2", "Heart Rate Variability Summary")):
            return name.endswith(".csv")
        return path.suffix == ".json" and b'"activities-' in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        tz = local_zone(options)
        source = options.source or "Fitbit"
        if path.suffix == ".csv":
            yield from _fitbit_csv(path, tz, source, options)
            return
        kind = _TAKEOUT.match(path.name)
        for item in _json_docs(path, options):
            if isinstance(item, Problem):
                yield item
                continue
            line, doc = item
            try:
                if kind is None:
                    yield from _fitbit_web_api(doc, path.name, line, tz, source)
                else:
                    yield from _fitbit_takeout(kind.group(1), doc, path.name, line, tz, source)
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                yield Problem(file=path.name, line=line, reason=f"unexpected layout ({exc})")


def _fitbit_takeout(
    kind: str, doc: Any, file: str, line: int, tz: tzinfo, source: str
) -> Iterator[Item]:
    records = doc if isinstance(doc, list) else [doc]
    for index, record in enumerate(records):
        where = Provenance(file=file, line=line, record=str(record.get("logId") or index))
        if kind == "heart_rate":
            yield Observation(
                metric="heart_rate",
                value=float(record["value"]["bpm"]),
                unit="bpm",
                start=_fitbit_time(record["dateTime"], tz),
                source=source,
                provenance=where,
            )
        elif kind in ("steps", "calories", "distance"):
            metric, unit = {
                "steps": ("steps", "count"),
                "calories": ("active_energy", "kcal"),
                "distance": ("distance", "cm"),
            }[kind]
            start = _fitbit_time(record["dateTime"], tz)
            value = float(record["value"])
            if value == 0 and kind != "steps":
                continue
            yield Observation(
                metric=metric,
                value=value,
                unit=unit,
                start=start,
                end=start + timedelta(minutes=1),
                source=source,
                provenance=where,
            )
        elif kind == "resting_heart_rate":
            value = record["value"]
            if not value.get("value"):
                continue  # days without enough data carry 0
            yield Observation(
                metric="resting_heart_rate",
                value=float(value["value"]),
                unit="bpm",
                start=_fitbit_time(value["date"] + " 00:00:00", tz)
                if "/" in value["date"]
                else _fitbit_time(value["date"], tz),
                source=source,
                provenance=where,
            )
        elif kind == "weight":
            start = _fitbit_time(f"{record['date']} {record.get('time', '00:00:00')}", tz)
            yield Observation(
                metric="body_mass",
                value=float(record["weight"]),
                unit="lb",
                start=start,
                source=record.get("source") or source,
                provenance=where,
            )
            if record.get("fat"):
                yield Observation(
                    metric="body_fat",
                    value=float(record["fat"]),
                    unit="%",
                    start=start,
                    source=source,
                    provenance=where,
                )
        elif kind == "sleep":
            yield from _fitbit_sleep(record, tz, source, where)


def _fitbit_sleep(
    record: dict[str, Any], tz: tzinfo, source: str, where: Provenance
) -> Iterator[Item]:
    start = _fitbit_time(record["startTime"], tz)
    end = _fitbit_time(record["endTime"], tz)
    yield Observation(
        metric="sleep_duration",
        value=float(record.get("minutesAsleep", 0)),
        unit="min",
        start=start,
        end=end,
        source=source,
        provenance=where,
    )
    for level in (record.get("levels") or {}).get("data") or []:
        stage = _FITBIT_STAGES.get(str(level.get("level")))
        if stage is None:
            continue
        begin = _fitbit_time(level["dateTime"], tz)
        yield Observation(
            metric="sleep_stage",
            value=stage,
            start=begin,
            end=begin + timedelta(seconds=float(level["seconds"])),
            source=source,
            provenance=where,
        )


def _fitbit_web_api(doc: Any, file: str, line: int, tz: tzinfo, source: str) -> Iterator[Item]:
    if not isinstance(doc, dict):
        raise ValueError("not a Fitbit Web API payload")
    for key, metric, unit in (
        ("activities-heart", "heart_rate", "bpm"),
        ("activities-steps", "steps", "count"),
    ):
        summary = doc.get(key) or []
        intraday = (doc.get(f"{key}-intraday") or {}).get("dataset") or []
        if not summary:
            continue
        day = summary[0]["dateTime"]
        for index, point in enumerate(intraday):
            start = _fitbit_time(f"{day}T{point['time']}", tz)
            yield Observation(
                metric=metric,
                value=float(point["value"]),
                unit=unit,
                start=start,
                end=start + timedelta(minutes=1) if metric == "steps" else None,
                source=source,
                provenance=Provenance(file=file, line=line, record=str(index)),
            )
        resting = summary[0].get("value", {})
        if (
            key == "activities-heart"
            and isinstance(resting, dict)
            and resting.get("restingHeartRate")
        ):
            yield Observation(
                metric="resting_heart_rate",
                value=float(resting["restingHeartRate"]),
                unit="bpm",
                start=_fitbit_time(day, tz),
                source=source,
                provenance=Provenance(file=file, line=line),
            )


def _fitbit_csv(path: Path, tz: tzinfo, source: str, options: ReadOptions) -> Iterator[Item]:
    spo2 = path.name.startswith("Daily SpO2")
    try:
        with path.open(encoding=options.encoding or "utf-8-sig", newline="") as handle:
            for line, row in enumerate(csv.DictReader(BoundedLines(handle, path.name)), start=2):
                try:
                    start = _fitbit_time(row["timestamp"].replace("Z", ""), tz)
                    if spo2:
                        yield Observation(
                            metric="oxygen_saturation",
                            value=float(row["average_value"]),
                            unit="%",
                            start=start,
                            source=source,
                            provenance=Provenance(file=path.name, line=line),
                        )
                    else:
                        yield Observation(
                            metric="hrv_rmssd",
                            value=float(row["rmssd"]),
                            unit="ms",
                            start=start,
                            source=source,
                            provenance=Provenance(file=path.name, line=line),
                        )
                except (KeyError, ValueError, TypeError, AttributeError) as exc:
                    yield Problem(file=path.name, reason=f"a row cannot be read ({exc})")
    except UnicodeDecodeError:
        yield Problem(file=path.name, reason="the file is not UTF-8 text; pass --encoding")


# -- Google Fit REST -------------------------------------------------------------
_GOOGLE_FIT = {
    "com.google.heart_rate.bpm": ("heart_rate", "bpm"),
    "com.google.step_count.delta": ("steps", "count"),
    "com.google.weight": ("body_mass", "kg"),
    "com.google.height": ("height", "m"),
    "com.google.calories.expended": ("active_energy", "kcal"),
    "com.google.distance.delta": ("distance", "m"),
    "com.google.oxygen_saturation": ("oxygen_saturation", "%"),
    "com.google.blood_glucose": ("glucose", "mmol/L"),
    "com.google.body.temperature": ("body_temperature", "degC"),
}
_GOOGLE_SLEEP = {1: "awake", 2: "asleep", 3: "awake", 4: "light", 5: "deep", 6: "rem"}


class GoogleFitConnector:
    name = "google_fit"
    priority = 90  # detection order: lower is tried first
    description = "Google Fit REST dataset or aggregate JSON (points with dataTypeName)"

    def detect(self, path: Path, head: bytes) -> bool:
        return path.suffix == ".json" and b'"dataTypeName"' in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "Google Fit"
        for item in _json_docs(path, options):
            if isinstance(item, Problem):
                yield item
                continue
            line, doc = item
            points = _google_points(doc)
            for index, point in enumerate(points):
                try:
                    yield from _google_point(point, path.name, line, index, source)
                except (KeyError, ValueError, TypeError) as exc:
                    yield Problem(file=path.name, line=line, reason=f"point {index}: {exc}")


def _google_points(doc: Any) -> list[Any]:
    if isinstance(doc, dict) and "point" in doc:
        return list(doc["point"])
    if isinstance(doc, dict) and "bucket" in doc:  # aggregate responses
        return [p for b in doc["bucket"] for d in b.get("dataset", []) for p in d.get("point", [])]
    return []


def _google_point(
    point: dict[str, Any], file: str, line: int, index: int, source: str
) -> Iterator[Item]:
    start = datetime.fromtimestamp(int(point["startTimeNanos"]) / 1e9, UTC)
    end = datetime.fromtimestamp(int(point["endTimeNanos"]) / 1e9, UTC)
    kind = point["dataTypeName"]
    value = point["value"][0]
    number = value.get("fpVal", value.get("intVal"))
    origin = point.get("originDataSourceId", "")
    device = origin.split(":")[2] if origin.count(":") >= 2 and origin.split(":")[2] else None
    where = Provenance(file=file, line=line, record=str(index))
    if kind == "com.google.sleep.segment":
        stage = _GOOGLE_SLEEP.get(int(number))
        if stage:
            yield Observation(
                metric="sleep_stage",
                value=stage,
                start=start,
                end=end,
                source=source,
                device=device,
                provenance=where,
            )
        return
    if kind not in _GOOGLE_FIT:
        raise ValueError(f"the data type {kind} is not one LifeTwin reads")
    metric, unit = _GOOGLE_FIT[kind]
    yield Observation(
        metric=metric,
        value=float(number),
        unit=unit,
        start=start,
        end=end if end > start else None,
        source=source,
        device=device,
        provenance=where,
    )


# -- Oura API v2 -----------------------------------------------------------------
_OURA_PHASES = {"1": "deep", "2": "light", "3": "rem", "4": "awake"}
# sleep-record field -> metric, unit, scale to that unit
_OURA_SLEEP_SUMMARY = (
    ("total_sleep_duration", "sleep_duration", "min", 1 / 60),
    ("lowest_heart_rate", "resting_heart_rate", "bpm", 1.0),
    ("average_hrv", "hrv_rmssd", "ms", 1.0),
)


class OuraConnector:
    name = "oura"
    priority = 100  # detection order: lower is tried first
    description = "Oura API v2 JSON (sleep, daily readiness, heart rate)"

    def detect(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", "replace")
        return (
            path.suffix == ".json"
            and '"data"' in text
            and (
                "bedtime_start" in text
                or '"temperature_deviation"' in text
                or ('"bpm"' in text and '"timestamp"' in text)
            )
        )

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "Oura"
        for item in _json_docs(path, options):
            if isinstance(item, Problem):
                yield item
                continue
            line, doc = item
            records = doc.get("data") if isinstance(doc, dict) else None
            if not isinstance(records, list):
                yield Problem(file=path.name, line=line, reason="not an Oura API response")
                continue
            for index, record in enumerate(records):
                if not isinstance(record, dict):
                    yield Problem(
                        file=path.name, line=line, reason=f"record {index} is not an object"
                    )
                    continue
                where = Provenance(file=path.name, line=line, record=str(record.get("id", index)))
                try:
                    yield from _oura(record, source, where)
                except (KeyError, ValueError, TypeError) as exc:
                    yield Problem(file=path.name, line=line, reason=f"record {index}: {exc}")


def _oura(record: dict[str, Any], source: str, where: Provenance) -> Iterator[Item]:
    if "bpm" in record:
        yield Observation(
            metric="heart_rate",
            value=float(record["bpm"]),
            unit="bpm",
            start=parse_time(record["timestamp"], "iso", UTC),
            source=source,
            provenance=where,
        )
        return
    if "bedtime_start" in record:
        start = parse_time(record["bedtime_start"], "iso", UTC)
        end = parse_time(record["bedtime_end"], "iso", UTC)
        for key, code, unit, scale in _OURA_SLEEP_SUMMARY:
            if record.get(key):  # Oura writes 0 or null when it has no value
                yield Observation(
                    metric=code,
                    value=float(record[key]) * scale,
                    unit=unit,
                    start=start,
                    end=end,
                    source=source,
                    provenance=where,
                )
        phases = record.get("sleep_phase_5_min") or ""
        for offset, phase in enumerate(phases):
            stage = _OURA_PHASES.get(phase)
            if stage:
                begin = start + timedelta(minutes=5 * offset)
                yield Observation(
                    metric="sleep_stage",
                    value=stage,
                    start=begin,
                    end=begin + timedelta(minutes=5),
                    source=source,
                    provenance=where,
                )
        for key, metric, unit in (("heart_rate", "heart_rate", "bpm"), ("hrv", "hrv_rmssd", "ms")):
            series = record.get(key) or {}
            if not series.get("items"):
                continue
            first = parse_time(series["timestamp"], "iso", UTC)
            for step, value in enumerate(series["items"]):
                if value is not None:
                    yield Observation(
                        metric=metric,
                        value=float(value),
                        unit=unit,
                        start=first + timedelta(seconds=series["interval"] * step),
                        source=source,
                        provenance=where,
                    )
        return
    if "score" in record and "day" in record:
        day = datetime.fromisoformat(record["day"]).replace(tzinfo=UTC)
        yield Observation(
            metric="readiness_score",
            value=float(record["score"]),
            start=day,
            end=day + timedelta(days=1),
            source=source,
            provenance=where,
        )
        if record.get("temperature_deviation") is not None:
            yield Observation(
                metric="skin_temperature_deviation",
                value=float(record["temperature_deviation"]),
                unit="delta_degC",
                start=day,
                end=day + timedelta(days=1),
                source=source,
                provenance=where,
            )
