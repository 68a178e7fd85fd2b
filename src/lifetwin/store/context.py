"""What every part of a person's vault shares: the person, their data key, the backend
and their audit chain.

The parts of a :class:`~lifetwin.store.vault.Vault` (streams, series, records and
documents, consents, derived results and state, the import ledger) each hold one
:class:`PersonContext`; none holds a key or a connection of its own.
"""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lifetwin.core.model import to_epoch_ms
from lifetwin.privacy.audit import AuditLog
from lifetwin.store.crypto import PersonKeys
from lifetwin.store.sql import SQLBackend as Backend

DAY_MS = 86_400_000
FAR_PAST_DAY = -(10**6)
FAR_FUTURE_DAY = 10**6


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    created: datetime


def ms_or(moment: datetime | None, default: int) -> int:
    """``moment`` in milliseconds since the epoch, or ``default`` when there is none."""
    return default if moment is None else to_epoch_ms(moment)


class PersonContext:
    """One person's keys, backend and audit chain, with who is acting on them."""

    def __init__(
        self, backend: Backend, person: Person, keys: PersonKeys, audit: AuditLog, actor: str
    ) -> None:
        self.backend = backend
        self.person = person
        self.keys = keys
        self.pid = person.id.encode()
        self.audit = audit
        self.actor = actor

    def aad(self, kind: bytes, *parts: bytes) -> bytes:
        """The associated data that binds a sealed value to this person and its place."""
        return kind + b"|" + self.pid + b"|" + b"|".join(parts)

    def log_event(self, action: str, purpose: str = "", **details: Any) -> None:
        """Append an entry to the person's audit chain (details are sealed): inside the
        current transaction, or, outside one (a read), by group commit with the entries
        other threads append meanwhile; either way it is committed when this returns."""
        if self.backend.in_transaction():
            self.audit.append(
                self.person.id,
                action,
                actor=self.actor,
                purpose=purpose,
                details=details,
                keys=self.keys,
            )
        else:
            self.log_event_soon(action, purpose, **details).result()

    def log_event_soon(self, action: str, purpose: str = "", **details: Any) -> Future[int]:
        """The same entry, written by group commit (done when it is committed)."""
        return self.audit.soon(
            self.person.id,
            action,
            actor=self.actor,
            purpose=purpose,
            details=details,
            keys=self.keys,
        )

    def transaction(self) -> Any:
        """A transaction holding this person's write lock."""
        return self.backend.transaction(self.person.id)
