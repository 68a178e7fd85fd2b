"""The connector contract and the plugin hooks that register connectors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pluggy
from pydantic import BaseModel, ConfigDict

from lifetwin.core.model import Event, Observation, Problem

hookspec = pluggy.HookspecMarker("lifetwin")
hookimpl = pluggy.HookimplMarker("lifetwin")


class Cursor(BaseModel):
    """Where a connector got to; the importer keeps it once everything before is stored.

    The next import of the same source gets it back as ``ReadOptions.cursor`` and may
    start from there (a pull from a server, say). It is only saved after the import's
    last commit, so an interrupted import starts again from the old cursor and the
    importer's deduplication absorbs the overlap.
    """

    model_config = ConfigDict(frozen=True)

    value: str


Item = Observation | Event | Problem | Cursor


@dataclass(frozen=True)
class ReadOptions:
    """What the person told the importer about a file."""

    mapping: dict[str, Any] | None = None  # a column mapping (generic CSV/JSON)
    encoding: str | None = None  # text encoding, when not UTF-8
    source: str | None = None  # a source name to use instead of the file's own
    cursor: str | None = None  # where this source's last import ended, if it said
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(Protocol):
    """One export format."""

    name: str
    description: str

    def detect(self, path: Path, head: bytes) -> bool:
        """Whether this connector reads the file, judged by its name and first bytes."""
        ...

    def read(self, path: Path, options: ReadOptions) -> Iterator[Item]:
        """Yield what the file holds; say what cannot be read as Problems."""
        ...


class ConnectorSpec:
    @hookspec
    def lifetwin_connectors(self) -> list[Connector]:  # type: ignore[empty-body]
        """Return the connectors a plugin provides."""
