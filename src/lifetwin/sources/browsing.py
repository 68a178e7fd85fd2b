"""Browsing and media: Chrome and Firefox history, Google Takeout "My Activity" (HTML and
JSON, also inside the Takeout zip), Netflix viewing activity and Spotify streaming history.

Browser databases are copied to a private temporary folder and read from the copy,
read-only, never in place: a browser may hold the live file open. Each visit, watch or
listen is a ``content_viewed`` event with its URL or title; plays with a known length
add ``media_minutes``.
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lxml import html

from lifetwin.core.model import Event, EventKind, Observation, Problem, Provenance
from lifetwin.sources.base import Item, ReadOptions
from lifetwin.sources.cgm import local_zone
from lifetwin.sources.safeio import check_archive, open_member
from lifetwin.sources.textio import (
    MAX_WHOLE_BYTES,
    BoundedLines,
    iter_json,
    json_items,
    parse_time,
    read_bytes,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
CHROME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_ZONES = {
    "UTC": 0,
    "GMT": 0,
    "CET": 60,
    "CEST": 120,
    "BST": 60,
    "EST": -300,
    "EDT": -240,
    "CST": -360,
    "CDT": -300,
    "MST": -420,
    "MDT": -360,
    "PST": -480,
    "PDT": -420,
}


def _viewed(
    when: datetime,
    action: str,
    title: str | None,
    url: str | None,
    product: str,
    source: str,
    file: str,
    line: int | None,
    record: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Event:
    details: dict[str, Any] = {"action": action, "product": product, **(extra or {})}
    if url:
        details["url"] = url
        details["domain"] = urlparse(url).netloc
    return Event(
        kind=EventKind.CONTENT_VIEWED,
        start=when,
        title=title,
        details=details,
        source=source,
        provenance=Provenance(file=file, line=line, record=record),
    )


class BrowserHistoryConnector:
    name = "browser_history"
    priority = 130  # detection order: lower is tried first
    description = "Chrome History or Firefox places.sqlite (read from a private copy)"

    def detect(self, path: Path, head: bytes) -> bool:
        return head.startswith(SQLITE_MAGIC) and (
            b"urls" in head or b"moz_places" in head or path.name in ("History", "places.sqlite")
        )

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        with tempfile.TemporaryDirectory(prefix="lifetwin-history-") as tmp:
            copy = Path(tmp) / "history.sqlite"
            shutil.copyfile(path, copy)
            for suffix in ("-wal", "-journal"):
                sidecar = path.with_name(path.name + suffix)
                if sidecar.exists():
                    shutil.copyfile(sidecar, copy.with_name(copy.name + suffix))
            try:
                db = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
            except sqlite3.Error as exc:
                yield Problem(file=path.name, reason=f"the database cannot be opened ({exc})")
                return
            try:
                tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
                if {"urls", "visits"} <= tables:
                    rows = db.execute(
                        "SELECT visits.id, urls.url, urls.title, visits.visit_time, "
                        "visits.visit_duration FROM visits JOIN urls ON urls.id = visits.url "
                        "ORDER BY visits.visit_time"
                    )
                    product, source = "Chrome", options.source or "Chrome"
                    for visit_id, url, title, micros, duration in rows:
                        when = CHROME_EPOCH + timedelta(microseconds=int(micros))
                        extra = {"seconds": round(duration / 1e6, 1)} if duration else {}
                        yield _viewed(
                            when,
                            "Visited",
                            title or None,
                            url,
                            product,
                            source,
                            path.name,
                            None,
                            f"visit-{visit_id}",
                            extra,
                        )
                elif {"moz_places", "moz_historyvisits"} <= tables:
                    rows = db.execute(
                        "SELECT v.id, p.url, p.title, v.visit_date FROM moz_historyvisits v "
                        "JOIN moz_places p ON p.id = v.place_id ORDER BY v.visit_date"
                    )
                    source = options.source or "Firefox"
                    for visit_id, url, title, micros in rows:
                        when = datetime.fromtimestamp(int(micros) / 1e6, UTC)
                        yield _viewed(
                            when,
                            "Visited",
                            title or None,
                            url,
                            "Firefox",
                            source,
                            path.name,
                            None,
                            f"visit-{visit_id}",
                        )
                else:
                    yield Problem(
                        file=path.name, reason="the database is not a Chrome or Firefox history"
                    )
            except sqlite3.DatabaseError as exc:
                yield Problem(file=path.name, reason=f"the database is damaged ({exc})")
            finally:
                db.close()


def _activity_time(text: str, zone: tzinfo) -> datetime:
    """'Sep 18, 2018, 5:48:23 AM UTC' (the zone name is last)."""
    body, _, name = text.strip().rpartition(" ")
    moment = datetime.strptime(body.replace("\u202f", " "), "%b %d, %Y, %I:%M:%S %p")
    if name in _ZONES:
        from datetime import timezone

        return moment.replace(tzinfo=timezone(timedelta(minutes=_ZONES[name])))
    return moment.replace(tzinfo=zone)


def _my_activity_html(data: bytes, file: str, zone: tzinfo, source: str) -> Iterator[Item]:
    document = html.fromstring(data)
    for cell in document.find_class("outer-cell"):
        line = cell.sourceline
        header = cell.find_class("header-cell")
        product = header[0].text_content().strip() if header else "Google"
        body = cell.find_class("content-cell")
        if not body:
            continue
        main = body[0]
        texts = [t.strip() for t in main.itertext() if t.strip()]
        links = main.findall(".//a")
        if not texts:
            continue
        try:
            when = _activity_time(texts[-1], zone)
        except ValueError:
            yield Problem(file=file, line=line, reason=f"'{texts[-1]}' is not a time")
            continue
        action = texts[0].replace("\xa0", " ").strip()
        url = links[0].get("href") if links else None
        title = links[0].text_content().strip() if links else None
        yield _viewed(when, action, title, url, product, source, file, line)


def _my_activity_json(items: list[Any], file: str, line: int, source: str) -> Iterator[Item]:
    for index, item in enumerate(items):
        if not isinstance(item, dict) or "time" not in item:
            yield Problem(file=file, line=line, reason=f"item {index} has no time")
            continue
        try:
            title = str(item.get("title", ""))
            action, _, rest = title.partition(" ")
            extra = {}
            subtitles = item.get("subtitles")
            if isinstance(subtitles, list) and subtitles and isinstance(subtitles[0], dict):
                extra["channel"] = str(subtitles[0].get("name", ""))
            url = item.get("titleUrl")
            yield _viewed(
                parse_time(item["time"], "iso", UTC),
                action,
                rest or title,
                str(url) if url else None,
                str(item.get("header", "Google")),
                source,
                file,
                line,
                None,
                extra,
            )
        except (ValueError, TypeError) as exc:
            yield Problem(file=file, line=line, reason=f"item {index}: {exc}")


class MyActivityConnector:
    name = "my_activity"
    priority = 140  # detection order: lower is tried first
    description = "Google Takeout My Activity (HTML or JSON, or the Takeout zip)"

    def detect(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(path) as archive:
                    return any("My Activity/" in n for n in archive.namelist())
            except (zipfile.BadZipFile, OSError):
                return False
        if path.suffix.lower() in (".html", ".htm"):
            return b"My Activity" in head or b"outer-cell" in head
        return (path.suffix.lower() == ".json" and b'"titleUrl"' in head) or (
            b'"header"' in head and b'"products"' in head
        )

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        zone = local_zone(options)
        source = options.source or "Google Takeout"
        if path.suffix.lower() == ".zip":
            try:
                archive = zipfile.ZipFile(path)
            except zipfile.BadZipFile:
                yield Problem(file=path.name, reason="the file is not a readable zip archive")
                return
            with archive:
                check_archive(archive, path.name)
                for info in archive.infolist():
                    if "My Activity/" not in info.filename:
                        continue
                    name = f"{path.name}:{info.filename}"
                    if info.file_size > MAX_WHOLE_BYTES:
                        yield Problem(file=name, reason="the member is larger than 32 MB")
                        continue
                    with open_member(archive, info, path.name) as handle:
                        data = handle.read()
                    yield from self._one(data, info.filename, name, zone, source)
            return
        whole = read_bytes(path)
        if isinstance(whole, Problem):
            yield whole
            return
        yield from self._one(whole, path.name, path.name, zone, source)

    def _one(
        self, data: bytes, member: str, file: str, zone: tzinfo, source: str
    ) -> Iterator[Item]:
        if member.lower().endswith((".html", ".htm")):
            try:
                yield from _my_activity_html(data, file, zone, source)
            except Exception as exc:  # lxml's HTML parser on damaged input
                yield Problem(file=file, reason=f"the HTML cannot be read ({exc})")
        elif member.lower().endswith(".json"):
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                yield Problem(file=file, reason="the file is not UTF-8 text")
                return
            for item in iter_json(Path(file), text):
                if isinstance(item, Problem):
                    yield item
                    continue
                line, value = item
                yield from _my_activity_json(
                    value if isinstance(value, list) else [value], file, line, source
                )


class MediaHistoryConnector:
    name = "media_history"
    priority = 150  # detection order: lower is tried first
    description = "Netflix viewing activity CSV and Spotify streaming history JSON"

    def detect(self, path: Path, head: bytes) -> bool:
        text = head.decode("utf-8-sig", "replace")
        first = text.split("\n", 1)[0]
        netflix = first.startswith(("Title,Date", "Profile Name,Start Time,Duration"))
        return netflix or (
            '"msPlayed"' in text
            and ('"trackName"' in text or '"master_metadata_track_name"' in text)
        )

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        zone = local_zone(options)
        if path.suffix.lower() == ".csv":
            yield from self._netflix(path, zone, options)
            return
        source = options.source or "Spotify"
        for item in json_items(path, options.encoding):
            if isinstance(item, Problem):
                yield item
                continue
            line, value = item
            for index, play in enumerate(value if isinstance(value, list) else [value]):
                try:
                    yield from _spotify(play, path.name, line, index, source, zone)
                except (KeyError, ValueError, TypeError) as exc:
                    yield Problem(file=path.name, line=line, reason=f"play {index}: {exc}")

    def _netflix(self, path: Path, zone: tzinfo, options: ReadOptions) -> Iterator[Item]:
        source = options.source or "Netflix"
        with path.open(encoding=options.encoding or "utf-8-sig", newline="") as handle:
            for line, row in enumerate(csv.DictReader(BoundedLines(handle, path.name)), start=2):
                try:
                    if "Start Time" in row:
                        start = datetime.strptime(row["Start Time"], "%Y-%m-%d %H:%M:%S").replace(
                            tzinfo=UTC
                        )  # Netflix writes viewing activity in UTC
                        hours, minutes, seconds = (int(x) for x in row["Duration"].split(":"))
                        length = timedelta(hours=hours, minutes=minutes, seconds=seconds)
                        yield _viewed(
                            start,
                            "Watched",
                            row["Title"],
                            None,
                            "Netflix",
                            source,
                            path.name,
                            line,
                            None,
                            {"device": row.get("Device Type", "")},
                        )
                        yield from _minutes(start, length, source, path.name, line, None)
                    else:
                        start = _netflix_date(row["Date"], zone)
                        yield _viewed(
                            start,
                            "Watched",
                            row["Title"],
                            None,
                            "Netflix",
                            source,
                            path.name,
                            line,
                            f"{row['Title']}|{row['Date']}",
                        )
                except (KeyError, ValueError, TypeError, AttributeError) as exc:
                    # TypeError, AttributeError: a short row (its missing fields are None)
                    yield Problem(
                        file=path.name, line=line, reason=f"the row cannot be read ({exc})"
                    )


def _netflix_date(text: str, zone: tzinfo) -> datetime:
    for fmt in ("%m/%d/%y", "%d/%m/%Y", "%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ValueError(f"'{text}' is not a date")


def _spotify(
    play: Any, file: str, line: int, index: int, source: str, zone: tzinfo
) -> Iterator[Item]:
    if "endTime" in play:  # account data: "2023-01-01 10:00", local time
        end = datetime.strptime(play["endTime"], "%Y-%m-%d %H:%M").replace(tzinfo=zone)
        track, artist = play["trackName"], play["artistName"]
    else:  # extended streaming history: "ts" in UTC
        end = parse_time(play["ts"], "iso", UTC)
        track = play.get("master_metadata_track_name") or play.get("episode_name") or "?"
        artist = play.get("master_metadata_album_artist_name") or play.get("episode_show_name")
    played = timedelta(milliseconds=int(play["msPlayed"]))
    start = end - played
    yield _viewed(
        start,
        "Listened to",
        track,
        None,
        "Spotify",
        source,
        file,
        line,
        None,
        {"artist": artist, "seconds": round(played.total_seconds(), 1)},
    )
    yield from _minutes(start, played, source, file, line, str(index))


def _minutes(
    start: datetime, length: timedelta, source: str, file: str, line: int, record: str | None
) -> Iterator[Item]:
    """``media_minutes`` for a play of known length (none for a zero-length one)."""
    if length.total_seconds() > 0:
        yield Observation(
            metric="media_minutes",
            value=round(length.total_seconds() / 60, 3),
            unit="min",
            start=start,
            end=start + length,
            source=source,
            provenance=Provenance(file=file, line=line, record=record),
        )
