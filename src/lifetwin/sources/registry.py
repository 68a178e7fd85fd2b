"""Finds connectors: those of every installed pack (entry-point group ``lifetwin``),
the built-in packs' the same way as any other's."""

from __future__ import annotations

import csv
import sqlite3
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lifetwin.core.errors import ImportFailedError
from lifetwin.core.model import Problem
from lifetwin.sources.base import Connector, Item, ReadOptions

HEAD_BYTES = 4096


class _Guarded:
    """A connector whose undecodable text or broken container becomes a Problem.

    Connectors read text in many places; rather than trust each to catch a wrong
    encoding, the registry hands out every connector behind this guard.
    """

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.name = inner.name
        self.description = inner.description

    def detect(self, path: Path, head: bytes) -> bool:
        return self.inner.detect(path, head)

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        try:
            yield from self.inner.read(path, options)
        except UnicodeDecodeError as exc:
            encoding = options.encoding or "UTF-8"
            yield Problem(
                file=path.name,
                reason=f"the file is not valid {encoding} text "
                f"({exc.reason}); save it as UTF-8 or pass --encoding",
            )
        except (csv.Error, sqlite3.DatabaseError, zipfile.BadZipFile, EOFError) as exc:
            yield Problem(file=path.name, reason=f"the file is damaged ({exc})")


def connectors() -> list[Connector]:
    """Every installed pack's connectors, in detection order, each behind the guard."""
    from lifetwin.packs.registry import registry

    return [_Guarded(c) for c in registry().connectors]


def connector(name: str) -> Connector:
    for candidate in connectors():
        if candidate.name == name:
            return candidate
    names = ", ".join(sorted(c.name for c in connectors()))
    raise ImportFailedError(f"'{name}' is not a format LifeTwin reads (formats: {names}).")


def detect(path: Path) -> Connector:
    """The first connector that recognizes the file."""
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    for candidate in connectors():
        if candidate.detect(path, head):
            return candidate
    names = ", ".join(sorted(c.name for c in connectors()))
    raise ImportFailedError(
        f"{path.name} is not in a format LifeTwin recognizes (formats: {names}); for a CSV or "
        "JSON file of your own layout, pass --mapping (see docs/importing.md)."
    )
