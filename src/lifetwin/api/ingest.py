"""Observations sent to the API: one pydantic model is both the documented schema and
the check, and the times it accepts are the importer's (``core.validation``).

A batch is all or nothing: the first item that is not an observation refuses the whole
request with 422 and one sentence naming it — an unknown field, a boolean or a string
where a number belongs, NaN or an infinity, an integer beyond 64 bits, a time outside
1900 to a day from now, a nesting the schema does not have — and nothing is written.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Annotated, Any

import numpy as np
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


def parse_json(body: bytes) -> list[ObservationIn]:
    """A JSON body: ``{"observations": [...]}`` or a bare array."""
    start = body.lstrip()[:1]
    try:
        if start == b"[":
            items = _ARRAY.validate_json(body)
            if not items:
                raise ApiError(422, "There are no observations in the body.")
            return items
        return _BATCH.validate_json(body).observations
    except ValidationError as exc:
        raise ApiError(*_sentence(exc)) from None


def parse_ndjson(body: bytes, limit: int) -> list[ObservationIn]:
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
    return out


def to_chunks(items: Iterable[ObservationIn], label: str) -> list[SeriesChunk]:
    """Observations as series chunks, refusing the whole batch at the first that cannot be
    stored (unknown metric, unconvertible unit, impossible value)."""
    groups: dict[
        tuple[str, str | None, str], tuple[list[int], list[float], list[int], list[int]]
    ] = {}
    for item in items:
        group = groups.setdefault((item.metric, item.unit, item.source.strip()), ([], [], [], []))
        group[0].append(item.start_ms)
        group[1].append(item.value)
        group[2].append(item.duration_ms)
        group[3].append(item.tz_min)
    chunks = []
    for (code, unit, source), (starts, values, durations, tzs) in groups.items():
        try:
            m = metric(code)
            if not m.is_numeric:
                raise LifeTwinError(f"{m.code} is not numeric; send it as an event or record")
            converted = conversion(unit, m).apply_array(np.array(values))
            canonical_unit(m, unit)
        except LifeTwinError as exc:
            reason = str(exc).rstrip(".")
            end = "" if reason.endswith("?") else "."
            raise ApiError(422, f"Observations of '{code}' in '{unit}': {reason}{end}") from None
        bad = np.flatnonzero(~plausible_mask(m, converted))
        if len(bad):
            reason = range_reason(m, float(converted[bad[0]])) or "not a number"
            raise ApiError(422, f"An observation of {m.code} is impossible: {reason}.")
        n = len(starts)
        chunks.append(
            SeriesChunk(
                metric=m.code,
                unit=unit,
                source=source,
                device=None,
                file=label,
                start_ms=np.array(starts, dtype=np.int64),
                dur_ms=np.array(durations, dtype=np.int64),
                value=np.array(values, dtype=np.float64),
                tz_min=np.array(tzs, dtype=np.int64),
                line=np.zeros(n, dtype=np.int64),
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
