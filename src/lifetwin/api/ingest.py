"""Observations sent to the API: one pydantic model is both the documented schema and
the check, and the times it accepts are the importer's (``core.validation``).

A batch is all or nothing: the first item that is not an observation refuses the whole
request with 422 and one sentence naming it — an unknown field, a boolean or a string
where a number belongs, NaN or an infinity, an integer beyond 64 bits, a time outside
1900 to a day from now, a nesting the schema does not have — and nothing is written.

Large batches in the common shape (the fields below, times as epoch numbers or ISO 8601
with an offset) are checked column by column (:func:`_columns`): what it accepts the
model accepts with the same values (a property test holds it to that), and anything it
does not recognise goes to the model, which then accepts it or names the problem.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Annotated, Any

import numpy as np
import numpy.typing as npt
import orjson
from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from lifetwin.api.security import ApiError
from lifetwin.core.errors import LifeTwinError
from lifetwin.core.model import to_epoch_ms
from lifetwin.core.units import canonical_unit, conversion
from lifetwin.core.validation import plausible_mask, range_reason, time_reason
from lifetwin.core.vocabulary import metric
from lifetwin.sources.base import SeriesChunk

INT64 = 2**63 - 1
EpochOrIso = Annotated[int, Field(strict=True, ge=-INT64 - 1, le=INT64)] | AwareDatetime


def _ms(value: int | datetime) -> int:
    if isinstance(value, datetime):
        return to_epoch_ms(value)
    return value if abs(value) > 10**11 else value * 1000  # seconds or milliseconds


class ObservationIn(BaseModel):
    """One numeric observation."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, populate_by_name=True)

    metric: str = Field(min_length=1, max_length=80, description="A metric code, e.g. heart_rate.")
    value: float = Field(strict=True, description="A finite number (not a string or boolean).")
    unit: str | None = Field(
        default=None, max_length=40, description="Converted to the metric's unit."
    )
    time: EpochOrIso = Field(
        validation_alias=AliasChoices("time", "start"),
        description="ISO 8601 with an offset, or epoch milliseconds; 1900 to a day from now.",
    )
    end: EpochOrIso | None = None
    source: str = Field(default="api", min_length=1, max_length=100, pattern=r"\S")
    tz_min: int = Field(default=0, strict=True, ge=-14 * 60, le=14 * 60)

    @model_validator(mode="after")
    def _times(self) -> ObservationIn:
        now_ms = int(datetime.now(UTC).timestamp() * 1000)
        start = _ms(self.time)
        reason = time_reason(start, now_ms)
        if reason:
            raise ValueError(reason)
        if self.end is not None and _ms(self.end) < start:
            raise ValueError("'end' is before 'time'")
        return self

    @property
    def start_ms(self) -> int:
        return _ms(self.time)

    @property
    def duration_ms(self) -> int:
        return 0 if self.end is None else _ms(self.end) - self.start_ms


class ObservationsIn(BaseModel):
    """A batch: ``{"observations": [...]}`` (a bare JSON array is taken too)."""

    model_config = ConfigDict(extra="forbid")

    observations: list[ObservationIn] = Field(min_length=1)


_BATCH = TypeAdapter(ObservationsIn)
_ARRAY = TypeAdapter(list[ObservationIn])
_ONE = TypeAdapter(ObservationIn)


def _problem(errors: list[Any]) -> tuple[int | None, str]:
    """(index of the item, what is wrong with it) for the first error of a batch."""
    first = errors[0]
    loc = [p for p in first.get("loc", ()) if p != "observations"]
    index = loc[0] if loc and isinstance(loc[0], int) else None
    rest = loc[1:] if index is not None else loc
    field_name = str(rest[0]) if rest else ""
    same = [
        e
        for e in errors
        if list(e.get("loc", ()))[: len(first.get("loc", ())) - 1]
        == list(first.get("loc", ()))[:-1]
    ]
    types = {e.get("type") for e in same}
    message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    if first.get("type") == "extra_forbidden":
        return index, f"has a field the API does not know: '{field_name}'"
    if first.get("type") == "missing":
        return index, f"'{field_name}' is missing"
    if field_name in ("time", "start", "end"):
        given = first.get("input")
        if "timezone_aware" in types:
            return index, f"the time '{given}' has no UTC offset"
        if types & {"less_than_equal", "greater_than_equal"}:
            return index, f"'{field_name}' is beyond 64-bit integers"
        return index, (
            f"'{field_name}' is not an ISO 8601 time with an offset, or epoch milliseconds"
        )
    if field_name == "value":
        if "finite_number" in types:
            return index, "'value' must be a finite number (not NaN or an infinity)"
        return index, "'value' must be a number"
    if field_name:
        return index, f"'{field_name}': {message[0].lower() + message[1:]}"
    return index, message[0].lower() + message[1:]


def _sentence(error: ValidationError) -> tuple[int, str]:
    """(status, one sentence) for a batch that did not validate, naming the observation."""
    errors = error.errors()
    if errors and errors[0].get("type") == "json_invalid":
        message = str(errors[0].get("msg", "")).removeprefix("Invalid JSON: ")
        if "recursion limit" in message:
            return 422, "The body is nested deeper than observations can be."
        return 400, f"The body is not JSON ({message})."
    if errors and errors[0].get("type") == "too_short":
        return 422, "There are no observations in the body."
    index, what = _problem(errors)
    if index is None:
        return 422, f"The body is not a batch of observations: {what}."
    return (
        422,
        f"Observation {index + 1} {what if what.startswith('has ') else ': ' + what}.".replace(
            " : ", ": "
        ),
    )


@dataclass(frozen=True)
class Batch:
    """Validated observations as columns (what the store writes)."""

    metric: Sequence[str]
    unit: Sequence[str | None]
    source: Sequence[str]
    start_ms: npt.NDArray[np.int64]
    dur_ms: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    tz_min: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.metric)

    @classmethod
    def of(cls, items: Sequence[ObservationIn]) -> Batch:
        return cls(
            metric=[i.metric for i in items],
            unit=[i.unit for i in items],
            source=[i.source for i in items],
            start_ms=np.array([i.start_ms for i in items], dtype=np.int64),
            dur_ms=np.array([i.duration_ms for i in items], dtype=np.int64),
            value=np.array([i.value for i in items], dtype=np.float64),
            tz_min=np.array([i.tz_min for i in items], dtype=np.int64),
        )


_PLAIN_KEYS = frozenset({"metric", "value", "unit", "time", "start", "source", "tz_min"})
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")
_NUMBER = frozenset({int, float})


def _columns(doc: Any) -> Batch | None:
    """The batch checked column by column when every item has the common shape, else None
    (the model then decides). Accepts only what :class:`ObservationIn` accepts, with the
    same values."""
    obs = doc if type(doc) is list else None
    if type(doc) is dict and doc.keys() == {"observations"}:
        obs = doc["observations"]
    if type(obs) is not list or not obs:
        return None
    if set(map(type, obs)) != {dict}:
        return None
    shapes = set(map(tuple, obs))  # the keys of each item, in their order: few distinct
    for shape in shapes:
        keys = frozenset(shape)
        if not keys <= _PLAIN_KEYS or ("time" in keys) == ("start" in keys):
            return None
        if "metric" not in keys or "value" not in keys:
            return None
    values = list(map(itemgetter("value"), obs))
    metrics = list(map(itemgetter("metric"), obs))
    if len(shapes) == 1:
        (keys,) = map(frozenset, shapes)
        times = list(map(itemgetter("time" if "time" in keys else "start"), obs))
        tzs = list(map(itemgetter("tz_min"), obs)) if "tz_min" in keys else [0] * len(obs)
        units = list(map(itemgetter("unit"), obs)) if "unit" in keys else [None] * len(obs)
        sources = list(map(itemgetter("source"), obs)) if "source" in keys else ["api"] * len(obs)
    else:
        times = [d["time"] if "time" in d else d["start"] for d in obs]
        tzs = [d.get("tz_min", 0) for d in obs]
        units = [d.get("unit") for d in obs]
        sources = [d.get("source", "api") for d in obs]
    if not set(map(type, values)) <= _NUMBER or not set(map(type, tzs)) <= {int}:
        return None
    # the text fields take few distinct values: each combination is checked by the model
    for code, unit, source in set(zip(metrics, units, sources, strict=True)):
        try:
            _ONE.validate_python(
                {"metric": code, "unit": unit, "source": source, "value": 0.0, "time": 0}
            )
        except (ValidationError, TypeError):
            return None
    try:
        value = np.array(values, dtype=np.float64)
        tz_min = np.array(tzs, dtype=np.int64)
        start_ms = _times_ms(times)
    except (OverflowError, ValueError, TypeError):
        return None
    if start_ms is None or not np.isfinite(value).all():
        return None
    if len(tz_min) and (tz_min.min() < -14 * 60 or tz_min.max() > 14 * 60):
        return None
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    if time_reason(int(start_ms.min()), now_ms) or time_reason(int(start_ms.max()), now_ms):
        return None
    return Batch(
        metric=metrics,
        unit=units,
        source=sources,
        start_ms=start_ms,
        dur_ms=np.zeros(len(obs), dtype=np.int64),
        value=value,
        tz_min=tz_min,
    )


def _times_ms(times: list[Any]) -> npt.NDArray[np.int64] | None:
    """Epoch milliseconds of times given as integers (seconds or milliseconds, as
    :func:`_ms`) or ISO 8601 with an offset; None for anything else."""
    kinds = set(map(type, times))
    if not kinds <= {int, str}:
        return None
    if kinds == {int}:
        return _epoch_ms(np.array(times, dtype=np.int64))  # OverflowError beyond 64 bits
    if kinds == {str}:
        fast = _iso_ms(times)
        if fast is not None:
            return fast
    out = np.empty(len(times), dtype=np.int64)
    numbers = []
    for i, given in enumerate(times):
        if type(given) is int:
            numbers.append(i)
        elif _ISO.fullmatch(given):
            out[i] = to_epoch_ms(datetime.fromisoformat(given))  # ValueError: not a time
        else:
            return None
    if numbers:
        out[numbers] = _epoch_ms(np.array([times[i] for i in numbers], dtype=np.int64))
    return out


_SEPARATORS = ((4, ord("-")), (7, ord("-")), (10, ord("T")), (13, ord(":")), (16, ord(":")))
_BEFORE_MONTH = np.array([0, 0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334])
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _iso_ms(times: list[str]) -> npt.NDArray[np.int64] | None:
    """Epoch milliseconds of ISO 8601 times in the shape :data:`_ISO` takes, computed for
    all at once with the same value ``to_epoch_ms(datetime.fromisoformat(t))`` gives; None
    when any is not plainly such a time between 1900 and 2200 (the caller then looks at
    each)."""
    n = len(times)
    try:
        raw = np.array(times, dtype="S")
    except UnicodeEncodeError:
        return None
    if raw.itemsize == 0:
        return None
    grid = raw.view(np.uint8).reshape(n, raw.itemsize)
    lengths = np.fromiter(map(len, times), dtype=np.int64, count=n)
    zulu = grid[np.arange(n), lengths - 1] == ord("Z")
    kinds = lengths * 2 + zulu
    out = np.empty(n, dtype=np.int64)
    for kind in np.unique(kinds).tolist():
        rows = np.flatnonzero(kinds == kind)
        found = _iso_group(grid[rows, : kind // 2], kind // 2, bool(kind % 2))
        if found is None:
            return None
        out[rows] = found
    return out


def _iso_group(g: npt.NDArray[np.uint8], length: int, z: bool) -> npt.NDArray[np.int64] | None:
    """:func:`_iso_ms` for times of one length, all ending in Z or all in an offset."""
    fraction = length - (20 if z else 25)  # digits after the point, with the point
    if fraction < 0 or fraction == 1 or fraction > 7:
        return None
    places = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]
    if fraction:
        places += list(range(20, 19 + fraction))
        if not (g[:, 19] == ord(".")).all():
            return None
    if not z:
        places += [length - 5, length - 4, length - 2, length - 1]
        sign = g[:, length - 6]
        if not (((sign == ord("+")) | (sign == ord("-"))).all()):
            return None
        if not (g[:, length - 3] == ord(":")).all():
            return None
    if not all((g[:, at] == char).all() for at, char in _SEPARATORS):
        return None
    if not ((g[:, places] >= ord("0")) & (g[:, places] <= ord("9"))).all():
        return None

    def number(first: int, count: int) -> npt.NDArray[np.int64]:
        value = g[:, first].astype(np.int64) - ord("0")
        for at in range(first + 1, first + count):
            value = value * 10 + (g[:, at].astype(np.int64) - ord("0"))
        return value

    year, month, day = number(0, 4), number(5, 2), number(8, 2)
    hour, minute, second = number(11, 2), number(14, 2), number(17, 2)
    micro = number(20, fraction - 1) * 10 ** (7 - fraction) if fraction else 0
    offset = 0
    if not z:
        oh, om = number(length - 5, 2), number(length - 2, 2)
        if (oh > 23).any() or (om > 59).any():
            return None
        offset = np.where(g[:, length - 6] == ord("-"), -1, 1) * (oh * 3600 + om * 60)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    if (
        (year < 1900).any()
        or (year > 2200).any()
        or (month < 1).any()
        or (month > 12).any()
        or (day < 1).any()
        or (day > _MONTH_DAYS[np.clip(month, 0, 12)] + (leap & (month == 2))).any()
        or (hour > 23).any()
        or (minute > 59).any()
        or (second > 59).any()
    ):
        return None
    y = year - 1
    days = (
        y * 365
        + y // 4
        - y // 100
        + y // 400
        - 719162  # days from 1970-01-01 to 1 January
        + _BEFORE_MONTH[month]
        + ((month > 2) & leap)
        + day
        - 1
    )
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    # as to_epoch_ms: round(timestamp * 1000), timestamp = microseconds / 10**6 (exact in
    # a double for these years), rounded half to even
    total = (seconds * 1_000_000 + micro).astype(np.float64)
    found: npt.NDArray[np.int64] = np.rint(total / 1e6 * 1000).astype(np.int64)
    return found


def _epoch_ms(raw: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Epoch seconds or milliseconds as milliseconds, as :func:`_ms` decides."""
    big = (raw > 10**11) | (raw < -(10**11))
    return np.where(big, raw, raw * 1000)


def parse_json(body: bytes) -> Batch:
    """A JSON body: ``{"observations": [...]}`` or a bare array."""
    try:
        fast = _columns(orjson.loads(body))
    except orjson.JSONDecodeError:
        fast = None  # the model names the problem
    if fast is not None:
        return fast
    start = body.lstrip()[:1]
    try:
        if start == b"[":
            items = _ARRAY.validate_json(body)
            if not items:
                raise ApiError(422, "There are no observations in the body.")
            return Batch.of(items)
        return Batch.of(_BATCH.validate_json(body).observations)
    except ValidationError as exc:
        raise ApiError(*_sentence(exc)) from None


def parse_ndjson(body: bytes, limit: int) -> Batch:
    """One observation per line (empty lines skipped)."""
    out: list[ObservationIn] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        if len(out) >= limit:
            raise ApiError(413, f"At most {limit:,} observations per request.")
        try:
            out.append(_ONE.validate_json(line))
        except ValidationError as exc:
            errors = exc.errors()
            if errors[0].get("type") == "json_invalid":
                raise ApiError(400, f"Line {number} of the NDJSON body is not JSON.") from None
            _index, what = _problem(errors)
            raise ApiError(422, f"Line {number} of the NDJSON body: {what}.") from None
    if not out:
        raise ApiError(422, "There are no observations in the body.")
    return Batch.of(out)


def to_chunks(batch: Batch, label: str) -> list[SeriesChunk]:
    """Observations as series chunks, refusing the whole batch at the first that cannot be
    stored (unknown metric, unconvertible unit, impossible value)."""
    stripped = {source: source.strip() for source in set(batch.source)}
    ids: dict[tuple[str, str | None, str], int] = {}
    given = set(zip(batch.metric, batch.unit, batch.source, strict=True))
    if len(given) == 1:  # the usual batch: one series
        ((code, unit, source),) = given
        ids[(code, unit, stripped[source])] = 0
        which = np.zeros(len(batch), dtype=np.int64)
    else:
        which = np.array(
            [
                ids.setdefault((code, unit, stripped[source]), len(ids))
                for code, unit, source in zip(batch.metric, batch.unit, batch.source, strict=True)
            ],
            dtype=np.int64,
        )
    chunks = []
    for (code, unit, source), group in ids.items():
        take = slice(None) if len(ids) == 1 else np.flatnonzero(which == group)
        values = batch.value[take]
        try:
            m = metric(code)
            if not m.is_numeric:
                raise LifeTwinError(f"{m.code} is not numeric; send it as an event or record")
            converted = conversion(unit, m).apply_array(values)
            canonical_unit(m, unit)
        except LifeTwinError as exc:
            reason = str(exc).rstrip(".")
            end = "" if reason.endswith("?") else "."
            raise ApiError(422, f"Observations of '{code}' in '{unit}': {reason}{end}") from None
        bad = np.flatnonzero(~plausible_mask(m, converted))
        if len(bad):
            reason = range_reason(m, float(converted[bad[0]])) or "not a number"
            raise ApiError(422, f"An observation of {m.code} is impossible: {reason}.")
        starts = batch.start_ms[take]
        chunks.append(
            SeriesChunk(
                metric=m.code,
                unit=unit,
                source=source,
                device=None,
                file=label,
                start_ms=np.array(starts, dtype=np.int64),
                dur_ms=np.array(batch.dur_ms[take], dtype=np.int64),
                value=np.array(values, dtype=np.float64),
                tz_min=np.array(batch.tz_min[take], dtype=np.int64),
                line=np.zeros(len(starts), dtype=np.int64),
            )
        )
    return chunks


def schema() -> dict[str, Any]:
    """The request body's JSON schema with its definitions inlined (for the spec)."""
    raw = ObservationsIn.model_json_schema()
    defs = raw.pop("$defs", {})

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return walk(defs[node["$ref"].split("/")[-1]])
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    result: dict[str, Any] = walk(raw)
    return result
