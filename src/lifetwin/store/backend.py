"""The storage interface both backends implement.

Backends move opaque bytes: all encryption happens above them, in
``lifetwin.store.vault``, so neither SQLite nor PostgreSQL ever sees a
personal value, name or identifier in the clear. Tables:

* ``meta``: store settings (format version, key-derivation parameters, the
  wrapped name-index key, a key check value).
* ``persons``: pseudonymous id, keyed tag of the name, wrapped data key, sealed profile.
* ``streams``: per person, a keyed stream id and its sealed descriptor
  (metric, source, device, unit).
* ``blocks``: sealed columnar blocks of numeric observations, one per stream and UTC day.
* ``records``: sealed categorical/text observations and events, one row each,
  deduplicated by a keyed tag of their natural key.
* ``quarantine``: sealed implausible observations with their reason.
* ``imports``: sealed import log (file, digest, counts), keyed by a tag of the digest.
* ``state``: small sealed per-person values under keyed tags (cursors, consent, derived).
* ``audit``, ``audit_head``, ``audit_checkpoints``: the per-person hash chains.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

SCHEMA_VERSION = 1


class Backend(Protocol):
    """Row storage for vaults. Every method runs inside the current transaction."""

    name: str

    def transaction(self) -> AbstractContextManager[None]: ...

    def meta_get(self, key: str) -> bytes | None: ...

    def meta_set(self, key: str, value: bytes) -> None: ...

    def meta_delete(self, key: str) -> None: ...

    def person_insert(
        self, person_id: str, name_tag: bytes, wrapped_key: bytes, sealed: bytes
    ) -> bool:
        """Add a person; False if the name tag is taken."""
        ...

    def person_rows(self) -> list[tuple[str, bytes, bytes, bytes]]: ...

    def person_by_tag(self, name_tag: bytes) -> tuple[str, bytes, bytes, bytes] | None: ...

    def person_by_id(self, person_id: str) -> tuple[str, bytes, bytes, bytes] | None: ...

    def person_rewrap(self, person_id: str, wrapped_key: bytes) -> None: ...

    def person_delete(self, person_id: str) -> None:
        """Remove the person's wrapped key and every row that belongs to them."""
        ...

    def stream_put(self, person_id: str, stream_id: bytes, sealed: bytes) -> None: ...

    def stream_rows(self, person_id: str) -> list[tuple[bytes, bytes]]: ...

    def stream_last_days(self, person_id: str) -> list[tuple[bytes, int]]:
        """The newest block (numeric) or record day of each stream."""
        ...

    def block_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[int, bytes]]: ...

    def block_put(
        self, person_id: str, stream_id: bytes, rows: Sequence[tuple[int, bytes]]
    ) -> None:
        """Insert or replace blocks by day."""
        ...

    def block_delete(self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int) -> None: ...

    def record_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes, bytes]]) -> int:
        """Insert (stream_id, day, tag, sealed) rows whose tag is new; return how many."""
        ...

    def record_get(
        self, person_id: str, stream_id: bytes, day_lo: int, day_hi: int
    ) -> list[tuple[bytes, bytes]]:
        """(tag, sealed) of the records of one stream in a day range."""
        ...

    def quarantine_put(self, person_id: str, rows: Sequence[tuple[bytes, int, bytes]]) -> int: ...

    def quarantine_get(self, person_id: str) -> list[tuple[bytes, bytes]]: ...

    def import_put(self, person_id: str, tag: bytes, sealed: bytes) -> int: ...

    def import_update(self, person_id: str, import_id: int, sealed: bytes) -> None: ...

    def import_rows(self, person_id: str) -> list[tuple[int, bytes, bytes]]: ...

    def state_get(self, person_id: str, tag: bytes) -> bytes | None: ...

    def state_put(self, person_id: str, tag: bytes, sealed: bytes) -> None:
        """Insert or replace one sealed value of a person's small state (cursors, settings)."""
        ...

    def state_delete(self, person_id: str, tag: bytes) -> None: ...

    # The audit tables are kept when a person is erased: their chain stays verifiable.
    def audit_append(
        self, person_id: str, rows: Sequence[tuple[int, bytes, bytes]], head: tuple[int, bytes]
    ) -> None: ...

    def audit_rows(self, person_id: str) -> Iterable[tuple[int, bytes, bytes]]: ...

    def audit_head(self, person_id: str) -> tuple[int, bytes] | None: ...

    def audit_checkpoint_put(
        self, person_id: str, seq: int, digest: bytes, signature: bytes
    ) -> None: ...

    def audit_checkpoints(self, person_id: str) -> list[tuple[int, bytes, bytes]]: ...

    def audit_persons(self) -> list[str]: ...

    def compact(self) -> None:
        """Reclaim space and flush logs so freed pages hold no old data."""
        ...

    def files(self) -> list[Path]:
        """Every file this backend writes (for audits of what is on disk)."""
        ...

    def describe(self) -> str: ...

    def close(self) -> None: ...
