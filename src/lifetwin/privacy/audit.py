"""The tamper-evident audit log: one hash chain per person, its head always signed.

Each entry holds a sequence number, a time, the action (read, write, export, grant,
revoke, login, erase, ...), a pseudonymous actor, the purpose, and details sealed
under the person's key — never a personal value in the clear. Its hash covers the
previous entry's hash, so changing, deleting or reordering any entry breaks the chain.

The chain's head is signed with the store's Ed25519 key at the end of every write
transaction that appended to it (inside that transaction, so a crash cannot leave an
unsigned tail). The signature covers the head's sequence number and hash and a
digest of the person's consent rows (their keyed tags and versions), so

* rebuilding hashes after an edit, deleting or relabelling the newest entries, or
  removing signed checkpoints does not verify without the signing key;
* replacing a consent row by an older sealed copy of itself is caught on the next
  read (the vault checks the rows against the signed head and fails closed).

What a signature cannot show is a rollback of the whole chain to an older signed
head. For that the person keeps a **receipt** (the signed head at a moment of their
choosing, :meth:`AuditLog.receipt`) and later checks that the chain still extends it
(:func:`check_receipt`). Every ``CHECKPOINT_EVERY`` entries the head is also kept as
a signed checkpoint. Verification needs only the public key: anyone can run it.

The store's own chain ``service`` records every change to accounts and tokens (their
keyed tag, version and a digest of the sealed row), so a row replaced by an older copy,
resurrected after deletion or inserted without the key is reported by ``audit verify``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

GENESIS = b"\x00" * 32
CHECKPOINT_EVERY = 1000
SERVICE_CHAIN = "service"  # the store's own chain: accounts and tokens
RECEIPT_VERSION = 1


class AuditBackend(Protocol):
    def transaction(self, person_id: str | None = None) -> Any: ...

    def before_commit(self, key: Any, hook: Callable[[], None]) -> None: ...

    def audit_append(
        self, person_id: str, rows: Sequence[tuple[int, bytes, bytes]], head: tuple[int, bytes]
    ) -> None: ...

    def audit_sign_head(self, person_id: str, seq: int, state: bytes, signature: bytes) -> None: ...

    def audit_rows(self, person_id: str, after: int = 0) -> Iterable[tuple[int, bytes, bytes]]: ...

    def audit_row(self, person_id: str, seq: int) -> tuple[bytes, bytes] | None: ...

    def audit_head(self, person_id: str) -> tuple[int, bytes] | None: ...

    def audit_head_signed(
        self, person_id: str
    ) -> tuple[int, bytes, bytes | None, bytes | None] | None: ...

    def audit_checkpoint_put(
        self, person_id: str, seq: int, digest: bytes, signature: bytes
    ) -> None: ...

    def audit_checkpoints(self, person_id: str) -> list[tuple[int, bytes, bytes]]: ...

    def audit_persons(self) -> list[str]: ...

    def grant_versions(self, person_id: str) -> list[tuple[bytes, int]]: ...

    def lock_persons(self, person_ids: Sequence[str]) -> None: ...

    def audit_heads(self, person_ids: Sequence[str]) -> dict[str, tuple[int, bytes]]: ...

    def grant_versions_of(
        self, person_ids: Sequence[str]
    ) -> dict[str, list[tuple[bytes, int]]]: ...

    def audit_append_signed(
        self,
        rows: Sequence[tuple[str, int, bytes, bytes]],
        heads: Sequence[tuple[str, int, bytes, bytes | None, bytes | None]],
    ) -> None: ...


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


def state_digest(versions: Iterable[tuple[bytes, int]]) -> bytes:
    """A digest of a person's consent rows: their tags and versions, in tag order.

    >>> state_digest([]) == state_digest([])
    True
    >>> state_digest([(b"a", 1)]) != state_digest([(b"a", 2)])
    True
    """
    digest = hashlib.sha256(b"lifetwin-consent-rows")
    for tag, version in sorted(versions):
        digest.update(len(tag).to_bytes(2, "big") + tag + version.to_bytes(8, "big"))
    return digest.digest()


def _checkpoint_message(person_id: str, seq: int, digest: bytes) -> bytes:
    return (
        b"lifetwin-audit-checkpoint|"
        + person_id.encode()
        + b"|"
        + str(seq).encode()
        + b"|"
        + digest
    )


def head_message(person_id: str, seq: int, digest: bytes, state: bytes) -> bytes:
    """What a head signature (and a receipt) signs."""
    return (
        b"lifetwin-audit-head-v2|"
        + person_id.encode()
        + b"|"
        + str(seq).encode()
        + b"|"
        + digest
        + b"|"
        + state
    )


class AuditLog:
    """Appends to and reads one store's per-person chains."""

    def __init__(
        self, backend: AuditBackend, signer: Ed25519PrivateKey | None, public: Ed25519PublicKey
    ) -> None:
        self.backend = backend
        self._signer = signer
        self.public = public
        self._verified: OrderedDict[tuple[str, int, bytes, bytes, bytes], None] = OrderedDict()
        self._group: GroupCommit | None = None
        self._group_lock = threading.Lock()

    def soon(
        self,
        person_id: str,
        action: str,
        *,
        actor: str = "self",
        purpose: str = "",
        details: dict[str, Any] | None = None,
        keys: Sealing | None = None,
    ) -> Future[int]:
        """Append an entry together with the others that arrive meanwhile (group commit):
        the future is done when the entry is committed and its chain's head signed.

        For the service's reads: a read waits for its entry before it is answered, as with
        :meth:`append`, but many reads share one transaction and one signature per person."""
        group = self._group
        if group is None or group.pid != os.getpid():  # a forked child starts its own
            with self._group_lock:
                if self._group is None or self._group.pid != os.getpid():
                    self._group = GroupCommit(self)
                group = self._group
        return group.submit(person_id, (action, actor, purpose, details), keys)

    def close(self) -> None:
        """Write what is waiting for a group commit and stop its thread."""
        with self._group_lock:
            group, self._group = self._group, None
        if group is not None:
            group.close()

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
        """Append entries in order, in the person's transaction; return the last number.

        The head read and the write happen in one transaction holding the person's lock,
        and the new head is signed before that transaction commits."""
        with self.backend.transaction(person_id):
            head = self.backend.audit_head(person_id)
            seq, previous = head if head is not None else (0, GENESIS)
            rows = _extend(person_id, seq, previous, [(item, keys) for item in items])
            if rows:
                seq, _raw, previous = rows[-1]
            self.backend.audit_append(person_id, rows, (seq, previous))
            due = [(n, digest) for n, _raw, digest in rows if n % CHECKPOINT_EVERY == 0]
            if due and self._signer is not None:
                cp_seq, cp_hash = due[-1]
                signature = self._signer.sign(_checkpoint_message(person_id, cp_seq, cp_hash))
                self.backend.audit_checkpoint_put(person_id, cp_seq, cp_hash, signature)
            self.backend.before_commit(("audit-head", person_id), lambda: self._sign(person_id))
        return seq

    def append_groups(
        self, groups: dict[str, list[tuple[Item, Sealing | None]]]
    ) -> dict[str, list[int]]:
        """Append many persons' entries in one transaction; each entry's number.

        The same chain, head and signature as :meth:`append_many` per person, in a few
        statements for the whole batch instead of a few per person: the persons' locks
        taken in sorted order, their heads and consent rows read inside the transaction,
        every head signed (with its consent state) before the transaction commits."""
        ids = sorted(groups)
        backend = self.backend
        with backend.transaction():
            backend.lock_persons(ids)
            heads = backend.audit_heads(ids)
            versions = backend.grant_versions_of(ids) if self._signer is not None else {}
            rows: list[tuple[str, int, bytes, bytes]] = []
            new_heads: list[tuple[str, int, bytes, bytes | None, bytes | None]] = []
            checkpoints: list[tuple[str, int, bytes]] = []
            numbers: dict[str, list[int]] = {}
            for person_id in ids:
                seq, previous = heads.get(person_id, (0, GENESIS))
                mine = _extend(person_id, seq, previous, groups[person_id])
                if mine:
                    seq, _raw, previous = mine[-1]
                rows.extend((person_id, *row) for row in mine)
                numbers[person_id] = [n for n, _raw, _digest in mine]
                checkpoints.extend(
                    (person_id, n, digest) for n, _raw, digest in mine if n % CHECKPOINT_EVERY == 0
                )
                state: bytes | None = None
                signature: bytes | None = None
                if self._signer is not None:
                    state = state_digest(versions.get(person_id, []))
                    signature = self._signer.sign(head_message(person_id, seq, previous, state))
                new_heads.append((person_id, seq, previous, state, signature))
            backend.audit_append_signed(rows, new_heads)
            if self._signer is not None:
                for person_id, cp_seq, cp_hash in checkpoints:
                    signed = self._signer.sign(_checkpoint_message(person_id, cp_seq, cp_hash))
                    backend.audit_checkpoint_put(person_id, cp_seq, cp_hash, signed)
        return numbers

    def _sign(self, person_id: str) -> None:
        """Sign the chain's head as it stands now (inside the committing transaction)."""
        if self._signer is None:
            return
        head = self.backend.audit_head(person_id)
        if head is None:
            return
        seq, digest = head
        state = self.consent_state(person_id)
        signature = self._signer.sign(head_message(person_id, seq, digest, state))
        self.backend.audit_sign_head(person_id, seq, state, signature)

    def consent_state(self, person_id: str) -> bytes:
        return state_digest(self.backend.grant_versions(person_id))

    def resign(self, person_id: str) -> None:
        """Sign the head again inside a transaction (after consent rows changed)."""
        with self.backend.transaction(person_id):
            self.backend.before_commit(("audit-head", person_id), lambda: self._sign(person_id))

    def checkpoint(self, person_id: str) -> None:
        """Keep the current head as a signed checkpoint (after an erasure, say)."""
        head = self.backend.audit_head(person_id)
        if head is not None and self._signer is not None:
            signature = self._signer.sign(_checkpoint_message(person_id, *head))
            self.backend.audit_checkpoint_put(person_id, head[0], head[1], signature)

    # -- checks on the hot path ---------------------------------------------------------
    def check_consent_rows(
        self,
        person_id: str,
        versions: list[tuple[bytes, int]],
        head: tuple[int, bytes, bytes | None, bytes | None] | None,
    ) -> str | None:
        """None when these consent rows are the ones the signed head (read in the same
        snapshot) vouches for, else why. Cheap: a signature check cached per head."""
        state = state_digest(versions)
        if head is None:
            return None if not versions else "there are consent rows but no audit chain"
        seq, digest, signed_state, signature = head
        if signed_state is None or signature is None:
            return f"the audit head (entry {seq}) is not signed"
        if signed_state != state:
            return "the consent rows differ from what the signed audit head vouches for"
        key = (person_id, seq, digest, signed_state, signature)
        if key in self._verified:
            self._verified.move_to_end(key)
            return None
        try:
            self.public.verify(signature, head_message(person_id, seq, digest, signed_state))
        except InvalidSignature:
            return f"the signature of the audit head (entry {seq}) is not the store's"
        self._verified[key] = None
        if len(self._verified) > 4096:
            self._verified.popitem(last=False)
        return None

    # -- reading -------------------------------------------------------------------------
    def entries(self, person_id: str, keys: Sealing | None, after: int = 0) -> list[Entry]:
        out: list[Entry] = []
        for seq, raw, _digest in self.backend.audit_rows(person_id, after):
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

    def verify(self, person_id: str, *, consent: bool = True) -> str | None:
        """None if the chain is intact and its head signed, else one sentence naming the
        first problem. With ``consent``, the consent rows must match the signed head."""
        state = self.consent_state(person_id) if consent else None
        return verify_chain(
            person_id,
            self.backend.audit_rows(person_id),
            self.backend.audit_head_signed(person_id),
            self.backend.audit_checkpoints(person_id),
            self.public,
            state_now=state,
        )

    def receipt(self, person_id: str) -> dict[str, Any]:
        """The signed head of a chain, for the person to keep (checked later with
        :func:`check_receipt`)."""
        head = self.backend.audit_head_signed(person_id)
        if head is None or head[2] is None or head[3] is None:
            raise ValueError(f"the audit chain of {person_id} has no signed head")
        seq, digest, state, signature = head
        assert state is not None
        assert signature is not None
        return {
            "lifetwin_audit_receipt": RECEIPT_VERSION,
            "person": person_id,
            "seq": seq,
            "hash": digest.hex(),
            "state": state.hex(),
            "signature": signature.hex(),
            "public_key": self.public.public_bytes_raw().hex(),
            "issued": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }

    def check_receipt(self, person_id: str, receipt: dict[str, Any]) -> str | None:
        """None if the chain still holds the entry the receipt was made at (so history up
        to it was not rewritten), else one sentence saying what differs."""
        return check_receipt(
            person_id, receipt, lambda seq: self.backend.audit_row(person_id, seq), self.public
        )


Item = tuple[str, str, str, dict[str, Any] | None]


def _extend(
    person_id: str, seq: int, previous: bytes, items: Sequence[tuple[Item, Sealing | None]]
) -> list[tuple[int, bytes, bytes]]:
    """The entries that follow a chain's head (``seq``, ``previous``): (number, entry, hash)
    each, details sealed under the given keys."""
    now = int(time.time() * 1000)
    rows = []
    for (action, actor, purpose, details), keys in items:
        seq += 1
        sealed = b""
        if details is not None and keys is not None:
            aad = b"audit|" + person_id.encode() + b"|" + str(seq).encode()
            sealed = keys.seal(json.dumps(details, default=str).encode(), aad)
        raw = entry_bytes(seq, now, action, actor, purpose, sealed)
        previous = chain_hash(previous, raw)
        rows.append((seq, raw, previous))
    return rows


class GroupCommit:
    """One thread that writes the audit entries submitted by many: everything that arrived
    while the last transaction was being written goes into the next one, persons in sorted
    order (so two workers' batches take PostgreSQL's per-person locks in the same order),
    each person's head signed once at its end. One commit, not one per entry.

    If a batch fails, each person's entries are written again on their own, so one
    person's failure (their chain, say) is reported to their callers only."""

    def __init__(self, log: AuditLog, limit: int = 512) -> None:
        self.log = log
        self.limit = limit
        self._pending: list[tuple[str, Item, Sealing | None, Future[int]]] = []
        self._wake = threading.Condition()
        self._closed = False
        self.pid = os.getpid()
        self._thread = threading.Thread(target=self._run, name="audit-group", daemon=True)
        self._thread.start()

    def submit(self, person_id: str, item: Item, keys: Sealing | None) -> Future[int]:
        done: Future[int] = Future()
        with self._wake:
            if self._closed:
                raise RuntimeError("The audit log is closed.")
            self._pending.append((person_id, item, keys, done))
            self._wake.notify()
        return done

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        if self.pid == os.getpid():  # a forked child has no such thread to wait for
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closed:
                    self._wake.wait()
                if not self._pending:
                    return
                batch = self._pending[: self.limit]
                del self._pending[: self.limit]
            self._write(batch)

    def _write(self, batch: list[tuple[str, Item, Sealing | None, Future[int]]]) -> None:
        groups: dict[str, list[tuple[Item, Sealing | None]]] = {}
        waiting: dict[str, list[Future[int]]] = {}
        for person_id, item, keys, done in batch:
            groups.setdefault(person_id, []).append((item, keys))
            waiting.setdefault(person_id, []).append(done)
        try:
            found = self.log.append_groups(groups)
        except Exception:
            found = {}
            for person_id in sorted(groups):
                try:
                    found.update(self.log.append_groups({person_id: groups[person_id]}))
                except Exception as exc:
                    for done in waiting[person_id]:
                        done.set_exception(exc)
        for person_id, numbers in found.items():
            for done, seq in zip(waiting[person_id], numbers, strict=True):
                done.set_result(seq)


def verify_chain(
    person_id: str,
    rows: Iterable[tuple[int, bytes, bytes]],
    head: tuple[int, bytes, bytes | None, bytes | None] | None,
    checkpoints: list[tuple[int, bytes, bytes]],
    public: Ed25519PublicKey,
    state_now: bytes | None = None,
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
    if head is None:
        return None if last == 0 else f"the log has {last} entries but no head"
    head_seq, head_hash, head_state, head_signature = head
    if head_seq > last:
        return f"the log ends at entry {last} but its head says {head_seq}: the tail was removed"
    if (head_seq, head_hash) != (last, previous):
        return f"the log's head does not match entry {last}"
    if head_state is None or head_signature is None:
        return (
            f"the newest entries (up to entry {last}) are not covered by a signature: they "
            "were written without the store's key"
        )
    try:
        public.verify(head_signature, head_message(person_id, head_seq, head_hash, head_state))
    except InvalidSignature:
        return f"the signature of the head (entry {last}) is not the store's"
    if state_now is not None and state_now != head_state:
        return (
            "the consent records differ from the ones the signed head vouches for: a grant "
            "was replaced, removed or added without the key"
        )
    return None


def check_receipt(
    person_id: str,
    receipt: dict[str, Any],
    entry_at: Callable[[int], tuple[bytes, bytes] | None],
    public: Ed25519PublicKey,
) -> str | None:
    """Check a receipt against a chain (whose own integrity ``verify_chain`` checks)."""
    try:
        if receipt.get("lifetwin_audit_receipt") != RECEIPT_VERSION:
            return "this is not a LifeTwin audit receipt"
        seq = int(receipt["seq"])
        digest = bytes.fromhex(str(receipt["hash"]))
        state = bytes.fromhex(str(receipt["state"]))
        signature = bytes.fromhex(str(receipt["signature"]))
        key = bytes.fromhex(str(receipt["public_key"]))
        owner = str(receipt["person"])
    except (KeyError, TypeError, ValueError):
        return "the receipt is damaged (a field is missing or not what it should be)"
    if owner != person_id:
        return "the receipt is for another person's chain"
    if key != public.public_bytes_raw():
        return "the receipt was signed by another store's key"
    try:
        public.verify(signature, head_message(person_id, seq, digest, state))
    except InvalidSignature:
        return "the receipt's signature is not valid (the receipt was altered)"
    found = entry_at(seq)
    if found is None:
        return (
            f"the chain no longer holds entry {seq}, which the receipt shows existed: "
            "history was cut back"
        )
    if found[1] != digest:
        return f"entry {seq} differs from the receipt: history up to it was rewritten"
    return None


def service_row_digest(sealed: bytes) -> str:
    return hashlib.sha256(sealed).hexdigest()
