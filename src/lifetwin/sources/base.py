"""The connector contract (packs register connectors through ``lifetwin_connectors``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict

from lifetwin.core.model import Event, Observation, Problem
from lifetwin.packs.contract import hookimpl, hookspec  # noqa: F401 (what connector plugins import)


class Cursor(BaseModel):
    """Where a connector got to; the importer keeps it once everything before is stored.

    The next import of the same source gets it back as ``ReadOptions.cursor`` and may
    start from there (a pull from a server, say). It is only saved after the import's
    last commit, so an interrupted import starts again from the old cursor and the
    importer's deduplication absorbs the overlap.
    """

    model_config = ConfigDict(frozen=True)

    value: str


@dataclass(frozen=True, eq=False)
class SeriesChunk:
    """Many numeric observations of one stream at once: the fast path for big exports.

    Values are in ``unit`` (converted by the importer, vectorized); times are
    milliseconds since the epoch (UTC) with the local offset of each start.
    """

    metric: str
    unit: str | None
    source: str
    device: str | None
    file: str
    start_ms: npt.NDArray[np.int64]
    dur_ms: npt.NDArray[np.int64]
    value: npt.NDArray[np.float64]
    tz_min: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return int(self.start_ms.shape[0])


class Skipped(BaseModel):
    """Records a connector passed over on purpose (a type LifeTwin does not read yet)."""

    model_config = ConfigDict(frozen=True)

    what: str
    count: int
    reason: str


class ProfileFacts(BaseModel):
    """Facts about the person that are not measurements (birth date, sex), for the profile."""

    model_config = ConfigDict(frozen=True)

    facts: dict[str, str]


Item = Observation | Event | Problem | Cursor | SeriesChunk | Skipped | ProfileFacts


@dataclass(frozen=True)
class ReadOptions:
    """What the person told the importer about a file."""

    mapping: dict[str, Any] | None = None  # a column mapping (generic CSV/JSON)
    encoding: str | None = None  # text encoding, when not UTF-8
    source: str | None = None  # a source name to use instead of the file's own
    cursor: str | None = None  # where this source's last import ended, if it said
    timezone: str | None = None  # for files whose times carry no offset (IANA name)
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
