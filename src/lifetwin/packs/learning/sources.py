"""Learning exports: Anki collections and a generic exercise-log CSV.

**Anki** (``.colpkg``, ``.apkg``, or a bare ``collection.anki2``): a package is a zip
holding the collection as SQLite — ``collection.anki21b`` (zstd-compressed, Anki ≥
2.1.50), ``collection.anki21`` or ``collection.anki2`` (older; a new package also
carries a stub ``collection.anki2`` that only says to update Anki, so the newest form
present is read). Every row of the review log (``revlog``) becomes a
``lesson_attempted`` event: the rating (1 again, 2 hard, 3 good, 4 easy), right or wrong
(a rating above 1), the new and previous interval, the time taken, the kind of review,
and the card, note and deck it was for (``cards``, ``notes``, and ``decks`` — a table in
schema 18, JSON in ``col.decks`` before). Entries Anki writes when a card is rescheduled
by hand (rating 0) are no reviews and are skipped. The review id (its millisecond time)
identifies the event, so importing the same collection again adds nothing.

**Exercise log CSV**: a header with ``skill``, ``correct`` (1/0, true/false, yes/no)
and a time column (``time``, ``timestamp`` or ``date``); optional ``item``, ``score``
(0–1) and ``duration_s``. Times without an offset are read in the person's time zone.
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from lifetwin.core.model import Event, EventKind, Problem, Provenance
from lifetwin.sources.base import Item, ReadOptions, Skipped
from lifetwin.sources.cgm import local_zone
from lifetwin.sources.textio import BoundedLines

_MEMBERS = ("collection.anki21b", "collection.anki21", "collection.anki2")
_REVIEW_TYPES = {
    0: "learn",
    1: "review",
    2: "relearn",
    3: "filtered",
    4: "manual",
    5: "rescheduled",
}
_TAGS = re.compile(r"<[^>]+>")
MAX_UNCOMPRESSED = 2 * 1024**3  # a collection larger than 2 GiB is refused, not unpacked


def _front(fields: str) -> str:
    first = fields.split("\x1f", 1)[0]
    return re.sub(r"\s+", " ", _TAGS.sub(" ", first)).strip()[:200]


class AnkiConnector:
    name = "anki"
    priority = 210  # detection order: lower is tried first
    description = "Anki collections and deck packages (.colpkg, .apkg, collection.anki2)"

    def detect(self, path: Path, head: bytes) -> bool:
        suffix = path.suffix.lower()
        if suffix in (".colpkg", ".apkg", ".anki2", ".anki21"):
            return True
        return path.name.lower() == "collection.anki21b"

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        with tempfile.TemporaryDirectory(prefix="lifetwin-anki-") as scratch:
            database = yield from _collection_file(path, Path(scratch))
            if database is None:
                return
            try:
                yield from _read_collection(database, path.name, options.source or "anki")
            except sqlite3.DatabaseError as exc:
                yield Problem(
                    file=path.name,
                    reason=f"the Anki collection inside is damaged or not a collection ({exc})",
                )


def _collection_file(path: Path, scratch: Path) -> Generator[Item, None, Path | None]:
    """The path of a readable SQLite collection (unpacked into ``scratch`` if needed)."""
    name = path.name.lower()
    if name.endswith((".anki2", ".anki21")):
        return path
    target = scratch / "collection.sqlite"
    if name.endswith(".anki21b"):
        with path.open("rb") as source:
            problem = _unpack(source, target, path.name, compressed=True)
        if problem is not None:
            yield problem
            return None
        return target
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        yield Problem(file=path.name, reason=f"the file is not a readable Anki package ({exc})")
        return None
    with archive:
        names = set(archive.namelist())
        member = next((m for m in _MEMBERS if m in names), None)
        if member is None:
            yield Problem(
                file=path.name,
                reason="the package holds no Anki collection (no collection.anki2, "
                "collection.anki21 or collection.anki21b inside)",
            )
            return None
        if archive.getinfo(member).file_size > MAX_UNCOMPRESSED:
            yield Problem(file=path.name, reason="the collection inside is larger than 2 GiB")
            return None
        try:
            with archive.open(member) as source:
                problem = _unpack(source, target, path.name, compressed=member.endswith("b"))
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            problem = Problem(file=path.name, reason=f"the package is damaged ({exc})")
    if problem is not None:
        yield problem
        return None
    return target


def _unpack(source: IO[bytes], target: Path, file: str, *, compressed: bool) -> Problem | None:
    """Copy (and, for the newer format, zstd-decompress) a collection to ``target`` in 1 MiB
    pieces, never past ``MAX_UNCOMPRESSED``: a package's size stays on disk, not in memory."""
    import zstandard

    try:
        with contextlib.ExitStack() as stack:
            reader = (
                stack.enter_context(zstandard.ZstdDecompressor().stream_reader(source))
                if compressed
                else source
            )
            out = stack.enter_context(target.open("wb"))
            written = 0
            while chunk := reader.read(1 << 20):
                written += len(chunk)
                if written > MAX_UNCOMPRESSED:
                    return Problem(file=file, reason="the collection inside is larger than 2 GiB")
                out.write(chunk)
    except zstandard.ZstdError as exc:
        return Problem(file=file, reason=f"the compressed collection cannot be read ({exc})")
    return None


def _decks(db: sqlite3.Connection) -> dict[int, str]:
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "decks" in tables:  # schema 18: one row a deck, levels separated by \x1f
        return {
            int(deck_id): str(name).replace("\x1f", "::")
            for deck_id, name in db.execute("SELECT id, name FROM decks")
        }
    row = db.execute("SELECT decks FROM col").fetchone()
    if not row or not row[0]:
        return {}
    return {int(k): str(v.get("name", k)) for k, v in json.loads(row[0]).items()}


def _read_collection(database: Path, file: str, source: str) -> Iterator[Item]:
    uri = f"file:{database}?mode=ro&immutable=1"
    db = sqlite3.connect(uri, uri=True)
    # Anki's own collation; a schema-18 collection's deck names are declared with it.
    db.create_collation("unicase", _unicase)
    try:
        decks = _decks(db)
        notes = {
            int(nid): (_front(str(flds)), str(tags).strip())
            for nid, flds, tags in db.execute("SELECT id, flds, tags FROM notes")
        }
        cards = {
            int(cid): (int(nid), int(did))
            for cid, nid, did in db.execute("SELECT id, nid, did FROM cards")
        }
        manual = 0
        for rid, cid, ease, ivl, last_ivl, factor, taken_ms, kind in db.execute(
            "SELECT id, cid, ease, ivl, lastIvl, factor, time, type FROM revlog ORDER BY id"
        ):
            if int(ease) == 0:
                manual += 1
                continue
            nid, did = cards.get(int(cid), (None, None))
            deck = decks.get(did, "unknown deck") if did is not None else "deleted card"
            front, tags = notes.get(nid, ("", "")) if nid is not None else ("", "")
            details: dict[str, Any] = {
                "skill": deck,
                "deck": deck,
                "card_id": int(cid),
                "note_id": nid,
                "rating": int(ease),
                "correct": int(ease) > 1,
                # Anki: positive intervals are days, negative ones seconds (learning steps)
                "interval_days": _days(int(ivl)),
                "last_interval_days": _days(int(last_ivl)),
                "ease_factor": int(factor) / 1000 if factor else None,
                "duration_s": round(int(taken_ms) / 1000, 3),
                "review_type": _REVIEW_TYPES.get(int(kind), str(kind)),
            }
            if front:
                details["front"] = front
            if tags:
                details["tags"] = tags
            yield Event(
                kind=EventKind.LESSON_ATTEMPTED,
                start=datetime.fromtimestamp(int(rid) / 1000, UTC),
                title="Anki review",
                details=details,
                source=source,
                provenance=Provenance(file=file, record=f"revlog:{int(rid)}"),
            )
        if manual:
            yield Skipped(
                what="rescheduling entries of the Anki review log",
                count=manual,
                reason="a card moved by hand is not a review",
            )
    finally:
        db.close()


def _unicase(a: str, b: str) -> int:
    x, y = a.casefold(), b.casefold()
    return (x > y) - (x < y)


def _days(interval: int) -> float:
    return float(interval) if interval >= 0 else round(-interval / 86_400, 6)


# -- generic exercise log -----------------------------------------------------------------
_TIME_COLUMNS = ("time", "timestamp", "date")
_TRUE = {"1", "true", "yes", "y", "correct", "right"}
_FALSE = {"0", "false", "no", "n", "wrong", "incorrect"}


def _header(head: bytes) -> list[str]:
    first = head.decode("utf-8-sig", "replace").replace("\r", "\n").split("\n", 1)[0]
    return [c.strip().lower() for c in next(csv.reader([first]), [])]


class ExerciseLogConnector:
    name = "exercise_log"
    priority = 220  # detection order: lower is tried first
    description = "Exercise logs as CSV: time, skill, correct (and item, score, duration_s)"

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() != ".csv":
            return False
        cells = set(_header(head))
        return {"skill", "correct"} <= cells and bool(cells & set(_TIME_COLUMNS))

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        zone = local_zone(options)
        source = options.source or "exercise_log"
        with path.open(encoding=options.encoding or "utf-8-sig", newline="") as handle:
            reader = csv.reader(BoundedLines(handle, path.name))
            header = [c.strip().lower() for c in next(reader, [])]
            col = {name: i for i, name in enumerate(header)}
            time_col = next((c for c in _TIME_COLUMNS if c in col), None)
            if time_col is None or "skill" not in col or "correct" not in col:
                yield Problem(
                    file=path.name,
                    line=1,
                    reason="an exercise log needs the columns time, skill and correct",
                )
                return
            seen: dict[str, int] = {}
            for cells in reader:
                line = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) < len(header):
                    yield Problem(file=path.name, line=line, reason="the row is truncated")
                    continue

                def get(name: str, row: list[str] = cells) -> str:
                    return row[col[name]].strip() if name in col else ""

                try:
                    when = _when(get(time_col), zone)
                    correct = _flag(get("correct"))
                    score = float(get("score")) if get("score") else None
                    duration = float(get("duration_s")) if get("duration_s") else None
                except ValueError as exc:
                    yield Problem(
                        file=path.name, line=line, reason=f"the row cannot be read ({exc})"
                    )
                    continue
                if score is not None and not 0 <= score <= 1:
                    yield Problem(
                        file=path.name, line=line, reason=f"the score {score} is not in 0–1"
                    )
                    continue
                skill = get("skill")
                if not skill:
                    yield Problem(file=path.name, line=line, reason="the row names no skill")
                    continue
                item = get("item") or None
                base = f"{when.isoformat()}|{skill}|{item or ''}"
                seen[base] = seen.get(base, 0) + 1
                details: dict[str, Any] = {"skill": skill, "correct": correct}
                if item:
                    details["item"] = item
                if score is not None:
                    details["score"] = score
                if duration is not None:
                    details["duration_s"] = duration
                yield Event(
                    kind=EventKind.LESSON_ATTEMPTED,
                    start=when,
                    title="Exercise",
                    details=details,
                    source=source,
                    provenance=Provenance(file=path.name, line=line, record=f"{base}|{seen[base]}"),
                )


def _flag(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"'{text}' is not right or wrong (use 1/0, true/false, yes/no)")


def _when(text: str, zone: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"'{text}' is not an ISO 8601 time") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
