"""Continuous glucose monitoring: Dexcom Clarity CSV, LibreView CSV, Nightscout JSON
(entries, treatments, devicestatus, and a pull from a Nightscout server), Tidepool JSON.

Clarity and LibreView write local times without an offset: they are read in the
zone given with ``--timezone`` (default: this machine's zone). Readings the
sensor reports as "Low"/"High" are kept at the sensor's limit (40 / 400 mg/dL)
and flagged ``SENSOR_LIMIT``. Names and birth dates in Clarity's patient rows
are never stored.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from lifetwin.core import jsonsafe
from lifetwin.core.egress import EgressError, Network, check_url, send
from lifetwin.core.errors import ImportFailedError, LifeTwinError
from lifetwin.core.model import Event, EventKind, Observation, Problem, Provenance, Quality
from lifetwin.sources.base import Cursor, Item, ReadOptions
from lifetwin.sources.textio import BoundedLines, encoding_problem, json_items, parse_time, zone

SENSOR_LOW_MG_DL = 40.0
SENSOR_HIGH_MG_DL = 400.0


def local_zone(options: ReadOptions) -> tzinfo:
    if options.timezone:
        return zone(options.timezone)
    here = datetime.now().astimezone().tzinfo
    return here if here is not None else UTC


def _csv_rows(path: Path, options: ReadOptions) -> Iterator[tuple[int, list[str]] | Problem]:
    try:
        with path.open(encoding=options.encoding or "utf-8-sig", newline="") as handle:
            reader = csv.reader(BoundedLines(handle, path.name))
            for cells in reader:
                yield reader.line_num, cells
    except UnicodeDecodeError as exc:
        yield encoding_problem(path, exc.object[: exc.start], options.encoding, exc)
    except csv.Error as exc:
        yield Problem(file=path.name, reason=f"bad CSV ({exc})")


def _glucose(raw: str, unit: str) -> tuple[float, Quality] | None:
    text = raw.strip()
    if not text:
        return None
    if text.lower() in ("low", "lo"):
        return SENSOR_LOW_MG_DL, Quality.SENSOR_LIMIT
    if text.lower() in ("high", "hi"):
        return SENSOR_HIGH_MG_DL, Quality.SENSOR_LIMIT
    return float(text.replace(",", ".")), Quality.NONE


def _reading(
    raw: str,
    unit: str,
    calibration: bool,
    start: datetime,
    source: str,
    device: str | None,
    provenance: Provenance,
) -> Observation | None:
    """One glucose reading from a CSV cell ("Low"/"High" kept at the sensor's limits)."""
    parsed = _glucose(raw, unit)
    if parsed is None:
        return None
    value, quality = parsed
    if calibration:
        quality |= Quality.CALIBRATION
    return Observation(
        metric="glucose",
        value=value,
        unit="mg/dL" if quality & Quality.SENSOR_LIMIT else unit,
        start=start,
        source=source,
        device=device,
        provenance=provenance,
        quality=quality,
    )


class DexcomClarityConnector:
    name = "dexcom_clarity"
    priority = 50  # detection order: lower is tried first
    description = "Dexcom Clarity CSV export (EGV, calibrations, insulin, carbs)"

    def detect(self, path: Path, head: bytes) -> bool:
        return b"Event Type" in head and b"Glucose Value" in head and b"Timestamp" in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        tz = local_zone(options)
        rows = _csv_rows(path, options)
        header: list[str] | None = None
        for row in rows:
            if isinstance(row, Problem):
                yield row
                return
            line, cells = row
            if header is None:
                header = [c.strip() for c in cells]
                unit = (
                    "mmol/L"
                    if any(h.startswith("Glucose Value") and "mmol/L" in h for h in header)
                    else "mg/dL"
                )
                col = {name: i for i, name in enumerate(header)}
                glucose_col = next(
                    (i for h, i in col.items() if h.startswith("Glucose Value")), None
                )
                time_col = next((i for h, i in col.items() if h.startswith("Timestamp")), None)
                if glucose_col is None or time_col is None or "Event Type" not in col:
                    raise ImportFailedError(
                        f"{path.name} lacks the Clarity columns "
                        "(Timestamp, Event Type, Glucose Value)."
                    )
                continue
            if len(cells) < len(header):
                yield Problem(file=path.name, line=line, reason="the row is truncated")
                continue
            assert time_col is not None
            assert glucose_col is not None
            kind = cells[col["Event Type"]].strip()
            stamp = cells[time_col].strip()
            if kind in ("FirstName", "LastName", "DateOfBirth", "Device", "Alert") or not stamp:
                continue  # patient identity, device and alert settings: not observations
            try:
                start = parse_time(stamp, "iso", tz)
            except ValueError as exc:
                yield Problem(file=path.name, line=line, reason=str(exc))
                continue
            device = cells[col["Source Device ID"]].strip() if "Source Device ID" in col else None
            provenance = Provenance(
                file=path.name, line=line, record=cells[col["Index"]] if "Index" in col else None
            )
            source = options.source or "Dexcom Clarity"
            try:
                if kind in ("EGV", "Calibration"):
                    reading = _reading(
                        cells[glucose_col],
                        unit,
                        kind == "Calibration",
                        start,
                        source,
                        device or None,
                        provenance,
                    )
                    if reading is not None:
                        yield reading
                elif kind == "Insulin":
                    amount = float(cells[col["Insulin Value (u)"]])
                    subtype = cells[col["Event Subtype"]].strip() or "insulin"
                    yield Event(
                        kind=EventKind.INSULIN,
                        start=start,
                        title=subtype.lower(),
                        details={"insulin_u": amount, "type": subtype.lower()},
                        source=source,
                        device=device or None,
                        provenance=provenance,
                    )
                elif kind == "Carbs":
                    grams = float(cells[col["Carb Value (grams)"]])
                    yield Event(
                        kind=EventKind.MEAL,
                        start=start,
                        details={"carbs_g": grams},
                        source=source,
                        device=device or None,
                        provenance=provenance,
                    )
                elif kind in ("Exercise", "Health"):
                    yield Event(
                        kind=EventKind.SYMPTOM if kind == "Health" else EventKind.WORKOUT,
                        start=start,
                        title=cells[col["Event Subtype"]].strip() or kind,
                        source=source,
                        provenance=provenance,
                    )
            except (ValueError, KeyError) as exc:
                yield Problem(
                    file=path.name, line=line, reason=f"the {kind} row is malformed ({exc})"
                )


_LIBRE_TIME_FORMATS = (
    "%m-%d-%Y %I:%M %p",
    "%d-%m-%Y %H:%M",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%d.%m.%Y %H:%M",
)


class LibreViewConnector:
    name = "libreview"
    priority = 60  # detection order: lower is tried first
    description = "FreeStyle Libre CSV from LibreView (historic and scan glucose, insulin, food)"

    def detect(self, path: Path, head: bytes) -> bool:
        return b"Record Type" in head and b"Historic Glucose" in head

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        tz = local_zone(options)
        header: dict[str, int] | None = None
        formats = list(_LIBRE_TIME_FORMATS)
        for row in _csv_rows(path, options):
            if isinstance(row, Problem):
                yield row
                return
            line, cells = row
            if header is None:
                if "Record Type" in cells:
                    header = {c.strip(): i for i, c in enumerate(cells)}
                continue  # the title line before the header
            if len(cells) < 4:
                continue

            def cell(prefix: str, row: list[str] = cells, names: dict[str, int] = header) -> str:
                for name, index in names.items():
                    if name.startswith(prefix) and index < len(row):
                        return row[index].strip()
                return ""

            start = None
            stamp = cell("Device Timestamp")
            for fmt in formats:
                try:
                    start = datetime.strptime(stamp, fmt).replace(tzinfo=tz)
                    formats.remove(fmt)
                    formats.insert(0, fmt)  # the file's own format first from now on
                    break
                except ValueError:
                    continue
            if start is None:
                yield Problem(file=path.name, line=line, reason=f"'{stamp}' is not a time")
                continue
            kind = cell("Record Type")
            device = cell("Device") or None
            source = options.source or "LibreView"
            provenance = Provenance(file=path.name, line=line)
            unit = (
                "mmol/L"
                if any(h.startswith("Historic Glucose") and "mmol/L" in h for h in header)
                else "mg/dL"
            )
            try:
                if kind in ("0", "1", "2"):  # historic (15 min), scan, strip
                    raw = cell(
                        {"0": "Historic Glucose", "1": "Scan Glucose", "2": "Strip Glucose"}[kind]
                    )
                    reading = _reading(raw, unit, kind == "2", start, source, device, provenance)
                    if reading is not None:
                        yield reading
                elif kind == "4":  # insulin
                    for label, kind_name in (
                        ("Rapid-Acting Insulin", "rapid"),
                        ("Long-Acting Insulin", "long"),
                    ):
                        amount = cell(label)
                        if amount:
                            yield Event(
                                kind=EventKind.INSULIN,
                                start=start,
                                title=kind_name,
                                details={"insulin_u": float(amount), "type": kind_name},
                                source=source,
                                device=device,
                                provenance=provenance,
                            )
                elif kind == "5":  # food
                    grams = cell("Carbohydrates (grams)")
                    yield Event(
                        kind=EventKind.MEAL,
                        start=start,
                        details={"carbs_g": float(grams)} if grams else {},
                        source=source,
                        device=device,
                        provenance=provenance,
                    )
                elif kind == "6" and cell("Notes"):
                    yield Observation(
                        metric="journal_note",
                        value=cell("Notes"),
                        start=start,
                        source=source,
                        provenance=provenance,
                    )
            except ValueError as exc:
                yield Problem(file=path.name, line=line, reason=f"the row is malformed ({exc})")
        if header is None:
            raise ImportFailedError(f"{path.name} has no LibreView header (Record Type, …).")


# -- Nightscout ------------------------------------------------------------------
_BOLUS_TYPES = {"Meal Bolus", "Correction Bolus", "Snack Bolus", "Bolus", "Combo Bolus", "SMB"}


def nightscout_time(doc: dict[str, Any]) -> datetime:
    """When a Nightscout document happened: ``date`` (ms, in its ``utcOffset`` or its
    ``dateString``'s offset), else ``created_at``, ``dateString``, ``timestamp``, ``sysTime``."""
    if isinstance(doc.get("date"), int | float):
        moment = datetime.fromtimestamp(doc["date"] / 1000, UTC)
        offset = doc.get("utcOffset")
        if isinstance(offset, int | float):
            from datetime import timezone

            moment = moment.astimezone(timezone(timedelta(minutes=offset)))
        elif isinstance(doc.get("dateString"), str):
            try:
                given = datetime.fromisoformat(doc["dateString"].replace("Z", "+00:00"))
                if given.utcoffset() is not None:
                    moment = moment.astimezone(given.tzinfo)
            except ValueError:
                pass
        return moment
    for key in ("created_at", "dateString", "timestamp", "sysTime"):
        if isinstance(doc.get(key), str):
            return parse_time(doc[key], "iso", UTC)
    for key in ("timestamp", "mills"):  # xDrip+ sends a treatment's time in milliseconds
        if isinstance(doc.get(key), int | float) and not isinstance(doc[key], bool):
            return datetime.fromtimestamp(doc[key] / 1000, UTC)
    raise ValueError("the document has no date, created_at or dateString")


def nightscout_items(
    docs: list[tuple[int, Any]], file: str, source: str, collection: str | None = None
) -> Iterator[Item]:
    """Entries, treatments and devicestatus documents, told apart by their fields (or
    by the ``collection`` they were sent to: any object sent as devicestatus is one)."""
    for line, doc in docs:
        if not isinstance(doc, dict):
            yield Problem(file=file, line=line, reason="the item is not a JSON object")
            continue
        try:
            start = nightscout_time(doc)
            provenance = Provenance(file=file, line=line, record=str(doc.get("_id") or "") or None)
            device = str(doc["device"]) if doc.get("device") else None
            if collection == "devicestatus":
                yield from _devicestatus(doc, start, source, device, provenance)
            elif collection == "treatments":
                yield from _treatment(doc, start, source, device, provenance)
            elif collection == "entries" and not (
                "sgv" in doc or doc.get("type") in ("sgv", "mbg", "cal")
            ):
                yield Problem(file=file, line=line, reason="not a Nightscout entry (sgv or mbg)")
            elif "sgv" in doc or doc.get("type") in ("sgv", "mbg"):
                value = doc.get("sgv", doc.get("mbg"))
                if value is None:
                    continue
                quality = Quality.CALIBRATION if doc.get("type") == "mbg" else Quality.NONE
                if isinstance(doc.get("noise"), int) and doc["noise"] >= 3:
                    quality |= Quality.LOW_CONFIDENCE
                yield Observation(
                    metric="glucose",
                    value=float(value),
                    unit="mg/dL",
                    start=start,
                    source=source,
                    device=device,
                    provenance=provenance,
                    quality=quality,
                )
            elif "eventType" in doc:
                yield from _treatment(doc, start, source, device, provenance)
            elif any(k in doc for k in ("openaps", "loop", "pump", "uploader")):
                yield from _devicestatus(doc, start, source, device, provenance)
            elif doc.get("type") == "cal":
                continue  # sensor calibration slopes, not glucose
            else:
                yield Problem(
                    file=file, line=line, reason="not a Nightscout entry, treatment or devicestatus"
                )
        except (ValueError, TypeError, OverflowError, OSError) as exc:
            yield Problem(
                file=file, line=line, reason=str(exc) or "a time or number is out of range"
            )


def _treatment(
    doc: dict[str, Any], start: datetime, source: str, device: str | None, provenance: Provenance
) -> Iterator[Item]:
    kind = str(doc.get("eventType"))
    if doc.get("isValid") is False:
        return  # AndroidAPS marks a treatment it withdrew; it did not happen
    if doc.get("insulin") not in (None, 0, ""):
        yield Event(
            kind=EventKind.INSULIN,
            start=start,
            title=kind,
            details={"insulin_u": float(doc["insulin"]), "type": kind},
            source=source,
            device=device,
            provenance=provenance,
        )
    if doc.get("carbs") not in (None, 0, ""):
        details: dict[str, Any] = {"carbs_g": float(doc["carbs"])}
        for key in ("protein", "fat", "absorptionTime"):
            if doc.get(key) not in (None, ""):
                details[key] = doc[key]
        yield Event(
            kind=EventKind.MEAL,
            start=start,
            title=kind,
            details=details,
            source=source,
            device=device,
            provenance=provenance,
        )
    if kind == "Temp Basal":
        details = {k: doc[k] for k in ("rate", "absolute", "percent", "duration") if k in doc}
        yield Event(
            kind=EventKind.INSULIN,
            start=start,
            title="temp basal",
            end=start + timedelta(minutes=float(doc.get("duration") or 0)),
            details={**details, "type": "temp basal"},
            source=source,
            device=device,
            provenance=provenance,
        )
    if kind == "BG Check" and doc.get("glucose") not in (None, ""):
        unit = "mmol/L" if str(doc.get("units", "")).lower().startswith("mmol") else "mg/dL"
        yield Observation(
            metric="glucose",
            value=float(doc["glucose"]),
            unit=unit,
            start=start,
            source=source,
            device=device,
            provenance=provenance,
            quality=Quality.CALIBRATION,
        )
    if doc.get("notes"):
        yield Observation(
            metric="journal_note",
            value=str(doc["notes"]),
            start=start,
            source=source,
            provenance=provenance,
        )


def _dig(doc: Any, *path: str) -> Any:
    """doc[path[0]][path[1]]…, or None where a level is missing or not an object."""
    for key in path:
        if isinstance(doc, list):  # OpenAPS may write iob as a list, newest first
            doc = doc[0] if doc else None
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)
    return doc


def _devicestatus(
    doc: dict[str, Any], start: datetime, source: str, device: str | None, provenance: Provenance
) -> Iterator[Item]:
    for code, unit, paths in (
        ("insulin_on_board", "U", (("openaps", "iob", "iob"), ("loop", "iob", "iob"))),
        ("carbs_on_board", "g", (("openaps", "suggested", "COB"), ("loop", "cob", "cob"))),
    ):
        value = next((v for v in (_dig(doc, *p) for p in paths) if v is not None), None)
        if value is not None:
            yield Observation(
                metric=code,
                value=float(value),
                unit=unit,
                start=start,
                source=source,
                device=device,
                provenance=provenance,
            )


class NightscoutConnector:
    name = "nightscout"
    priority = 190  # detection order: lower is tried first
    description = "Nightscout entries, treatments or devicestatus JSON (an API dump)"

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() not in (".json", ".ndjson", ".jsonl"):
            return False
        text = head.decode("utf-8", "replace")
        return (
            '"sgv"' in text
            or '"eventType"' in text
            or '"openaps"' in text
            or ('"loop"' in text and '"iob"' in text)
        )

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        docs: list[tuple[int, Any]] = []
        for item in json_items(path, options.encoding):
            if isinstance(item, Problem):
                yield item
                continue
            line, value = item
            if isinstance(value, list):
                docs.extend((line, v) for v in value)
            else:
                docs.append((line, value))
        yield from nightscout_items(docs, path.name, options.source or "Nightscout")


def pull_nightscout(
    url: str,
    token: str | None,
    options: ReadOptions,
    page: int = 1000,
    timeout_s: float = 30.0,
    allow: Sequence[Network] = (),
) -> Iterator[Item]:
    """Fetch new entries and treatments from a Nightscout server, page by page.

    Authenticates with an access token (``?token=``) or, for an API secret, its SHA-1
    in the ``API-SECRET`` header. The cursor is the newest entry time already read.
    The server must be on the internet (https), or in a network in ``allow``: the
    address is checked once and connected to as checked, and no redirect is followed.
    """
    base = url.rstrip("/")
    target = check_url(base, allow)
    headers = {"Accept": "application/json"}
    query_auth: dict[str, str] = {}
    if token:
        if token.count("-") >= 1 and len(token) < 40:
            query_auth["token"] = token
        else:
            headers["API-SECRET"] = hashlib.sha1(token.encode()).hexdigest()
    since = int(options.cursor or 0)
    newest = since
    source = options.source or "Nightscout"
    prefix = target.path.rstrip("/").split("?")[0]
    for resource, field in (("entries", "date"), ("treatments", "created_at")):
        lower: Any = since if field == "date" else datetime.fromtimestamp(since / 1000, UTC)
        while True:
            key = f"find[{field}][$gt]"
            value = lower if field == "date" else lower.isoformat().replace("+00:00", "Z")
            params = {key: str(value), "count": str(page), **query_auth}
            where = replace(target, path=f"{prefix}/api/v1/{resource}.json")
            try:
                status, body = send(
                    where, "GET", headers=headers, params=params, timeout_s=timeout_s
                )
            except EgressError:
                raise ImportFailedError(f"Nightscout at {base} cannot be reached.") from None
            if status in (401, 403):
                raise ImportFailedError(
                    f"Nightscout at {base} refused the token ({status}); check it has the "
                    "readable role."
                )
            if status != 200:
                raise ImportFailedError(f"Nightscout at {base} answered {status}.")
            try:
                payload = jsonsafe.loads(body)
            except jsonsafe.JsonError:
                raise ImportFailedError(
                    f"Nightscout at {base} did not answer JSON LifeTwin reads."
                ) from None
            if not isinstance(payload, list) or not payload:
                break
            yield from nightscout_items([(0, d) for d in payload], f"{base} {resource}", source)
            times = [t for t in (_safe_ns_time(d) for d in payload if isinstance(d, dict)) if t]
            if not times:
                break
            latest = max(times)
            newest = max(newest, int(latest.timestamp() * 1000))
            if len(payload) < page:
                break
            lower = int(latest.timestamp() * 1000) if field == "date" else latest
    yield Cursor(value=str(newest))


def _safe_ns_time(doc: dict[str, Any]) -> datetime | None:
    try:
        return nightscout_time(doc)
    except (LifeTwinError, ValueError, OverflowError, OSError, TypeError):
        return None


class TidepoolConnector:
    name = "tidepool"
    priority = 200  # detection order: lower is tried first
    description = "Tidepool data export JSON (cbg, smbg, bolus, basal, food)"

    def detect(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8", "replace")
        datum = re.search(r'"type"\s*:\s*"(cbg|smbg|bolus|basal|food|wizard)"', text)
        return path.suffix.lower() == ".json" and datum is not None and '"time"' in text

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "Tidepool"
        for item in json_items(path, options.encoding):
            if isinstance(item, Problem):
                yield item
                continue
            line, value = item
            for doc in value if isinstance(value, list) else [value]:
                try:
                    yield from _tidepool(doc, path.name, line, source)
                except (ValueError, TypeError, KeyError) as exc:
                    yield Problem(file=path.name, line=line, reason=f"malformed datum ({exc})")


def _tidepool(doc: Any, file: str, line: int, source: str) -> Iterator[Item]:
    if not isinstance(doc, dict) or "type" not in doc:
        raise ValueError("not a Tidepool datum")
    start = parse_time(doc["time"], "iso", UTC)
    if isinstance(doc.get("timezoneOffset"), int | float):
        from datetime import timezone

        start = start.astimezone(timezone(timedelta(minutes=doc["timezoneOffset"])))
    provenance = Provenance(file=file, line=line, record=doc.get("id"))
    device = doc.get("deviceId")
    kind = doc["type"]
    if kind in ("cbg", "smbg"):
        quality = Quality.CALIBRATION if kind == "smbg" else Quality.NONE
        yield Observation(
            metric="glucose",
            value=float(doc["value"]),
            unit=doc.get("units", "mmol/L"),
            start=start,
            source=source,
            device=device,
            provenance=provenance,
            quality=quality,
        )
    elif kind == "bolus":
        amount = float(doc.get("normal", 0)) + float(doc.get("extended", 0))
        yield Event(
            kind=EventKind.INSULIN,
            start=start,
            title=doc.get("subType", "bolus"),
            details={"insulin_u": amount, "type": "bolus"},
            source=source,
            device=device,
            provenance=provenance,
        )
    elif kind == "basal":
        duration_ms = float(doc.get("duration", 0))
        yield Event(
            kind=EventKind.INSULIN,
            start=start,
            title="basal",
            end=start + timedelta(milliseconds=duration_ms),
            details={
                "rate_u_per_h": float(doc.get("rate", 0)),
                "type": doc.get("deliveryType", "basal"),
            },
            source=source,
            device=device,
            provenance=provenance,
        )
    elif kind in ("food", "wizard"):
        carbs = (
            doc.get("nutrition", {}).get("carbohydrate", {}).get("net")
            if kind == "food"
            else doc.get("carbInput")
        )
        if carbs is not None:
            yield Event(
                kind=EventKind.MEAL,
                start=start,
                details={"carbs_g": float(carbs)},
                source=source,
                device=device,
                provenance=provenance,
            )
