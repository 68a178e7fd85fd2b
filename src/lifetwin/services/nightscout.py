"""Nightscout compatibility: what Nightscout's API v1 answers and accepts, on a vault.

The apps people already run — uploaders (xDrip+, Loop, AndroidAPS' document shapes),
followers and Home Assistant (py-nightscout) — talk to Nightscout's REST API v1. This
module is that API's behaviour as operations on one person's vault, so the routes in
``lifetwin.api.nightscout`` only parse and render:

- :func:`upload` stores entries, treatments, device status or profiles: every document
  goes through the same Nightscout reader as a file import (glucose, insulin, meals,
  notes, insulin and carbohydrates on board become observations and events; loop
  predictions do not), and treatments, device status and profiles are also kept whole,
  sealed, so they can be read back field for field. A batch is all or nothing.
- :func:`entries`, :func:`treatments`, :func:`devicestatus`, :func:`profiles` answer
  GETs: newest first, ``count`` of them, ``find[...]`` queries (:func:`parse_query`).
  Entries come from the person's glucose (every source the purpose may read, with
  Nightscout's ``_id``, ``date``, ``dateString``, ``sysTime``, ``delta`` and
  ``direction``); treatments from the kept documents plus the insulin and meals of other
  sources (a Clarity import, say).
- :func:`remove_treatment` withdraws a treatment and what was read from it.
- :func:`server_status` and :func:`verify_auth` are ``status.json`` and ``verifyauth``.

Glucose is always mg/dL on the wire, as in Nightscout; ``status.json`` tells clients the
person's display unit (:func:`glucose_unit`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lifetwin import __version__
from lifetwin.core.errors import LifeTwinError, PersonError
from lifetwin.core.model import Event, Observation, Problem, Quality, offset_minutes
from lifetwin.core.vocabulary import metric
from lifetwin.privacy.consent import Purpose
from lifetwin.services.importer import ImportSummary, import_items
from lifetwin.sources.base import ReadOptions
from lifetwin.sources.cgm import nightscout_items, nightscout_time
from lifetwin.store.vault import DAY_MS, Document, Person, Store, StreamInfo, Vault

SOURCE = "nightscout-upload"
KINDS = ("entries", "treatments", "devicestatus", "profile")
DEFAULT_COUNT = {"entries": 10, "treatments": 100, "devicestatus": 10, "profile": 10}
FIND_COUNT = {"treatments": 1000}  # Nightscout's default when a query has find[...]
MAX_COUNT = 10_000
ENTRY_TYPES = ("sgv", "mbg", "cal")
NEIGHBOUR_MS = 15 * 60_000  # a reading further back than this gives no trend
DIRECTIONS = (  # xDrip+'s slopeName: mg/dL per minute, upper bounds
    (-3.5, "DoubleDown"),
    (-2.0, "SingleDown"),
    (-1.0, "FortyFiveDown"),
    (1.0, "Flat"),
    (2.0, "FortyFiveUp"),
    (3.5, "SingleUp"),
    (40.0, "DoubleUp"),
)
# Consensus targets (Battelino et al. 2019): the range 70-180, level-2 low and high.
THRESHOLDS = {"bgHigh": 250, "bgTargetTop": 180, "bgTargetBottom": 70, "bgLow": 54}
OBJECT_ID = re.compile(r"^[0-9a-fA-F]{24}$")
IDENTIFIERS = ("identifier", "syncIdentifier", "uuid", "NSCLIENT_ID")
CREDENTIALS = ("token", "secret")  # Nightscout takes these from a body; never keep them
UNITS = {"mg/dl": "mg/dl", "mmol": "mmol", "mmol/l": "mmol"}


class RefusedError(LifeTwinError):
    """A request Nightscout's API would refuse, with the HTTP status to answer."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status


def collection(kind: str) -> str:
    """The vault collection that keeps one kind of Nightscout document whole."""
    return f"nightscout:{kind}"


# -- queries -----------------------------------------------------------------------------
TIME_FIELDS = frozenset(
    {"date", "dateString", "sysTime", "created_at", "timestamp", "mills", "startDate"}
)
OPERATORS = ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$exists")
_FIND = re.compile(r"^find\[([^\[\]]{1,64})\](?:\[([^\[\]]{1,16})\])?$")


@dataclass(frozen=True)
class Condition:
    """One ``find[field][$op]=value`` of a query (``$eq`` when no operator is given)."""

    field: str
    op: str
    value: str
    moment_ms: int | None = None  # the value read as a time, for time fields


@dataclass(frozen=True)
class Query:
    """``count`` (None: Nightscout's default) and the ``find`` conditions of a GET."""

    count: int | None = None
    conditions: tuple[Condition, ...] = ()

    def span_ms(self) -> tuple[int | None, int | None]:
        """The time window the time conditions allow: since <= t < until."""
        since: int | None = None
        until: int | None = None
        for c in self.conditions:
            if c.moment_ms is None:
                continue
            lo = {"$gte": c.moment_ms, "$gt": c.moment_ms + 1, "$eq": c.moment_ms}.get(c.op)
            hi = {"$lt": c.moment_ms, "$lte": c.moment_ms + 1, "$eq": c.moment_ms + 1}.get(c.op)
            if lo is not None:
                since = lo if since is None else max(since, lo)
            if hi is not None:
                until = hi if until is None else min(until, hi)
        return since, until

    def limit(self, kind: str) -> int:
        if self.count is not None:
            return self.count
        if self.conditions and kind in FIND_COUNT:
            return FIND_COUNT[kind]
        return DEFAULT_COUNT[kind]


def parse_time_value(text: str) -> int:
    """A query's time, as milliseconds since 1970: a number (milliseconds, as Nightscout's
    ``date``) or an ISO 8601 time (UTC when it has no offset).

    >>> parse_time_value("1717200000000")
    1717200000000
    >>> parse_time_value("2024-06-01T00:00:00.000Z")
    1717200000000
    >>> parse_time_value("2024-06-01T02:00:00 02:00")  # a '+' that arrived as a space
    1717200000000
    """
    raw = text.strip()
    try:
        number = float(raw)
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        if abs(number) > 1e16:
            raise ValueError(f"{_said(raw)} is not a plausible time")
        return round(number)
    fixed = raw.replace(" ", "+").replace("Z", "+00:00").replace("z", "+00:00")
    if "T" not in fixed and "+" in fixed:  # "2024-06-01+00:00" is no time
        raise ValueError(f"{_said(raw)} is not a time")
    try:
        moment = datetime.fromisoformat(fixed)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return round(moment.timestamp() * 1000)
    except (ValueError, OverflowError):
        raise ValueError(f"{_said(raw)} is not a time (send milliseconds or ISO 8601)") from None


def _said(text: str, limit: int = 40) -> str:
    """What a client sent, quoted on one line for an error: control characters escaped,
    long values cut.

    >>> _said("12\\n3")
    "'12\\\\n3'"
    >>> _said("x" * 50)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…'"
    """
    escaped = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return f"'{escaped[:limit]}…'" if len(escaped) > limit else f"'{escaped}'"


def parse_query(params: Iterable[tuple[str, str]]) -> Query:
    """``count`` and ``find[field]``/``find[field][$op]`` of a query string; anything
    else is ignored, as Nightscout does. A count that is not a whole number from 0 to
    10,000 (0: the default), an operator Nightscout's clients do not use or a time that
    cannot be read refuses the request (400).

    >>> q = parse_query([("count", "3"), ("find[date][$gte]", "1717200000000")])
    >>> q.count, q.span_ms()
    (3, (1717200000000, None))
    >>> parse_query([("find[type]", "sgv")]).conditions[0].op
    '$eq'
    """
    count: int | None = None
    conditions: list[Condition] = []
    for key, value in params:
        if key == "count":
            text = value.strip()
            if not (text.isascii() and text.isdigit()) or int(text) > MAX_COUNT:
                raise RefusedError(
                    400,
                    f"count must be a whole number from 0 to {MAX_COUNT:,} (not {_said(value)}).",
                )
            count = int(text) or None
            continue
        if not key.startswith("find["):
            continue
        matched = _FIND.match(key)
        if matched is None:
            raise RefusedError(
                400, f"{_said(key)} is not a query LifeTwin reads (use find[field])."
            )
        field, op = matched.group(1), matched.group(2) or "$eq"
        if op not in OPERATORS:
            raise RefusedError(
                400,
                f"{_said(key)}: the operator {op} is not supported (LifeTwin reads "
                f"{', '.join(OPERATORS)}).",
            )
        moment: int | None = None
        if field in TIME_FIELDS and op != "$exists":
            try:
                moment = parse_time_value(value)
            except ValueError as exc:
                raise RefusedError(400, f"{_said(key)}: {exc}.") from None
        conditions.append(Condition(field, op, value, moment))
    return Query(count, tuple(conditions))


def _dig(doc: dict[str, Any], path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _compare(have: Any, op: str, want: str) -> bool:
    if op == "$exists":
        return (have is not None) == (want.strip().lower() not in ("false", "0"))
    if have is None:
        return op == "$ne"
    if isinstance(have, bool):
        same = str(have).lower() == want.strip().lower()
        return same if op == "$eq" else (not same if op == "$ne" else False)
    left, right = _number(have), _number(want)
    pair: tuple[Any, Any] = (
        (left, right)
        if left is not None and right is not None
        else (
            str(have),
            want,
        )
    )
    if op == "$eq":
        return bool(pair[0] == pair[1])
    if op == "$ne":
        return bool(pair[0] != pair[1])
    if op == "$gt":
        return bool(pair[0] > pair[1])
    if op == "$gte":
        return bool(pair[0] >= pair[1])
    if op == "$lt":
        return bool(pair[0] < pair[1])
    return bool(pair[0] <= pair[1])


def matches(doc: dict[str, Any], ts_ms: int, conditions: Sequence[Condition]) -> bool:
    """Whether a document meets every condition: time fields are compared on the
    document's own time; others on the (dotted) field, as numbers when both are."""
    for c in conditions:
        if c.moment_ms is not None:
            if not _compare(ts_ms, c.op, str(c.moment_ms)):
                return False
        elif not _compare(_dig(doc, c.field), c.op, c.value):
            return False
    return True


# -- times and ids -------------------------------------------------------------------------
def iso(ms: int) -> str:
    """Nightscout's time string: UTC with milliseconds and a Z.

    >>> iso(1717200000000)
    '2024-06-01T00:00:00.000Z'
    """
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def entry_id(ms: int, stream: StreamInfo) -> str:
    """An entry's 24-hex-digit ``_id``: its second, its millisecond and its stream.

    >>> from lifetwin.store.vault import StreamInfo
    >>> entry_id(1717200000123, StreamInfo(bytes(16), "glucose", "x", None, "mg/dL", True))
    '665a648007b0000000000000'
    """
    return f"{ms // 1000:08x}{ms % 1000:03x}{stream.id.hex()[:13]}"


def _entry_time(doc_id: str) -> int | None:
    if not OBJECT_ID.match(doc_id):
        return None
    seconds, millis = int(doc_id[:8], 16), int(doc_id[8:11], 16)
    return seconds * 1000 + millis if millis < 1000 else None


# -- entries ------------------------------------------------------------------------------
def direction(slope_per_min: float) -> str:
    """The trend arrow of a rate of change (mg/dL per minute), as xDrip+ names it.

    >>> direction(0.4), direction(-2.5), direction(4.0), direction(55.0)
    ('Flat', 'SingleDown', 'DoubleUp', 'NONE')
    """
    for bound, name in DIRECTIONS:
        if slope_per_min <= bound:
            return name
    return "NONE"


def _glucose_streams(vault: Vault, purpose: Purpose, recipient: str | None) -> list[StreamInfo]:
    return [
        s for s in vault.visible_streams(purpose, recipient) if s.metric == "glucose" and s.numeric
    ]


def _entries_between(
    vault: Vault, purpose: Purpose, recipient: str | None, lo_ms: int, hi_ms: int
) -> list[dict[str, Any]]:
    """Entries with lo <= date < hi, oldest first, each with its trend."""
    series = vault.read_series(
        "glucose",
        purpose=purpose,
        recipient=recipient,
        since=datetime.fromtimestamp((lo_ms - NEIGHBOUR_MS) / 1000, UTC),
        until=datetime.fromtimestamp(hi_ms / 1000, UTC),
    )
    c = series.columns
    if series.unit != "mg/dL":
        from lifetwin.core.units import conversion

        values = conversion(series.unit, metric("glucose")).apply_array(c.value)
    else:
        values = c.value
    previous: dict[int, tuple[int, float]] = {}
    out: list[dict[str, Any]] = []
    for i in range(len(series)):
        ms, value = int(c.ts_ms[i]), float(values[i])
        index = int(series.stream_index[i])
        stream = series.streams[index]
        meter = bool(int(c.quality[i]) & Quality.CALIBRATION)
        if ms >= lo_ms:
            doc: dict[str, Any] = {
                "_id": entry_id(ms, stream)
                if 0 <= ms < 2**32 * 1000
                else vault.opaque_id(f"entry|{stream.id.hex()}|{ms}"),
                "device": stream.device or stream.source,
                "date": ms,
                "dateString": iso(ms),
                "sysTime": iso(ms),
                "utcOffset": int(c.tz_min[i]),
            }
            if meter:
                doc.update(mbg=round(value), type="mbg")
            else:
                before = previous.get(index)
                gap = ms - before[0] if before else 0
                if before is not None and 0 < gap <= NEIGHBOUR_MS:
                    slope = (value - before[1]) / (gap / 60_000)
                    doc.update(delta=round(slope * 5, 3), direction=direction(slope))
                else:
                    # py-nightscout (Home Assistant) needs a number here
                    doc.update(delta=0, direction="NOT COMPUTABLE")
                doc.update(sgv=round(value), type="sgv")
            out.append(doc)
        if not meter:
            previous[index] = (ms, value)
    return out


def entries(
    vault: Vault,
    query: Query,
    *,
    purpose: Purpose,
    recipient: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The newest entries (of one ``kind``: sgv, mbg or cal), newest first, at most
    ``query.count`` (Nightscout's default 10) of those the query accepts.

    Reads windows back from the newest glucose until there are enough: a request for the
    newest ten decrypts about a day, whenever that day was."""
    if kind == "cal":
        return []  # calibration slopes are not kept (they are not glucose)
    want = query.limit("entries")
    streams = _glucose_streams(vault, purpose, recipient)
    spans = [span for span in (vault.stream_days(s) for s in streams) if span is not None]
    if not spans:
        return []
    since, until = query.span_ms()
    first_ms = min(s[0] for s in spans) * DAY_MS
    last_ms = (max(s[1] for s in spans) + 1) * DAY_MS
    lo_bound = first_ms if since is None else max(first_ms, since)
    hi = last_ms if until is None else min(last_ms, until)
    width = max(DAY_MS, math.ceil(want / 288 * 1.5) * DAY_MS)
    found: list[dict[str, Any]] = []
    conditions = query.conditions
    while hi > lo_bound and len(found) < want:
        lo = max(lo_bound, hi - width)
        chunk = _entries_between(vault, purpose, recipient, lo, hi)
        chunk = [
            e
            for e in reversed(chunk)
            if (kind is None or e["type"] == kind) and matches(e, e["date"], conditions)
        ]
        found.extend(chunk)
        hi, width = lo, min(width * 4, 366 * DAY_MS)
    return found[:want]


def entry(
    vault: Vault, doc_id: str, *, purpose: Purpose, recipient: str | None = None
) -> dict[str, Any] | None:
    """One entry by its ``_id`` (None when there is none the purpose may read)."""
    ms = _entry_time(doc_id)
    if ms is None:
        return None
    for found in _entries_between(vault, purpose, recipient, ms, ms + 1):
        if found["_id"] == doc_id.lower():
            return found
    return None


# -- uploads ------------------------------------------------------------------------------
def _refuse(number: int, kind: str, reason: str) -> RefusedError:
    return RefusedError(400, f"Item {number} of the {kind} is refused: {reason.rstrip('.')}.")


def _time_of(doc: dict[str, Any], number: int, kind: str) -> datetime:
    try:
        return nightscout_time(doc)
    except (ValueError, TypeError, OverflowError, OSError, LifeTwinError) as exc:
        raise _refuse(number, kind, str(exc) or "its time is out of range") from None


def _assign_id(vault: Vault, doc: dict[str, Any], number: int, kind: str, ms: int) -> str:
    """Nightscout's identity of a document: its own ``_id`` (24 hex digits), else one made
    from the client's identifier, else from its time and content (a profile: its start)."""
    given = doc.get("_id")
    if isinstance(given, str) and OBJECT_ID.match(given):
        return given.lower()
    if given not in (None, ""):
        if kind != "treatments":
            raise _refuse(number, kind, f"its _id must be 24 hexadecimal digits, not '{given}'")
        if not isinstance(doc.get("identifier"), str):  # Loop sends a UUID as _id
            doc["identifier"] = str(given)
    for key in IDENTIFIERS:
        if isinstance(doc.get(key), str) and doc[key]:
            return vault.opaque_id(f"{kind}|{key}|{doc[key]}")
    if kind == "profile":  # the profile that starts then; without a start, its content
        start = doc.get("startDate")
        content = {k: v for k, v in doc.items() if k not in ("created_at", "mills")}
        key = start if isinstance(start, str) else json.dumps(content, sort_keys=True)
        return vault.opaque_id(f"{kind}|{key}")
    # Nightscout falls back on the time and type; a bolus and carbohydrates sent at the same
    # time with the same type (AndroidAPS does) would then replace each other: the content
    # tells them apart, and the same document sent again is still the same.
    content = {k: v for k, v in doc.items() if k not in ("_id", "created_at", "utcOffset", "mills")}
    return vault.opaque_id(f"{kind}|{ms}|{json.dumps(content, sort_keys=True)}")


def _units(value: Any, number: int) -> None:
    if value is not None and (not isinstance(value, str) or value.lower() not in UNITS):
        raise _refuse(number, "profile", f"units must be mg/dl or mmol, not {_said(str(value))}")


def _normalize(vault: Vault, kind: str, number: int, raw: Any, now: datetime) -> Document:
    """A document as Nightscout keeps it: its ``_id``, ``created_at`` in UTC and
    ``utcOffset`` (a profile: its ``startDate``); the reader reads it so too."""
    if not isinstance(raw, dict):
        raise _refuse(number, kind, "it is not a JSON object")
    doc = {k: v for k, v in raw.items() if k not in CREDENTIALS}
    if kind == "treatments":
        if not isinstance(doc.get("eventType"), str) or not doc["eventType"].strip():
            raise RefusedError(
                400, f"Item {number} of the treatments is not a treatment (it has no eventType)."
            )
        if isinstance(doc.get("eventTime"), str):  # the Careportal's own time wins
            doc["created_at"] = doc.pop("eventTime")
    elif kind == "devicestatus":
        if not set(doc) - {"_id", "created_at", "utcOffset", "mills", "identifier"}:
            raise _refuse(number, kind, "it holds no device status")
    elif kind == "profile":
        store = doc.get("store")
        if not isinstance(store, dict) or not store:
            raise _refuse(number, kind, "a profile needs a 'store' of named profiles")
        if not all(isinstance(p, dict) for p in store.values()):
            raise _refuse(number, kind, "every profile in 'store' must be an object")
        _units(doc.get("units"), number)
        for named in store.values():
            _units(named.get("units"), number)
        if isinstance(doc.get("defaultProfile"), str) and doc["defaultProfile"] not in store:
            raise _refuse(number, kind, f"'{doc['defaultProfile']}' is not in its store")
        if doc.get("startDate") is not None and not isinstance(doc["startDate"], str):
            raise _refuse(number, kind, "its startDate must be an ISO 8601 time")
    timed = ("date", "created_at", "dateString", "timestamp", "sysTime", "mills")
    if kind == "profile" and isinstance(doc.get("startDate"), str):
        moment = _time_of({"created_at": doc["startDate"]}, number, kind)
    elif any(doc.get(k) not in (None, "") for k in timed):
        moment = _time_of(doc, number, kind)
    else:
        moment = now  # Nightscout dates a document without a time when it arrives
    ms = round(moment.timestamp() * 1000)
    doc_id = _assign_id(vault, doc, number, kind, ms)
    if kind == "profile":
        doc.setdefault("startDate", iso(ms))  # py-nightscout orders profiles by it
        doc.setdefault("created_at", iso(round(now.timestamp() * 1000)))
    else:
        doc["created_at"] = iso(ms)
        doc["utcOffset"] = offset_minutes(moment)
    doc["_id"] = doc_id
    return Document(doc_id, ms, doc)


def _read(docs: Sequence[tuple[int, dict[str, Any]]], kind: str) -> list[Any]:
    """What the shared Nightscout reader makes of documents; the first problem refuses.
    Profiles give no observations (their schedules are settings, not measurements)."""
    if kind == "profile":
        return []
    items = list(nightscout_items(list(docs), kind, SOURCE, collection=kind))
    for item in items:
        if isinstance(item, Problem):
            reason = item.reason.rstrip(".")
            raise RefusedError(400, f"Item {item.line} of the {kind} is refused: {reason}.")
    return items


def _read_kept(docs: Sequence[dict[str, Any]], kind: str) -> list[Any]:
    """What was read from kept documents (they were read when they came)."""
    if kind == "profile":
        return []
    found = nightscout_items(list(enumerate(docs, start=1)), kind, SOURCE, collection=kind)
    return [item for item in found if not isinstance(item, Problem)]


def _withdraw(vault: Vault, old: Sequence[Any], new: Sequence[Any]) -> None:
    """Remove what was read from a document that is replaced or deleted: its events and
    notes, and the numbers it gave at times the new version gives none."""
    vault.delete_records([i for i in old if isinstance(i, Event) or _is_text(i)])
    kept = {(i.metric, i.start) for i in new if isinstance(i, Observation) and not _is_text(i)}
    for item in old:
        if isinstance(item, Observation) and not _is_text(item):
            if (item.metric, item.start) in kept:
                continue  # the new value replaces it at the same time
            # PersonError: it was never stored (quarantined, or withdrawn before)
            with contextlib.suppress(PersonError):
                vault.rectify(
                    item.metric,
                    item.start,
                    corrected=None,
                    reason="the uploader changed or deleted the Nightscout document",
                    source=SOURCE,
                )


def _is_text(item: Any) -> bool:
    return isinstance(item, Observation) and not metric(item.metric).is_numeric


def _import(store: Store, person: Person, items: list[Any], kind: str, digest: str) -> None:
    summary: ImportSummary = import_items(
        store,
        person,
        lambda _options: iter(items),
        label=f"nightscout {kind}",
        digest=digest,
        fmt="nightscout",
        cursor_name=f"nightscout-upload-{kind}",
        options=ReadOptions(source=SOURCE),
    )
    if summary.fatal or summary.problem_count:
        first = summary.problems[0] if summary.problems else None
        reason = (first.reason if first else summary.fatal) or "it could not be read"
        where = f"Item {first.line} of the {kind}" if first and first.line else f"The {kind}"
        raise RefusedError(400, f"{where} could not be stored: {reason.rstrip('.')}.")


def upload(
    store: Store, vault: Vault, kind: str, raw: Sequence[Any], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Store a batch of entries, treatments, device status or profiles (all or nothing);
    return the documents as Nightscout answers them (each with its ``_id``).

    A document with the ``_id`` (or client identifier) of one already kept replaces it,
    and what was read from the old one is withdrawn first: this is also Nightscout's
    ``PUT`` (update or insert)."""
    if kind not in KINDS:
        raise RefusedError(404, f"There is no Nightscout collection '{kind}'.")
    now = now or datetime.now(UTC)
    person = vault.person
    digest = hashlib.sha256(json.dumps(list(raw), sort_keys=True).encode()).hexdigest()
    if kind == "entries":
        docs = list(enumerate(raw, start=1))
        for number, doc in docs:
            if not isinstance(doc, dict):
                raise _refuse(number, kind, "it is not a JSON object")
            if "eventType" in doc:
                raise RefusedError(400, f"Item {number} of the entries is not an entry.")
        items = _read(docs, kind)
        with store.backend.transaction(person.id):
            _import(store, person, items, kind, digest)
        return _with_entry_ids(vault, [dict(d) for _, d in docs])
    normalized = [_normalize(vault, kind, n, d, now) for n, d in enumerate(raw, start=1)]
    latest = {d.id: (n, d) for n, d in enumerate(normalized, start=1)}  # the last one wins
    items = _read([(n, d.doc) for n, d in latest.values()], kind)
    with store.backend.transaction(person.id):
        previous = vault.put_documents(collection(kind), [d for _, d in latest.values()])
        old = [d.doc for d in previous if d is not None]
        if old:
            _withdraw(vault, _read_kept(old, kind), items)
        _import(store, person, items, kind, digest)
    return [_listed(kind, d) for d in normalized]


def _with_entry_ids(vault: Vault, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The uploaded entries with the ``_id`` a GET gives them."""
    vault.reload_streams()
    streams = {s.device: s for s in vault.streams() if s.metric == "glucose" and s.source == SOURCE}
    for doc in docs:
        try:
            ms = round(nightscout_time(doc).timestamp() * 1000)
        except (ValueError, TypeError, OverflowError, OSError, LifeTwinError):
            ms = 0
        device = str(doc["device"]) if doc.get("device") else None
        stream = streams.get(device)
        if stream is not None and doc.get("type") != "cal" and 0 <= ms < 2**32 * 1000:
            doc["_id"] = entry_id(ms, stream)
        else:
            doc["_id"] = vault.opaque_id(f"entry|{json.dumps(doc, sort_keys=True)}")
    return docs


def remove_treatment(store: Store, vault: Vault, doc_id: str) -> int:
    """Delete a treatment and withdraw what was read from it; how many were deleted."""
    with store.backend.transaction(vault.person.id):
        gone = vault.delete_document(collection("treatments"), doc_id.lower())
        if gone is None:
            return 0
        _withdraw(vault, _read_kept([gone.doc], "treatments"), [])
    return 1


# -- kept documents -------------------------------------------------------------------------
def _listed(kind: str, doc: Document) -> dict[str, Any]:
    """A kept document as a GET answers it: with ``mills``, its time in milliseconds, as
    Nightscout's cache adds it (a profile keeps its own, which Loop sends as text)."""
    if kind == "profile":
        return {"mills": doc.ts_ms, **doc.doc}
    return {**doc.doc, "mills": doc.ts_ms}


def _kept(
    vault: Vault,
    kind: str,
    query: Query,
    *,
    purpose: Purpose,
    recipient: str | None = None,
) -> list[Document]:
    """Kept documents of a kind, newest first (profiles: by ``startDate``)."""
    since, until = query.span_ms()
    conditions = query.conditions
    found = vault.documents(
        collection(kind),
        source=SOURCE,
        purpose=purpose,
        recipient=recipient,
        since=None if since is None else datetime.fromtimestamp(since / 1000, UTC),
        until=None if until is None else datetime.fromtimestamp(until / 1000, UTC),
        limit=query.limit(kind),
        where=lambda d: matches(d.doc, d.ts_ms, conditions),
    )
    return found.items


def _treatment_of(vault: Vault, event: Event) -> dict[str, Any]:
    """A Nightscout treatment for an insulin or meal event of another source."""
    ms = round(event.start.timestamp() * 1000)
    details = event.details
    doc: dict[str, Any] = {"_id": vault.record_id(event)}
    rate = details.get("rate_u_per_h", details.get("absolute", details.get("rate")))
    kind = str(details.get("type", "")).lower()
    if "carbs_g" in details:
        doc.update(eventType="Carb Correction", carbs=details["carbs_g"])
    elif "insulin_u" in details and "long" in kind:
        # Nightscout counts every 'insulin' as rapid-acting on board: say it in words
        doc.update(eventType="Note", notes=f"{kind} insulin {details['insulin_u']} U")
    elif "insulin_u" in details:
        doc.update(eventType="Correction Bolus", insulin=details["insulin_u"])
    elif rate is not None or "basal" in kind:
        minutes = (event.end - event.start).total_seconds() / 60 if event.end else 0
        doc.update(eventType="Temp Basal", absolute=rate, rate=rate, duration=minutes)
    else:
        doc.update(eventType="Note")
    if event.title and "notes" not in doc:
        doc["notes"] = event.title
    doc.update(
        created_at=iso(ms),
        timestamp=iso(ms),
        enteredBy=event.source,
        utcOffset=offset_minutes(event.start),
        mills=ms,
    )
    return doc


TREATMENT_EVENTS = ("event:insulin", "event:meal")


def _other_treatments(
    vault: Vault, query: Query, want: int, *, purpose: Purpose, recipient: str | None
) -> list[tuple[int, dict[str, Any]]]:
    """The newest insulin and meal events of sources other than uploads, as treatments:
    read in windows back from the newest day, so a GET does not open years of them."""
    streams = [
        s
        for s in vault.visible_streams(purpose, recipient)
        if s.metric in TREATMENT_EVENTS and s.source != SOURCE
    ]
    spans = [span for span in (vault.stream_days(s) for s in streams) if span is not None]
    if not spans:
        return []
    since, until = query.span_ms()
    first_ms = min(s[0] for s in spans) * DAY_MS
    lo_bound = first_ms if since is None else max(first_ms, since)
    hi = (max(s[1] for s in spans) + 1) * DAY_MS
    hi = hi if until is None else min(hi, until)
    width = 7 * DAY_MS
    found: list[tuple[int, dict[str, Any]]] = []
    while hi > lo_bound and len(found) < want:
        lo = max(lo_bound, hi - width)
        window = {
            "since": datetime.fromtimestamp(lo / 1000, UTC),
            "until": datetime.fromtimestamp(hi / 1000, UTC),
        }
        for name in TREATMENT_EVENTS:
            for event in vault.read_records(name, purpose=purpose, recipient=recipient, **window):
                if isinstance(event, Event) and event.source != SOURCE:
                    doc = _treatment_of(vault, event)
                    if matches(doc, doc["mills"], query.conditions):
                        found.append((doc["mills"], doc))
        hi, width = lo, min(width * 4, 366 * DAY_MS)
    return found


def treatments(
    vault: Vault,
    query: Query,
    *,
    purpose: Purpose,
    recipient: str | None = None,
) -> list[dict[str, Any]]:
    """Uploaded treatments, with the insulin and meals of other sources (a Clarity or
    Tidepool import) as Nightscout treatments; newest first."""
    want = query.limit("treatments")
    found = [
        (d.ts_ms, _listed("treatments", d))
        for d in _kept(vault, "treatments", query, purpose=purpose, recipient=recipient)
    ]
    found += _other_treatments(vault, query, want, purpose=purpose, recipient=recipient)
    found.sort(key=lambda pair: (pair[0], str(pair[1]["_id"])), reverse=True)
    return [doc for _, doc in found[:want]]


def profiles(
    vault: Vault, query: Query, *, purpose: Purpose, recipient: str | None = None
) -> list[dict[str, Any]]:
    """Profiles, newest ``startDate`` first."""
    found = _kept(vault, "profile", query, purpose=purpose, recipient=recipient)
    return [_listed("profile", d) for d in found]


def current_profile(
    vault: Vault, *, purpose: Purpose, recipient: str | None = None
) -> dict[str, Any] | None:
    """The profile in force: the one with the newest ``startDate`` (None when none)."""
    found = profiles(vault, Query(count=1), purpose=purpose, recipient=recipient)
    return found[0] if found else None


def devicestatus(
    vault: Vault, query: Query, *, purpose: Purpose, recipient: str | None = None
) -> list[dict[str, Any]]:
    """Device status documents, newest first."""
    found = _kept(vault, "devicestatus", query, purpose=purpose, recipient=recipient)
    return [_listed("devicestatus", d) for d in found]


# -- status -------------------------------------------------------------------------------
def glucose_unit(vault: Vault | None) -> str:
    """The person's glucose display unit in Nightscout's words (``mg/dl`` or ``mmol``):
    their preference (the profile fact ``glucose_unit``) when they have one, else mg/dl."""
    if vault is None:
        return "mg/dl"
    preference = str(vault.profile().get("glucose_unit") or "").strip().lower()
    return "mmol" if preference.startswith("mmol") else "mg/dl"


def server_status(unit: str, now: datetime | None = None) -> dict[str, Any]:
    """``status.json``: the fields uploaders and followers check (the API is on, the
    Careportal takes treatments, the display unit and the target thresholds)."""
    moment = now or datetime.now(UTC)
    ms = round(moment.timestamp() * 1000)
    return {
        "status": "ok",
        "name": "LifeTwin",
        "version": __version__,
        "serverTime": iso(ms),
        "serverTimeEpoch": ms,
        "apiEnabled": True,
        "careportalEnabled": True,
        "boluscalcEnabled": False,
        "settings": {
            "units": unit,
            "timeFormat": 24,
            "customTitle": "LifeTwin",
            "theme": "colors",
            "enable": ["careportal", "iob", "cob", "basal", "profile", "devicestatus"],
            "thresholds": dict(THRESHOLDS),
        },
        "extendedSettings": {"devicestatus": {"advanced": True}},
        "authorized": None,
        "runtimeState": "loaded",
    }


def verify_auth(can_read: bool | None, can_write: bool) -> dict[str, Any]:
    """``verifyauth``: what the credentials sent allow (None: none were sent, or they
    matched nothing), in Nightscout's shape."""
    known = can_read is not None
    return {
        "status": 200,
        "message": {
            "canRead": bool(can_read),
            "canWrite": known and can_write,
            "isAdmin": False,
            "message": "OK" if can_read else "UNAUTHORIZED",
            "rolefound": "FOUND" if known else "NOTFOUND",
            "permissions": "ROLE" if known else "DEFAULT",
        },
    }
