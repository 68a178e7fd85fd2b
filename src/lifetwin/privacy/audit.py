"""The tamper-evident audit log: one hash chain per person, with signed checkpoints.

Each entry holds a sequence number, a time, the action (read, write, export,
grant, revoke, login, erase, ...), a pseudonymous actor, the purpose, and
details sealed under the person's key — never a personal value in the clear.
Its hash covers the previous entry's hash, so changing, deleting or reordering
any entry breaks the chain. Every ``CHECKPOINT_EVERY`` entries (and at erasure)
the chain head is signed with the store's Ed25519 key; the stored head catches a
truncated tail. Verification needs only the public key: anyone can run it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

GENESIS = b"\x00" * 32
CHECKPOINT_EVERY = 1000


class AuditBackend(Protocol):
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


class Sealing(Protocol):
    def seal(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def open(self, blob: bytes, aad: bytes) -> bytes: ...


@dataclass(frozen=True)
class Entry:
    seq: int
    ts_ms: int
    action: str
    actor: str
    purpose: str
    details: dict[str, Any] | None  # None when it cannot be opened (erased person)


def entry_bytes(
    seq: int, ts_ms: int, action: str, actor: str, purpose: str, sealed: bytes
) -> bytes:
    record = {
        "seq": seq,
        "ts": ts_ms,
        "action": action,
        "actor": actor,
        "purpose": purpose,
        "details": base64.b64encode(sealed).decode(),
    }
    return json.dumps(record, separators=(",", ":"), sort_keys=True).encode()


def chain_hash(previous: bytes, entry: bytes) -> bytes:
    return hashlib.sha256(previous + entry).digest()


def _checkpoint_message(person_id: str, seq: int, digest: bytes) -> bytes:
    return (
        b"lifetwin-audit-checkpoint|"
        + person_id.encode()
        + b"|"
        + str(seq).encode()
        + b"|"
        + digest
    )


class AuditLog:
    """Appends to and reads one store's per-person chains."""

    def __init__(
        self, backend: AuditBackend, signer: Ed25519PrivateKey | None, public: Ed25519PublicKey
    ) -> None:
        self.backend = backend
        self._signer = signer
        self.public = public

    def append(
        self,
        person_id: str,
        action: str,
        *,
        actor: str = "self",
        purpose: str = "",
        details: dict[str, Any] | None = None,
        keys: Sealing | None = None,
    ) -> int:
        return self.append_many(person_id, [(action, actor, purpose, details)], keys)

    def append_many(
        self,
        person_id: str,
        items: Sequence[tuple[str, str, str, dict[str, Any] | None]],
        keys: Sealing | None,
    ) -> int:
        """Append entries in order; return the last sequence number."""
        head = self.backend.audit_head(person_id)
        seq, previous = head if head is not None else (0, GENESIS)
        rows: list[tuple[int, bytes, bytes]] = []
        now = int(time.time() * 1000)
        checkpoint: tuple[int, bytes] | None = None
        for action, actor, purpose, details in items:
            seq += 1
            sealed = b""
            if details is not None and keys is not None:
                aad = b"audit|" + person_id.encode() + b"|" + str(seq).encode()
                sealed = keys.seal(json.dumps(details, default=str).encode(), aad)
            raw = entry_bytes(seq, now, action, actor, purpose, sealed)
            previous = chain_hash(previous, raw)
            rows.append((seq, raw, previous))
            if seq % CHECKPOINT_EVERY == 0:
                checkpoint = (seq, previous)
        self.backend.audit_append(person_id, rows, (seq, previous))
        if checkpoint is not None:
            self._sign(person_id, *checkpoint)
        return seq

    def checkpoint(self, person_id: str) -> None:
        """Sign the current head now (after an erasure or an export, say)."""
        head = self.backend.audit_head(person_id)
        if head is not None:
            self._sign(person_id, *head)

    def _sign(self, person_id: str, seq: int, digest: bytes) -> None:
        if self._signer is None:
            return
        signature = self._signer.sign(_checkpoint_message(person_id, seq, digest))
        self.backend.audit_checkpoint_put(person_id, seq, digest, signature)

    def entries(self, person_id: str, keys: Sealing | None) -> list[Entry]:
        out: list[Entry] = []
        for seq, raw, _digest in self.backend.audit_rows(person_id):
            record = json.loads(raw)
            details: dict[str, Any] | None = None
            sealed = base64.b64decode(record["details"])
            if sealed and keys is not None:
                aad = b"audit|" + person_id.encode() + b"|" + str(seq).encode()
                try:
                    details = json.loads(keys.open(sealed, aad))
                except Exception:  # sealed under a destroyed key, or altered
                    details = None
            elif not sealed:
                details = {}
            out.append(
                Entry(
                    seq, record["ts"], record["action"], record["actor"], record["purpose"], details
                )
            )
        return out

    def verify(self, person_id: str) -> str | None:
        """None if the chain is intact, else one sentence naming the first bad entry."""
        return verify_chain(
            person_id,
            self.backend.audit_rows(person_id),
            self.backend.audit_head(person_id),
            self.backend.audit_checkpoints(person_id),
            self.public,
        )


def verify_chain(
    person_id: str,
    rows: Iterable[tuple[int, bytes, bytes]],
    head: tuple[int, bytes] | None,
    checkpoints: list[tuple[int, bytes, bytes]],
    public: Ed25519PublicKey,
) -> str | None:
    """Check one chain; pure, so it can also run on an exported copy of the log."""
    signed: dict[int, bytes] = {}
    for seq, digest, signature in checkpoints:
        try:
            public.verify(signature, _checkpoint_message(person_id, seq, digest))
        except InvalidSignature:
            return f"the signed checkpoint at entry {seq} has a bad signature"
        signed[seq] = digest
    expected_seq, previous = 1, GENESIS
    for seq, raw, stored in rows:
        if seq != expected_seq:
            return f"entry {expected_seq} is missing or out of order (found entry {seq} there)"
        try:
            declared = json.loads(raw)["seq"]
        except (ValueError, KeyError, TypeError):
            return f"entry {seq} is not a readable audit entry"
        if declared != seq:
            return f"entry {seq} has been moved (it says it is entry {declared})"
        digest = chain_hash(previous, raw)
        if digest != stored:
            return f"entry {seq} has been altered (its hash does not match its content)"
        if seq in signed and signed[seq] != digest:
            return f"entry {seq} does not match its signed checkpoint"
        previous, expected_seq = digest, expected_seq + 1
    last = expected_seq - 1
    beyond = [seq for seq in signed if seq > last]
    if beyond:
        return (
            f"a signed checkpoint covers entry {max(beyond)}, but the log ends at entry {last}: "
            "the tail was removed"
        )
    if head is not None and head != (last, previous):
        if head[0] > last:
            return f"the log ends at entry {last} but its head says {head[0]}: the tail was removed"
        return f"the log's head does not match entry {last}"
    return None
