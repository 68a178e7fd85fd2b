"""Reading text and JSON safely, with line numbers for every problem, in bounded memory.

Every reader here holds at most a bounded piece of a file: a JSON array or NDJSON file is
read item by item from disk (an item up to ``MAX_ITEM_BYTES``), a line of text up to
``MAX_LINE_BYTES``, a whole document only up to ``MAX_WHOLE_BYTES``. A file past a bound
is refused with one sentence, so no file — a 2 GB line without a newline, say — can make
an import use more than a few hundred MB.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lifetwin.core.errors import ImportFailedError, MappingError
from lifetwin.core.model import Problem

MAX_WHOLE_BYTES = 32 * 1024 * 1024  # a file read whole (a JSON document, an OFX, an HTML)
MAX_ITEM_BYTES = 16 * 1024 * 1024  # one item of a JSON array or NDJSON file
MAX_LINE_BYTES = 1024 * 1024  # one line of a CSV or text file
_CHUNK = 1 << 20


def _mb(n: int) -> str:
    return f"{n // (1024 * 1024)} MB"


def read_bytes(path: Path, limit: int = MAX_WHOLE_BYTES) -> bytes | Problem:
    """A whole (small) file, or a Problem when it is larger than ``limit``."""
    size = path.stat().st_size
    if size > limit:
        return Problem(
            file=path.name,
            reason=f"the file is {size / 2**20:,.0f} MB; LifeTwin reads files of this kind "
            f"whole only up to {_mb(limit)} (split or export a shorter period)",
        )
    with path.open("rb") as handle:
        return handle.read(limit + 1)


def read_text(path: Path, encoding: str | None, limit: int = MAX_WHOLE_BYTES) -> str | Problem:
    """The whole (small) file as text, or a Problem naming where decoding failed."""
    raw = read_bytes(path, limit)
    if isinstance(raw, Problem):
        return raw
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


class BoundedLines:
    """A text file's lines for ``csv.reader`` and loops, each at most ``MAX_LINE_BYTES``
    long: a longer line (a binary or damaged file) stops the read with one sentence."""

    def __init__(self, handle: IO[str], name: str, limit: int = MAX_LINE_BYTES) -> None:
        self._handle = handle
        self._name = name
        self._limit = limit
        self.line = 0

    def __iter__(self) -> BoundedLines:
        return self

    def __next__(self) -> str:
        text = self._handle.readline(self._limit + 1)
        if not text:
            raise StopIteration
        self.line += 1
        if len(text) > self._limit:
            raise ImportFailedError(
                f"Line {self.line} of {self._name} is longer than {_mb(self._limit)}; this is "
                "not a text export LifeTwin reads (is it the right file?)."
            )
        return text

    def read(self, size: int = -1) -> str:
        return self._handle.read(min(size, self._limit) if size >= 0 else self._limit)


def json_items(path: Path, encoding: str | None = None) -> Iterator[tuple[int, Any] | Problem]:
    """(line, value) for each item of a JSON array or NDJSON file, or the one value of a
    JSON document, read from disk piece by piece (never the whole file at once)."""
    try:
        decoder = codecs.getincrementaldecoder(encoding or "utf-8-sig")()
    except LookupError:
        yield Problem(file=path.name, reason=f"'{encoding}' is not a text encoding Python knows")
        return
    reader = _JsonStream(path, decoder)
    try:
        yield from reader.items()
    except UnicodeDecodeError as exc:
        yield Problem(
            file=path.name,
            line=reader.line,
            reason=f"the file is not valid {encoding or 'UTF-8'} text ({exc.reason}); save it "
            "as UTF-8 or pass --encoding",
        )


class _JsonStream:
    def __init__(self, path: Path, decoder: codecs.IncrementalDecoder) -> None:
        self.path = path
        self.decoder = decoder
        self.handle = path.open("rb")
        self.buffer = ""
        self.pos = 0
        self.line = 1
        self.eof = False
        self.json = json.JSONDecoder()

    def _fill(self) -> bool:
        if self.eof:
            return False
        data = self.handle.read(_CHUNK)
        if not data:
            self.buffer += self.decoder.decode(b"", final=True)
            self.eof = True
            self.handle.close()
            return True
        if self.pos > _CHUNK:  # drop what was read already
            self.buffer = self.buffer[self.pos :]
            self.pos = 0
        self.buffer += self.decoder.decode(data)
        return True

    def _skip(self, chars: str) -> str:
        """Skip whitespace (and ``chars``); the next character ('' at the end)."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in " \t\r\n" + chars:
                self.line += self.buffer[self.pos] == "\n"
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._fill():
                return ""

    def _value(self) -> tuple[int, Any] | Problem:
        """The next value at ``pos``, reading more of the file as long as it is incomplete."""
        while True:
            try:
                value, end = self.json.raw_decode(self.buffer, self.pos)
                if end < len(self.buffer) or self.eof:  # a number may go on in the next piece
                    line = self.line
                    self.line += self.buffer.count("\n", self.pos, end)
                    self.pos = end
                    return line, value
            except json.JSONDecodeError as exc:
                if self.eof:
                    return Problem(
                        file=self.path.name,
                        line=self.line + self.buffer.count("\n", self.pos, exc.pos),
                        reason=f"the JSON is truncated or malformed ({exc.msg})",
                    )
            if len(self.buffer) - self.pos > MAX_ITEM_BYTES:
                return Problem(
                    file=self.path.name,
                    line=self.line,
                    reason=f"an item of the JSON is larger than {_mb(MAX_ITEM_BYTES)}; "
                    "LifeTwin reads JSON exports item by item",
                )
            self._fill()

    def items(self) -> Iterator[tuple[int, Any] | Problem]:
        first = self._skip("")
        if first == "":
            yield Problem(file=self.path.name, line=1, reason="the file is empty")
            return
        if first == "[":
            self.pos += 1
            while True:
                nxt = self._skip("")
                if nxt == "]":
                    return
                if nxt == "":
                    yield Problem(
                        file=self.path.name,
                        line=self.line,
                        reason="the JSON array is truncated or malformed (no closing ']')",
                    )
                    return
                found = self._value()
                yield found
                if isinstance(found, Problem):
                    return
                after = self._skip("")
                if after == ",":
                    self.pos += 1
                    continue
                if after == "]":
                    return
                yield Problem(
                    file=self.path.name,
                    line=self.line,
                    reason="the JSON array is truncated or malformed (expected ',' or ']')",
                )
                return
        while self._skip("") != "":  # one document, or NDJSON: values one after another
            found = self._value()
            yield found
            if isinstance(found, Problem):
                return


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
