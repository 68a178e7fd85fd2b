"""The connector contract and the plugin hooks that register connectors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pluggy

from lifetwin.core.model import Event, Observation, Problem

hookspec = pluggy.HookspecMarker("lifetwin")
hookimpl = pluggy.HookimplMarker("lifetwin")

Item = Observation | Event | Problem


@dataclass(frozen=True)
class ReadOptions:
    """What the person told the importer about a file."""

    mapping: dict[str, Any] | None = None  # a column mapping (generic CSV/JSON)
    encoding: str | None = None  # text encoding, when not UTF-8
    source: str | None = None  # a source name to use instead of the file's own
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
