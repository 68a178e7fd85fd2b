"""What a person's imports leave besides observations: the import ledger and connector
cursors, values kept aside in quarantine, and the corrections the person made.

Quarantined values are read back only for the person's own view
(:meth:`Quarantine.read` names a purpose like every other read of their data).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pydantic import BaseModel

from lifetwin.core.model import Quarantined, to_epoch_ms
from lifetwin.privacy.consent import Purpose
from lifetwin.store.context import DAY_MS, PersonContext
from lifetwin.store.derived import State


@dataclass
class ImportRecord:
    id: int
    file: str
    digest: str
    format: str
    started: str
    finished: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None  # why it stopped early, if it did


class Correction(BaseModel):
    """A value the person marked wrong: what it was, what it is now, and why."""

    metric: str
    source: str
    stream: str
    start_ms: int
    original: float
    corrected: float | None  # None: removed
    reason: str
    at: datetime


class ImportLedger:
    """One sealed row per imported file, and where each connector stopped last time."""

    def __init__(self, ctx: PersonContext) -> None:
        self._ctx = ctx

    def begin(self, file: str, digest: str, fmt: str) -> ImportRecord:
        ctx = self._ctx
        record = ImportRecord(0, file, digest, fmt, datetime.now(UTC).isoformat())
        tag = ctx.keys.tag(b"import|" + digest.encode())
        with ctx.transaction():
            record.id = ctx.backend.import_put(ctx.person.id, tag, self._seal(record))
        return record

    def finish(self, record: ImportRecord) -> None:
        ctx = self._ctx
        record.finished = datetime.now(UTC).isoformat()
        with ctx.transaction():
            ctx.backend.import_update(ctx.person.id, record.id, self._seal(record))

    def _seal(self, record: ImportRecord) -> bytes:
        plain = json.dumps({k: v for k, v in record.__dict__.items() if k != "id"}).encode()
        return self._ctx.keys.seal(plain, self._ctx.aad(b"import"))

    def all(self) -> list[ImportRecord]:
        ctx = self._ctx
        out = []
        for import_id, _tag, sealed in ctx.backend.import_rows(ctx.person.id):
            raw = json.loads(ctx.keys.open(sealed, ctx.aad(b"import")))
            out.append(ImportRecord(id=import_id, **raw))
        return out

    # -- connector cursors -----------------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        ctx = self._ctx
        tag = ctx.keys.tag(b"cursor|" + name.encode())
        sealed = ctx.backend.state_get(ctx.person.id, tag)
        return None if sealed is None else ctx.keys.open(sealed, ctx.aad(b"cursor", tag)).decode()

    def set_cursor(self, name: str, value: str) -> None:
        ctx = self._ctx
        tag = ctx.keys.tag(b"cursor|" + name.encode())
        sealed = ctx.keys.seal(value.encode(), ctx.aad(b"cursor", tag))
        with ctx.transaction():
            ctx.backend.state_put(ctx.person.id, tag, sealed)


class Quarantine:
    """Values an import kept aside (implausible, unknown unit, ...), sealed."""

    def __init__(self, ctx: PersonContext) -> None:
        self._ctx = ctx

    def write(self, items: Sequence[Quarantined]) -> int:
        ctx = self._ctx
        rows: list[tuple[bytes, int, bytes]] = []
        for item in items:
            plain = item.model_dump_json().encode()
            tag = ctx.keys.tag(
                b"quarantine|"
                + item.observation.model_dump_json(exclude={"provenance", "person"}).encode()
            )
            start_ms = to_epoch_ms(item.observation.start)
            rows.append((tag, start_ms // DAY_MS, ctx.keys.seal(plain, ctx.aad(b"quar", tag))))
        if not rows:
            return 0
        with ctx.transaction():
            added = ctx.backend.quarantine_put(ctx.person.id, rows)
            ctx.log_event("quarantine", count=len(rows), added=added)
        return added

    def read(self, *, purpose: Purpose) -> list[Quarantined]:
        """Values kept aside; only the person's own view sees them."""
        ctx = self._ctx
        if Purpose(purpose) is not Purpose.SELF_ACCESS:
            return []
        ctx.log_event("read", Purpose.SELF_ACCESS.value, what="quarantine")
        return [
            Quarantined.model_validate_json(ctx.keys.open(sealed, ctx.aad(b"quar", tag)))
            for tag, sealed in ctx.backend.quarantine_get(ctx.person.id)
        ]


class Corrections:
    """The values the person marked wrong, kept as one sealed list in their state."""

    def __init__(self, state: State) -> None:
        self._state = state

    def all(self) -> list[Correction]:
        raw = self._state.get("corrections")
        return [] if raw is None else [Correction.model_validate(c) for c in json.loads(raw)]

    def times(self, stream_id: bytes) -> set[int]:
        """The start times (ms) of the corrected values of one stream."""
        raw = self._state.get("corrections")
        if raw is None:
            return set()
        return {c["start_ms"] for c in json.loads(raw) if c["stream"] == stream_id.hex()}

    def add(self, correction: Correction) -> None:
        """Append one (inside the caller's transaction)."""
        listed = [c.model_dump(mode="json") for c in self.all()]
        self._state.put(
            "corrections", json.dumps([*listed, correction.model_dump(mode="json")]).encode()
        )
