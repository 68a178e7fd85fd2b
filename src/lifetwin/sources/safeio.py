"""Safe reading of XML and zip archives: no entities, no network, no bombs, no escapes.

* XML is parsed by lxml with entity resolution, DTD loading and network access off
  and libxml2's size limits on (no ``huge_tree``); a document that declares entities
  at all is refused before parsing, since none of the formats we read uses them.
* A zip member is read as a stream through a counter: an archive whose members
  claim an implausible compression ratio, whose declared sizes are exceeded while
  reading, or that holds a path escaping its folder (``../``, absolute) is refused.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO, Any

from lxml import etree

from lifetwin.core.errors import ImportFailedError

MAX_MEMBER_BYTES = 16 * 1024**3  # 16 GiB: far above any real export
MAX_RATIO = 200  # XML compresses ~10-30x; far more is a bomb
_HEAD_BYTES = 64 * 1024


def refuse_entities(head: bytes, name: str) -> None:
    prolog = head.split(b"<HealthData", 1)[0] if b"<HealthData" in head else head
    if b"<!ENTITY" in prolog.upper():
        raise ImportFailedError(
            f"{name} declares XML entities, which no health export uses; refusing it "
            "(it may be an entity-expansion bomb or an external-entity attack)."
        )


def iterparse(source: IO[bytes], name: str, tags: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
    """lxml iterparse with every dangerous feature off."""
    head = source.read(_HEAD_BYTES)
    refuse_entities(head, name)
    stream = _Prefixed(head, source)  # lxml reads from any object with read()
    return etree.iterparse(  # type: ignore[no-any-return]
        stream,
        events=("end",),
        tag=tags,
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_small(data: bytes, name: str) -> Any:
    """Parse a small XML document (a GPX route) safely."""
    refuse_entities(data[:_HEAD_BYTES], name)
    parser = etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        no_network=True,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    return etree.fromstring(data, parser)


class _Prefixed:
    """A stream that first returns bytes already read, then the rest of the source."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def read(self, size: int = -1) -> bytes:
        if not self._head:
            return self._rest.read(size)
        if size < 0:
            out, self._head = self._head + self._rest.read(), b""
            return out
        out, self._head = self._head[:size], self._head[size:]
        return out


class _Counted(io.RawIOBase):
    """Stops reading a zip member that inflates past what it declared."""

    def __init__(self, source: IO[bytes], limit: int, name: str) -> None:
        self._source = source
        self._limit = limit
        self._name = name
        self._seen = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._source.read(len(buffer))
        self._seen += len(data)
        if self._seen > self._limit:
            raise ImportFailedError(
                f"{self._name} inflates past its declared size; refusing a possible zip bomb."
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._source.close()
        super().close()


def check_archive(archive: zipfile.ZipFile, name: str) -> None:
    for info in archive.infolist():
        path = PurePosixPath(info.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in info.filename:
            raise ImportFailedError(
                f"{name} holds a path that escapes its folder ({info.filename}); refusing it."
            )
        if info.file_size > MAX_MEMBER_BYTES:
            raise ImportFailedError(f"{name}: {info.filename} is implausibly large; refusing it.")
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_RATIO
            and (info.file_size > 10 * 1024**2)
        ):
            raise ImportFailedError(
                f"{name}: {info.filename} would inflate {info.file_size // info.compress_size}"
                "-fold; refusing a possible zip bomb."
            )


def open_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, name: str) -> IO[bytes]:
    limit = member.file_size + 1024
    return io.BufferedReader(
        _Counted(archive.open(member), limit, f"{name}:{member.filename}"), buffer_size=1 << 20
    )
