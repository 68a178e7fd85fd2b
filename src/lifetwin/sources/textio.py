"""Reading text and JSON safely, with line numbers for every problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lifetwin.core.errors import MappingError
from lifetwin.core.model import Problem

MAX_JSON_BYTES = 512 * 1024 * 1024


def read_text(path: Path, encoding: str | None) -> str | Problem:
    """The whole file as text, or a Problem naming where decoding failed."""
    raw = path.read_bytes()
    if len(raw) > MAX_JSON_BYTES:
        return Problem(file=path.name, reason="the file is larger than 512 MB; split it first")
    try:
        return raw.decode(encoding or "utf-8-sig")
    except UnicodeDecodeError as exc:
        return encoding_problem(path, raw[: exc.start], encoding, exc)
    except LookupError:
        return Problem(file=path.name, reason=f"'{encoding}' is not a text encoding Python knows")


def encoding_problem(
    path: Path, before: bytes, encoding: str | None, exc: UnicodeDecodeError
) -> Problem:
    line = before.count(b"\n") + 1
    bad = exc.object[exc.start : exc.start + 1].hex()
    return Problem(
        file=path.name,
        line=line,
        reason=(
            f"the file is not valid {encoding or 'UTF-8'} text (byte 0x{bad}); "
            "save it as UTF-8 or pass --encoding (for example --encoding latin-1)"
        ),
    )


def iter_json(path: Path, text: str) -> Iterator[tuple[int, Any] | Problem]:
    """Yield (line, value) for each item of a JSON array, a single value, or NDJSON lines."""
    stripped = text.lstrip()
    if not stripped:
        yield Problem(file=path.name, line=1, reason="the file is empty")
        return
    decoder = json.JSONDecoder()
    if stripped[0] == "[":
        yield from _iter_array(path, text, decoder)
        return
    try:
        value, end = decoder.raw_decode(text, len(text) - len(stripped))
    except json.JSONDecodeError as exc:
        yield _json_problem(path, exc)
        return
    rest = text[end:].strip()
    if not rest:
        yield 1 + text.count("\n", 0, len(text) - len(stripped)), value
        return
    # Several values: newline-delimited JSON.
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield Problem(file=path.name, line=number, reason=f"the line is not JSON ({exc.msg})")


def _iter_array(
    path: Path, text: str, decoder: json.JSONDecoder
) -> Iterator[tuple[int, Any] | Problem]:
    pos = text.index("[") + 1
    line = 1 + text.count("\n", 0, pos)
    n = len(text)
    while True:
        start = pos
        while pos < n and text[pos] in " \t\r\n":
            pos += 1
        line += text.count("\n", start, pos)
        if pos < n and text[pos] == "]":
            return
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            yield _json_problem(path, exc)
            return
        yield line, value
        line += text.count("\n", pos, end)
        pos = end
        while pos < n and text[pos] in " \t\r\n":
            line += text[pos] == "\n"
            pos += 1
        if pos < n and text[pos] == ",":
            pos += 1
            continue
        if pos < n and text[pos] == "]":
            return
        yield Problem(
            file=path.name,
            line=line,
            reason="the JSON array is truncated or malformed (expected ',' or ']')",
        )
        return


def _json_problem(path: Path, exc: json.JSONDecodeError) -> Problem:
    return Problem(
        file=path.name,
        line=exc.lineno,
        reason=f"the JSON is truncated or malformed ({exc.msg}, column {exc.colno})",
    )


def zone(name: str) -> tzinfo:
    if name.upper() in ("UTC", "Z"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"'{name}' is not a time zone name (try Europe/Berlin or UTC)."
        ) from None


def parse_time(value: Any, fmt: str, default_zone: tzinfo) -> datetime:
    """Parse a timestamp; times without an offset are taken in ``default_zone``.

    >>> parse_time("2024-03-01 08:30", "iso", UTC).isoformat()
    '2024-03-01T08:30:00+00:00'
    >>> parse_time(1527924300000, "epoch_ms", UTC).isoformat()
    '2018-06-02T07:25:00+00:00'
    """
    if fmt in ("epoch_s", "epoch_ms"):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"'{value}' is not a number of seconds since 1970") from None
        seconds = number / 1000 if fmt == "epoch_ms" else number
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"'{value}' is not a plausible time") from None
    text = str(value).strip()
    if not text:
        raise ValueError("the time is empty")
    try:
        if fmt == "iso":
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        else:
            moment = datetime.strptime(text, fmt)
    except ValueError:
        raise ValueError(f"'{text}' is not a time in the {fmt} format") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=default_zone)
    return moment
