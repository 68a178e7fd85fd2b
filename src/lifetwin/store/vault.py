"""The store and its per-person vaults: everything is sealed before it reaches a backend.

A :class:`Store` holds many persons; :meth:`Store.vault` opens one person's
vault with that person's own data key. Numeric observations live in columnar
blocks (one per stream and UTC day); categorical and text observations, events
and quarantined values live as sealed records, and so do documents an outside system
reads back whole (Nightscout's treatments, device status and profiles). Writes are
idempotent: the same observation written twice is stored once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from pydantic import BaseModel, TypeAdapter

from lifetwin.core.errors import PersonError, StoreError
from lifetwin.core.model import Event, Observation, Provenance, Quality, Quarantined, to_epoch_ms
from lifetwin.core.vocabulary import Metric, metric
from lifetwin.privacy.audit import AuditLog
from lifetwin.privacy.consent import ConsentLedger, Grant, Purpose, Scope
from lifetwin.privacy.lineage import Derived, InputRef, Lineage
from lifetwin.store.codec import CodecError, Columns, MergeCounts, decode, encode, merge
from lifetwin.store.crypto import KEY_BYTES, KdfParams, MasterKey, PersonKeys, keyed_tag
from lifetwin.store.sql import SQLBackend as Backend

DAY_MS = 86_400_000
_FAR_PAST_DAY = -(10**6)
_FAR_FUTURE_DAY = 10**6

_record_adapter: TypeAdapter[Observation | Event] = TypeAdapter(Observation | Event)


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    created: datetime


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a person's data: a metric (or event kind) from one source."""

    id: bytes
    metric: str  # a metric code, or "event:<kind>" for events
    source: str
    device: str | None
    unit: str
    numeric: bool


@dataclass
class Series:
    """Numeric observations of one metric, all sources merged, sorted by time."""

    metric: Metric
    unit: str
    columns: Columns
    stream_index: npt.NDArray[np.int32]  # per point, an index into ``streams``
    streams: list[StreamInfo]
    lineage: Lineage

    def __len__(self) -> int:
        return len(self.columns)

    def tail(self, limit: int) -> Series:
        """The latest ``limit`` observations."""
        keep = slice(max(len(self) - limit, 0), len(self))
        return Series(
            self.metric,
            self.unit,
            self.columns.take(keep),
            self.stream_index[keep],
            self.streams,
            self.lineage,
        )

    @property
    def ts_ms(self) -> npt.NDArray[np.int64]:
        return self.columns.ts_ms

    @property
    def values(self) -> npt.NDArray[np.float64]:
        return self.columns.value

    def times(self) -> npt.NDArray[np.datetime64]:
        return self.columns.ts_ms.astype("datetime64[ms]")


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


@dataclass
class Records:
    """Categorical/text observations or events, with the lineage of the read."""

    items: list[Observation | Event]
    lineage: Lineage

    def __iter__(self) -> Iterator[Observation | Event]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Observation | Event:
        return self.items[index]


@dataclass(frozen=True)
class Document:
    """An outside system's own record (a Nightscout treatment, say), kept whole: its id
    in that system, its time in milliseconds since the epoch, and the JSON object."""

    id: str
    ts_ms: int
    doc: dict[str, Any]


@dataclass
class Documents:
    """Documents, newest first, with the lineage of the read."""

    items: list[Document]
    lineage: Lineage

    def __iter__(self) -> Iterator[Document]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


@dataclass
class WriteCounts:
    added: int = 0
    duplicates: int = 0
    changed: int = 0

    def add(self, other: MergeCounts | WriteCounts) -> None:
        self.added += other.added
        self.duplicates += other.duplicates
        self.changed += other.changed


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


def _ms(moment: datetime | None, default: int) -> int:
    return default if moment is None else to_epoch_ms(moment)


class Store:
    """A LifeTwin store: many persons, each with an encrypted vault."""

    def __init__(self, backend: Backend, master: MasterKey, actor: str = "self") -> None:
        self.backend = backend
        self._master = master
        self.actor = actor  # who is acting, as written in the audit log
        wrapped_index = backend.meta_get("index_key")
        if wrapped_index is None:
            raise StoreError("The store is not initialized; run `lifetwin init` first.")
        self._index_key = master.unwrap(wrapped_index)
        signing = backend.meta_get("audit_signing_key")
        public = backend.meta_get("audit_public_key")
        if signing is None or public is None:
            raise StoreError("The store has no audit key; it was made by an older LifeTwin.")
        self.audit = AuditLog(
            backend,
            Ed25519PrivateKey.from_private_bytes(master.unwrap(signing)),
            Ed25519PublicKey.from_public_bytes(public),
        )
        self.notes: list[str] = []  # upgrades and tightened files, for the person to read

    # -- opening -------------------------------------------------------------
    @classmethod
    def initialize(cls, backend: Backend, master: MasterKey, kdf: KdfParams | None = None) -> Store:
        """Set up an empty backend for this master key (a passphrase when ``kdf`` is given)."""
        from lifetwin.store import migrations

        if migrations.has_store(backend):
            raise StoreError(f"A LifeTwin store already exists in {backend.describe()}.")
        with backend.transaction():
            migrations.create_head(backend)
            backend.meta_set("key_check", master.check_value())
            backend.meta_set("index_key", master.wrap(os.urandom(KEY_BYTES)))
            signing = Ed25519PrivateKey.generate()
            backend.meta_set("audit_signing_key", master.wrap(signing.private_bytes_raw()))
            backend.meta_set("audit_public_key", signing.public_key().public_bytes_raw())
            if kdf is not None:
                backend.meta_set("kdf", kdf.encode())
        return cls(backend, master)

    @staticmethod
    def kdf_params(backend: Backend) -> KdfParams | None:
        """The passphrase parameters of a store, or None when it uses a key file."""
        blob = backend.meta_get("kdf")
        return None if blob is None else KdfParams.decode(blob)

    @classmethod
    def open(cls, backend: Backend, master: MasterKey, *, upgrade: bool = True) -> Store:
        """Open a store; one made by an older LifeTwin is upgraded in place first (unless
        ``upgrade`` is False: then it is refused with the command that upgrades it)."""
        from lifetwin.store import migrations

        if not migrations.has_store(backend):
            raise StoreError(
                f"There is no LifeTwin store in {backend.describe()}; run `lifetwin init` first."
            )
        check = backend.meta_get("key_check")
        if check is None:
            raise StoreError(f"The store in {backend.describe()} has no key check; it is damaged.")
        master.verify(check, passphrase=backend.meta_get("kdf") is not None)
        notes: list[str] = []
        if migrations.needs_upgrade(backend):
            if not upgrade:
                raise StoreError(
                    "The store was made by an older LifeTwin; run `lifetwin migrate` to upgrade it."
                )
            notes = migrations.upgrade(backend, master)
        opened = cls(backend, master)
        opened.notes = notes
        return opened

    def close(self) -> None:
        self.backend.close()

    # -- persons -------------------------------------------------------------
    def _name_tag(self, name: str) -> bytes:
        return keyed_tag(self._index_key, b"person-name|" + name.strip().casefold().encode())

    def add_person(self, name: str) -> Person:
        name = name.strip()
        if not name:
            raise PersonError("A person needs a name.")
        person = Person(id="p-" + uuid.uuid4().hex[:16], name=name, created=datetime.now(UTC))
        data_key = os.urandom(KEY_BYTES)
        profile = json.dumps({"name": name, "created": person.created.isoformat()}).encode()
        sealed = PersonKeys(data_key).seal(profile, b"person|" + person.id.encode())
        with self.backend.transaction(person.id):
            added = self.backend.person_insert(
                person.id, self._name_tag(name), self._master.wrap(data_key), sealed
            )
            if added:
                self.audit.append(person.id, "create", actor=self.actor)
        if not added:
            raise PersonError(f"A person named '{name}' already exists in this store.")
        return person

    def _opened(self, row: tuple[str, bytes, bytes, bytes]) -> tuple[Person, PersonKeys]:
        person_id, _tag, wrapped, sealed = row
        keys = PersonKeys(self._master.unwrap(wrapped))
        profile = json.loads(keys.open(sealed, b"person|" + person_id.encode()))
        person = Person(person_id, profile["name"], datetime.fromisoformat(profile["created"]))
        return person, keys

    def person_with_keys(self, person_id: str) -> tuple[Person, PersonKeys] | None:
        """A person by id with their data key, from one row (None when there is none)."""
        row = self.backend.person_by_id(person_id)
        return None if row is None else self._opened(row)

    def persons(self) -> list[Person]:
        people = [self._opened(row)[0] for row in self.backend.person_rows()]
        return sorted(people, key=lambda p: (p.name.casefold(), p.id))

    def person(self, name_or_id: str) -> Person:
        """Find a person by name (any case) or by id."""
        row = self.backend.person_by_tag(self._name_tag(name_or_id))
        if row is None:
            row = self.backend.person_by_id(name_or_id)
        if row is not None:
            return self._opened(row)[0]
        raise PersonError(
            f"There is no person '{name_or_id}' in this store; `lifetwin person list` shows who is."
        )

    def pseudonym(self, person: Person, recipient: str) -> str:
        """The id a recipient knows this person by (different for every recipient)."""
        from lifetwin.privacy.pseudonym import pseudonym

        key = keyed_tag(self._index_key, b"pseudonym-key") * 2
        return pseudonym(key, person.id, recipient)

    def actor_name(self, role: str, account: str) -> str:
        """How an account is named in audit chains: its role and a keyed pseudonym, never
        the account's name (``lifetwin audit show`` turns it back for the key holder)."""
        tag = keyed_tag(self._index_key, b"actor|" + account.strip().lower().encode())
        return f"{role}:acct-{tag.hex()[:12]}"

    def master_wrap(self, key: bytes) -> bytes:
        """Wrap a service key (e.g. the accounts key) under the master key."""
        return self._master.wrap(key)

    def master_unwrap(self, wrapped: bytes) -> bytes:
        return self._master.unwrap(wrapped)

    def vault(self, person: Person, actor: str | None = None) -> Vault:
        """The person's vault; ``actor`` names who acts in its audit entries."""
        row = self.backend.person_by_id(person.id)
        if row is not None:
            keys = PersonKeys(self._master.unwrap(row[2]))
            return Vault(self.backend, person, keys, self.audit, actor or self.actor)
        raise PersonError(f"The person '{person.name}' is no longer in this store.")

    def erase(self, person: Person) -> list[str]:
        """Destroy the person's data key and every row of theirs (crypto-shredding) in one
        transaction; return the ids of the jobs removed with them.

        The audit chain stays (its details were sealed under the destroyed key). The
        write-ahead log is truncated after it, so no old page lingers in a file; full
        compaction is left to ``lifetwin maintain``."""
        with self.backend.transaction(person.id):
            jobs = self.backend.person_delete(person.id)
            self.audit.append(person.id, "erase", actor=self.actor)
            self.audit.checkpoint(person.id)
            self.backend.generation_bump("persons")
            self.backend.after_commit(self.backend.wipe_free_space)
        return jobs

    def rotate_master_key(self, new: MasterKey, kdf: KdfParams | None = None) -> None:
        """Re-wrap every data key under a new master key; no data is re-encrypted.

        ``kdf`` gives the passphrase parameters when the new key comes from a passphrase.
        """
        with self.backend.transaction():
            for person_id, _tag, wrapped, _sealed in self.backend.person_rows():
                self.backend.person_rewrap(person_id, new.wrap(self._master.unwrap(wrapped)))
            for name in ("index_key", "audit_signing_key", "accounts_key"):
                wrapped_key = self.backend.meta_get(name)
                if wrapped_key is not None:
                    self.backend.meta_set(name, new.wrap(self._master.unwrap(wrapped_key)))
            self.backend.meta_set("key_check", new.check_value())
            if kdf is not None:
                self.backend.meta_set("kdf", kdf.encode())
            else:  # the new key comes from a key file, not a passphrase
                self.backend.meta_delete("kdf")
        self._master = new

    def compact(self) -> None:
        self.backend.compact()


class Vault:
    """One person's data, sealed under that person's own key."""

    def __init__(
        self, backend: Backend, person: Person, keys: PersonKeys, audit: AuditLog, actor: str
    ) -> None:
        self.backend = backend
        self.person = person
        self._keys = keys
        self._pid = person.id.encode()
        self._streams: dict[bytes, StreamInfo] | None = None
        self.audit = audit
        self.actor = actor

    def log_event(self, action: str, purpose: str = "", **details: Any) -> None:
        """Append an entry to the person's audit chain (details are sealed)."""
        self.audit.append(
            self.person.id,
            action,
            actor=self.actor,
            purpose=purpose,
            details=details,
            keys=self._keys,
        )

    # -- streams -------------------------------------------------------------
    def _load_streams(self) -> dict[bytes, StreamInfo]:
        if self._streams is None:
            streams: dict[bytes, StreamInfo] = {}
            for stream_id, sealed in self.backend.stream_rows(self.person.id):
                raw = json.loads(self._keys.open(sealed, b"stream|" + self._pid + stream_id))
                streams[stream_id] = StreamInfo(id=stream_id, **raw)
            self._streams = streams
        return self._streams

    def reload_streams(self) -> None:
        """Forget the streams read so far (another vault of this person may have added some)."""
        self._streams = None

    def streams(self) -> list[StreamInfo]:
        return sorted(self._load_streams().values(), key=lambda s: (s.metric, s.source))

    def visible_streams(self, purpose: Purpose, recipient: str | None = None) -> list[StreamInfo]:
        """The streams a purpose (for a recipient) may use now; names only, no values."""
        chosen, _ = self._allowed(self.streams(), Purpose(purpose), recipient)
        return chosen

    def stream_days(self, stream: StreamInfo) -> tuple[int, int] | None:
        """The first and last UTC day (since the epoch) a stream has data on."""
        if stream.numeric:
            return self.backend.block_day_span(self.person.id, stream.id)
        return self.backend.record_day_span(self.person.id, stream.id)

    def stream_last_days(self) -> dict[bytes, int]:
        """The day (since the epoch, UTC) of each stream's newest data."""
        return dict(self.backend.stream_last_days(self.person.id))

    def _stream(
        self, metric_code: str, source: str, device: str | None, unit: str, numeric: bool
    ) -> bytes:
        key = "\x1f".join((metric_code, source, device or "", unit)).encode()
        stream_id = self._keys.tag(b"stream|" + key)
        streams = self._load_streams()
        if stream_id not in streams:
            info = StreamInfo(stream_id, metric_code, source, device, unit, numeric)
            descriptor = {k: v for k, v in info.__dict__.items() if k != "id"}
            sealed = self._keys.seal(
                json.dumps(descriptor).encode(), b"stream|" + self._pid + stream_id
            )
            self.backend.stream_put(self.person.id, stream_id, sealed)
            streams[stream_id] = info
        return stream_id

    def _aad(self, kind: bytes, *parts: bytes) -> bytes:
        return kind + b"|" + self._pid + b"|" + b"|".join(parts)

    # -- numeric series ------------------------------------------------------
    def write_columns(
        self,
        metric_code: str,
        source: str,
        device: str | None,
        unit: str,
        columns: Columns,
    ) -> WriteCounts:
        """Store numeric observations (already in the canonical unit and validated)."""
        counts = WriteCounts()
        if not len(columns):
            return counts
        with self.backend.transaction(self.person.id):
            stream_id = self._stream(metric_code, source, device, unit, numeric=True)
            corrected = self._corrected_times(stream_id)
            if corrected:
                # A value the person rectified stays rectified when a file is re-imported.
                columns = columns.take(np.flatnonzero(~np.isin(columns.ts_ms, list(corrected))))
                if not len(columns):
                    return counts
            order = np.argsort(columns.ts_ms, kind="stable")
            columns = columns.take(order)
            days = columns.ts_ms // DAY_MS
            bounds = np.flatnonzero(np.diff(days)) + 1
            starts = np.concatenate(([0], bounds))
            ends = np.concatenate((bounds, [len(columns)]))
            first, last = int(days[0]), int(days[-1])
            existing = dict(self.backend.block_get(self.person.id, stream_id, first, last))
            rows: list[tuple[int, bytes]] = []
            for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
                day = int(days[lo])
                part = columns.take(slice(lo, hi))
                old = self._open_block(stream_id, day, existing[day]) if day in existing else None
                merged, merge_counts = merge(old if old is not None else Columns.empty(), part)
                counts.add(merge_counts)
                if old is not None and merge_counts.added == 0 and merge_counts.changed == 0:
                    continue
                aad = self._aad(b"block", stream_id, str(day).encode())
                rows.append((day, self._keys.seal(encode(merged), aad)))
            if rows:
                self.backend.block_put(self.person.id, stream_id, rows)
            self.log_event(
                "write",
                metric=metric_code,
                source=source,
                added=counts.added,
                changed=counts.changed,
            )
        return counts

    def _open_block(self, stream_id: bytes, day: int, sealed: bytes) -> Columns:
        plain = self._keys.open(sealed, self._aad(b"block", stream_id, str(day).encode()))
        try:
            return decode(plain)
        except CodecError as exc:
            raise StoreError(f"A stored block of {self.person.name} is damaged ({exc}).") from None

    # -- the consent gate: every read names a purpose ---------------------------
    def _grant_tag(self, grant_id: str) -> bytes:
        return self._keys.tag(b"grant|" + grant_id.encode())

    def _grant_aad(self, tag: bytes, version: int) -> bytes:
        return self._aad(b"grant", tag, str(version).encode())

    def consents(self) -> ConsentLedger:
        """Every grant the person gave, revoked ones included, from their rows.

        The rows are checked against the signed audit head first: a row replaced by an
        older copy, removed or added without the key makes this fail (closed)."""
        rows, head = self.backend.consent_snapshot(self.person.id)
        problem = self.audit.check_consent_rows(self.person.id, [(t, v) for t, v, _ in rows], head)
        if problem:
            raise StoreError(
                f"The consent records of {self.person.name} were altered ({problem}); nothing "
                "is read for any purpose until that is resolved (`lifetwin audit verify`)."
            )
        grants = [
            Grant.model_validate_json(self._keys.open(sealed, self._grant_aad(tag, version)))
            for tag, version, sealed in rows
        ]
        return ConsentLedger(grants=sorted(grants, key=lambda g: (g.granted_at, g.id)))

    def _put_grant(self, grant: Grant, version: int) -> None:
        tag = self._grant_tag(grant.id)
        sealed = self._keys.seal(grant.model_dump_json().encode(), self._grant_aad(tag, version))
        self.backend.grant_put(self.person.id, tag, version, sealed)
        self.backend.generation_bump("person:" + self.person.id)

    def grant(
        self,
        scope: Scope,
        purpose: Purpose,
        *,
        recipient: str | None = None,
        text_version: str = "1",
        granted_by: str = "self",
        at: datetime | None = None,
    ) -> Grant:
        with self.backend.transaction(self.person.id):
            made = ConsentLedger().grant(
                scope,
                purpose,
                recipient=recipient,
                text_version=text_version,
                granted_by=granted_by,
                at=at,
            )
            self._put_grant(made, 1)
            self.log_event(
                "grant",
                purpose.value,
                grant=made.id,
                scope=str(scope),
                recipient=recipient,
                text_version=text_version,
                granted_by=granted_by,
            )
        return made

    def revoke(self, grant_id: str, at: datetime | None = None) -> list[str]:
        """Revoke a grant; delete every derived output whose lineage used it.

        Returns the names of the derived outputs removed (they are recomputed, without
        the revoked data, the next time they are asked for).
        """
        with self.backend.transaction(self.person.id):
            ledger = self.consents()
            revoked = ledger.revoke(grant_id, at)
            version = dict(self.backend.grant_versions(self.person.id))[self._grant_tag(grant_id)]
            self._put_grant(revoked, version + 1)
            self.log_event(
                "revoke", revoked.purpose.value, grant=grant_id, scope=str(revoked.scope)
            )
            removed = [d.name for d in self.derived_all() if grant_id in d.lineage.grants]
            for name in removed:
                self.delete_derived(name)
            if removed:
                self.log_event("invalidate", revoked.purpose.value, grant=grant_id, derived=removed)
        return removed

    def import_grants(self, grants: Sequence[Grant]) -> None:
        """Write grants as they are (an upgrade from an older store), one row each."""
        with self.backend.transaction(self.person.id):
            for grant in grants:
                self._put_grant(grant, 1 if grant.revoked_at is None else 2)
            self.log_event("upgrade", what="consent rows", grants=len(grants))

    def _allowed(
        self, candidates: list[StreamInfo], purpose: Purpose, recipient: str | None
    ) -> tuple[list[StreamInfo], tuple[str, ...]]:
        if purpose is Purpose.SELF_ACCESS:
            return candidates, ()
        now = datetime.now(UTC)
        ledger = self.consents()
        chosen: list[StreamInfo] = []
        grants: set[str] = set()
        for stream in candidates:
            allowing = ledger.allowing(stream.metric, stream.source, purpose, recipient, now)
            if allowing:
                chosen.append(stream)
                grants.update(g.id for g in allowing)
        return chosen, tuple(sorted(grants))

    def read_series(
        self,
        metric_code: str,
        *,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
    ) -> Series:
        """Numeric observations of a metric with since <= start < until, from the
        streams the purpose may use now; the result carries its lineage."""
        m = metric(metric_code)
        candidates = [
            s
            for s in self.streams()
            if s.numeric and s.metric == m.code and (source is None or s.source == source)
        ]
        chosen, grants = self._allowed(candidates, Purpose(purpose), recipient)
        columns, stream_index = self._read_blocks(chosen, since, until)
        inputs = []
        for i, stream in enumerate(chosen):
            ts = columns.ts_ms[stream_index == i]
            inputs.append(
                InputRef(
                    metric=m.code,
                    source=stream.source,
                    first_ms=int(ts[0]) if len(ts) else None,
                    last_ms=int(ts[-1]) if len(ts) else None,
                    count=len(ts),
                )
            )
        lineage = Lineage(
            purpose=Purpose(purpose).value, recipient=recipient, grants=grants, inputs=tuple(inputs)
        )
        self.log_event(
            "read",
            lineage.purpose,
            metric=m.code,
            count=len(columns),
            grants=grants,
            recipient=recipient,
            withheld=len(candidates) - len(chosen),
        )
        unit = chosen[0].unit if chosen else m.unit
        return Series(m, unit, columns, stream_index, chosen, lineage)

    def _read_blocks(
        self, chosen: list[StreamInfo], since: datetime | None, until: datetime | None
    ) -> tuple[Columns, npt.NDArray[np.int32]]:
        lo_ms = _ms(since, _FAR_PAST_DAY * DAY_MS)
        hi_ms = _ms(until, _FAR_FUTURE_DAY * DAY_MS)
        parts: list[Columns] = []
        index: list[npt.NDArray[np.int32]] = []
        for i, stream in enumerate(chosen):
            rows = self.backend.block_get(
                self.person.id, stream.id, lo_ms // DAY_MS, (hi_ms - 1) // DAY_MS
            )
            for day, sealed in rows:
                block = self._open_block(stream.id, day, sealed)
                if block.ts_ms[0] < lo_ms or block.ts_ms[-1] >= hi_ms:
                    keep = (block.ts_ms >= lo_ms) & (block.ts_ms < hi_ms)
                    block = block.take(np.flatnonzero(keep))
                parts.append(block)
                index.append(np.full(len(block), i, dtype=np.int32))
        columns = Columns.concat(parts)
        stream_index = np.concatenate(index) if index else np.zeros(0, dtype=np.int32)
        if len(chosen) > 1:
            order = np.argsort(columns.ts_ms, kind="stable")
            columns, stream_index = columns.take(order), stream_index[order]
        return columns, stream_index

    def series_observations(self, series: Series) -> Iterable[Observation]:
        """Turn a series back into Observation objects (slow; for display and export)."""
        imports = {record.id: record.file for record in self.imports()}
        c = series.columns
        for i in range(len(series)):
            stream = series.streams[int(series.stream_index[i])]
            tz = _tz(int(c.tz_min[i]))
            start = datetime.fromtimestamp(int(c.ts_ms[i]) / 1000, tz)
            dur = int(c.dur_ms[i])
            end = datetime.fromtimestamp((int(c.ts_ms[i]) + dur) / 1000, tz) if dur else None
            line = int(c.record[i])
            yield Observation(
                person=self.person.id,
                metric=series.metric.code,
                value=float(c.value[i]),
                unit=stream.unit,
                start=start,
                end=end,
                source=stream.source,
                device=stream.device,
                provenance=Provenance(
                    file=imports.get(int(c.import_id[i])), line=line if line > 0 else None
                ),
                quality=Quality(int(c.quality[i])),
            )

    # -- records: categorical/text observations and events ------------------
    def _record_tag(self, item: Observation | Event) -> tuple[str, str, bytes]:
        """The stream name, unit and keyed tag of a record: what makes it the same record."""
        if isinstance(item, Observation):
            stream_name, unit = item.metric, item.unit or ""
            natural: list[Any] = [item.metric, item.source, item.device]
        else:
            stream_name, unit = f"event:{item.kind.value}", ""
            # Not the details: a newer export may add a route or statistics to
            # the same workout. The source's own record id tells purchases apart.
            natural = [
                item.kind.value,
                item.source,
                item.device,
                item.title,
                item.provenance.record,
            ]
        start_ms = to_epoch_ms(item.start)
        natural += [start_ms, _ms(item.end, start_ms)]
        return (
            stream_name,
            unit,
            self._keys.tag(b"record|" + json.dumps(natural, default=str).encode()),
        )

    def record_id(self, item: Observation | Event) -> str:
        """A 24-hex-digit id of a record that says nothing about it (equal records, equal ids)."""
        return self._record_tag(item)[2].hex()[:24]

    def delete_records(self, items: Sequence[Observation | Event]) -> int:
        """Remove these records (found by what makes them the same); return how many were
        there. For a source that changed or withdrew what it sent before."""
        tags = [self._record_tag(item)[2] for item in items]
        if not tags:
            return 0
        with self.backend.transaction(self.person.id):
            removed = self.backend.record_delete(self.person.id, tags)
            self.log_event("delete", records=len(tags), removed=removed)
        return removed

    def write_records(self, items: Sequence[Observation | Event]) -> WriteCounts:
        rows: list[tuple[bytes, int, bytes, bytes]] = []
        with self.backend.transaction(self.person.id):
            for item in items:
                stream_name, unit, tag = self._record_tag(item)
                start_ms = to_epoch_ms(item.start)
                stream_id = self._stream(stream_name, item.source, item.device, unit, False)
                plain = item.model_dump_json(exclude={"person"}).encode()
                sealed = self._keys.seal(plain, self._aad(b"record", tag))
                rows.append((stream_id, start_ms // DAY_MS, tag, sealed))
            added = self.backend.record_put(self.person.id, rows) if rows else 0
            self.log_event("write", records=len(rows), added=added)
        return WriteCounts(added=added, duplicates=len(rows) - added)

    def read_records(
        self,
        name: str,
        *,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Records:
        """Records of a non-numeric metric code, or of events named ``event:<kind>``."""
        lo_ms = _ms(since, _FAR_PAST_DAY * DAY_MS)
        hi_ms = _ms(until, _FAR_FUTURE_DAY * DAY_MS)
        candidates = [s for s in self.streams() if not s.numeric and s.metric == name]
        chosen, grants = self._allowed(candidates, Purpose(purpose), recipient)
        out: list[Observation | Event] = []
        inputs = []
        for stream in chosen:
            found = []
            for tag, sealed in self.backend.record_get(
                self.person.id, stream.id, lo_ms // DAY_MS, (hi_ms - 1) // DAY_MS
            ):
                plain = self._keys.open(sealed, self._aad(b"record", tag))
                item = _record_adapter.validate_json(plain)
                if lo_ms <= to_epoch_ms(item.start) < hi_ms:
                    found.append(item)
            starts = [to_epoch_ms(r.start) for r in found]
            inputs.append(
                InputRef(
                    metric=name,
                    source=stream.source,
                    first_ms=min(starts) if starts else None,
                    last_ms=max(starts) if starts else None,
                    count=len(found),
                )
            )
            out.extend(found)
        lineage = Lineage(
            purpose=Purpose(purpose).value, recipient=recipient, grants=grants, inputs=tuple(inputs)
        )
        self.log_event(
            "read",
            lineage.purpose,
            metric=name,
            count=len(out),
            grants=grants,
            recipient=recipient,
            withheld=len(candidates) - len(chosen),
        )
        return Records(sorted(out, key=lambda r: r.start), lineage)

    # -- documents: an outside system's own records, kept whole --------------------------
    # Nightscout's treatments, device status and profiles are read back field for field by
    # the apps that sent them. They are sealed rows of the records table under a collection
    # id that is no stream (``streams()`` never lists it), dated by their own time, replaced
    # whole when the same id comes again.
    def _collection_id(self, collection: str) -> bytes:
        return self._keys.tag(b"documents|" + collection.encode())

    def _document_tag(self, collection: str, doc_id: str) -> bytes:
        return self._keys.tag(b"document|" + collection.encode() + b"|" + doc_id.encode())

    def opaque_id(self, text: str) -> str:
        """24 hex digits that stand for ``text`` in this vault and say nothing about it."""
        return self._keys.tag(b"opaque|" + text.encode()).hex()[:24]

    def _open_document(self, tag: bytes, sealed: bytes) -> Document:
        raw = json.loads(self._keys.open(sealed, self._aad(b"document", tag)))
        return Document(id=raw["id"], ts_ms=int(raw["ts_ms"]), doc=raw["doc"])

    def _stored_document(self, collection: str, doc_id: str) -> Document | None:
        tag = self._document_tag(collection, doc_id)
        found = self.backend.record_by_tag(self.person.id, tag)
        if found is None or found[0] != self._collection_id(collection):
            return None
        return self._open_document(tag, found[2])

    def put_documents(self, collection: str, docs: Sequence[Document]) -> list[Document | None]:
        """Store documents, each replacing the one with its id; return what each replaced
        (None where it is new). One transaction holding the person's lock."""
        collection_id = self._collection_id(collection)
        with self.backend.transaction(self.person.id):
            previous = [self._stored_document(collection, d.id) for d in docs]
            rows = []
            for d in docs:
                tag = self._document_tag(collection, d.id)
                plain = json.dumps({"id": d.id, "ts_ms": d.ts_ms, "doc": d.doc}).encode()
                sealed = self._keys.seal(plain, self._aad(b"document", tag))
                rows.append((collection_id, d.ts_ms // DAY_MS, tag, sealed))
            self.backend.record_upsert(self.person.id, rows)
            self.log_event(
                "write",
                what=collection,
                documents=len(rows),
                replaced=sum(p is not None for p in previous),
            )
        return previous

    def delete_document(self, collection: str, doc_id: str) -> Document | None:
        """Remove one document; return it (None when there was none)."""
        with self.backend.transaction(self.person.id):
            found = self._stored_document(collection, doc_id)
            if found is not None:
                self.backend.record_delete(self.person.id, [self._document_tag(collection, doc_id)])
                self.log_event("delete", what=collection, documents=1)
        return found

    def _documents_allowed(
        self, collection: str, source: str, purpose: Purpose, recipient: str | None
    ) -> tuple[bool, tuple[str, ...]]:
        """Beyond self_access, only an ``all`` grant or one for their source covers documents
        (they are no metric of the vocabulary, so no metric or domain grant names them)."""
        if purpose is Purpose.SELF_ACCESS:
            return True, ()
        allowing = self.consents().allowing(
            collection, source, purpose, recipient, datetime.now(UTC)
        )
        return bool(allowing), tuple(sorted(g.id for g in allowing))

    def documents(
        self,
        collection: str,
        *,
        source: str,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int | None = None,
        where: Callable[[Document], bool] | None = None,
    ) -> Documents:
        """Documents of a collection (sent by ``source``) with since <= time < until, newest
        first: at most ``limit`` of those ``where`` accepts, read for a purpose."""
        purpose = Purpose(purpose)
        allowed, grants = self._documents_allowed(collection, source, purpose, recipient)
        lo_ms = _ms(since, _FAR_PAST_DAY * DAY_MS)
        hi_ms = _ms(until, _FAR_FUTURE_DAY * DAY_MS)
        collection_id = self._collection_id(collection)
        span = self.backend.record_day_span(self.person.id, collection_id) if allowed else None
        out: list[Document] = []
        if span is not None:
            first = max(span[0], lo_ms // DAY_MS)
            day = min(span[1], (hi_ms - 1) // DAY_MS)
            width = 1
            while day >= first and (limit is None or len(out) < limit):
                start = max(first, day - width + 1)
                found = [
                    self._open_document(tag, sealed)
                    for tag, sealed in self.backend.record_get(
                        self.person.id, collection_id, start, day
                    )
                ]
                found.sort(key=lambda d: (d.ts_ms, d.id), reverse=True)
                for d in found:
                    if lo_ms <= d.ts_ms < hi_ms and (where is None or where(d)):
                        out.append(d)
                        if limit is not None and len(out) >= limit:
                            break
                day, width = start - 1, min(width * 2, 64)
        lineage = Lineage(
            purpose=purpose.value,
            recipient=recipient,
            grants=grants,
            inputs=(
                InputRef(
                    metric=collection,
                    source=source,
                    first_ms=min((d.ts_ms for d in out), default=None),
                    last_ms=max((d.ts_ms for d in out), default=None),
                    count=len(out),
                ),
            )
            if allowed
            else (),
        )
        self.log_event(
            "read",
            purpose.value,
            metric=collection,
            count=len(out),
            grants=grants,
            recipient=recipient,
            withheld=0 if allowed else 1,
        )
        return Documents(out, lineage)

    # -- quarantine ------------------------------------------------------------
    def write_quarantine(self, items: Sequence[Quarantined]) -> int:
        rows: list[tuple[bytes, int, bytes]] = []
        for item in items:
            plain = item.model_dump_json().encode()
            tag = self._keys.tag(
                b"quarantine|"
                + item.observation.model_dump_json(exclude={"provenance", "person"}).encode()
            )
            start_ms = to_epoch_ms(item.observation.start)
            rows.append((tag, start_ms // DAY_MS, self._keys.seal(plain, self._aad(b"quar", tag))))
        if not rows:
            return 0
        with self.backend.transaction(self.person.id):
            added = self.backend.quarantine_put(self.person.id, rows)
            self.log_event("quarantine", count=len(rows), added=added)
        return added

    def quarantined(self, *, purpose: Purpose) -> list[Quarantined]:
        """Values kept aside; only the person's own view sees them."""
        if Purpose(purpose) is not Purpose.SELF_ACCESS:
            return []
        self.log_event("read", Purpose.SELF_ACCESS.value, what="quarantine")
        return [
            Quarantined.model_validate_json(self._keys.open(sealed, self._aad(b"quar", tag)))
            for tag, sealed in self.backend.quarantine_get(self.person.id)
        ]

    # -- profile: facts about the person that are not measurements -------------
    def profile(self) -> dict[str, Any]:
        """Birth date, sex, postcode and the like, as the person gave them."""
        raw = self.get_state("profile")
        return {} if raw is None else dict(json.loads(raw))

    def set_profile(self, **facts: Any) -> None:
        """Store profile answers, each checked by the profile schema first
        (:mod:`lifetwin.core.profile`): one it refuses stores nothing and raises a
        ``ProfileError`` with one sentence."""
        from lifetwin.core.profile import parse_facts

        checked = parse_facts(facts)
        with self.backend.transaction(self.person.id):
            merged = {**self.profile(), **checked}
            self.put_state("profile", json.dumps(merged, default=str).encode())
            self.log_event("write", what="profile", fields=sorted(facts))

    # -- rectification -----------------------------------------------------------
    def corrections(self) -> list[Correction]:
        raw = self.get_state("corrections")
        return [] if raw is None else [Correction.model_validate(c) for c in json.loads(raw)]

    def _corrected_times(self, stream_id: bytes) -> set[int]:
        raw = self.get_state("corrections")
        if raw is None:
            return set()
        return {c["start_ms"] for c in json.loads(raw) if c["stream"] == stream_id.hex()}

    def rectify(
        self,
        metric_code: str,
        start: datetime,
        *,
        corrected: float | None,
        reason: str,
        source: str | None = None,
    ) -> Correction:
        """Mark a stored value wrong: remove it, or replace it with ``corrected``.

        The original value and the reason are kept (``corrections()``); the wrong value
        is no longer read by anything, and re-importing the file does not bring it back.
        """
        m = metric(metric_code)
        at_ms = to_epoch_ms(start)
        day = at_ms // DAY_MS
        with self.backend.transaction(self.person.id):
            for stream in self.streams():
                if not stream.numeric or stream.metric != m.code:
                    continue
                if source is not None and stream.source != source:
                    continue
                rows = self.backend.block_get(self.person.id, stream.id, day, day)
                if not rows:
                    continue
                block = self._open_block(stream.id, day, rows[0][1])
                hits = np.flatnonzero(block.ts_ms == at_ms)
                if not len(hits):
                    continue
                i = int(hits[0])
                original = float(block.value[i])
                if corrected is None:
                    block = block.take(np.flatnonzero(block.ts_ms != at_ms))
                else:
                    block.value = block.value.copy()
                    block.quality = block.quality.copy()
                    block.value[i] = corrected
                    block.quality[i] |= int(Quality.CORRECTED)
                aad = self._aad(b"block", stream.id, str(day).encode())
                if len(block):
                    self.backend.block_put(
                        self.person.id, stream.id, [(day, self._keys.seal(encode(block), aad))]
                    )
                else:
                    self.backend.block_delete(self.person.id, stream.id, day, day)
                correction = Correction(
                    metric=m.code,
                    source=stream.source,
                    stream=stream.id.hex(),
                    start_ms=at_ms,
                    original=original,
                    corrected=corrected,
                    reason=reason,
                    at=datetime.now(UTC),
                )
                listed = [c.model_dump(mode="json") for c in self.corrections()]
                self.put_state(
                    "corrections",
                    json.dumps([*listed, correction.model_dump(mode="json")]).encode(),
                )
                self.log_event(
                    "rectify", Purpose.SELF_ACCESS.value, metric=m.code, removed=corrected is None
                )
                return correction
        raise PersonError(
            f"{self.person.name} has no {m.code} value at {start.isoformat()} to rectify."
        )

    # -- small sealed state, and derived outputs with their lineage -------------------
    def _state_tag(self, name: str) -> bytes:
        return self._keys.tag(b"state|" + name.encode())

    def put_state(self, name: str, plain: bytes) -> None:
        """Store a small sealed value of this person under a name (a change to one person:
        run read-modify-write of it inside ``transaction()``)."""
        tag = self._state_tag(name)
        self.backend.state_put(
            self.person.id, tag, self._keys.seal(plain, self._aad(b"state", tag))
        )

    def get_state(self, name: str) -> bytes | None:
        tag = self._state_tag(name)
        sealed = self.backend.state_get(self.person.id, tag)
        return None if sealed is None else self._keys.open(sealed, self._aad(b"state", tag))

    def transaction(self) -> Any:
        """A transaction holding this person's write lock (for read-modify-write)."""
        return self.backend.transaction(self.person.id)

    def _derived_tag(self, name: str) -> bytes:
        return self._keys.tag(b"derived|" + name.encode())

    def save_derived(self, derived: Derived) -> None:
        tag = self._derived_tag(derived.name)
        sealed = self._keys.seal(derived.model_dump_json().encode(), self._aad(b"derived", tag))
        with self.backend.transaction(self.person.id):
            self.backend.derived_put(self.person.id, tag, sealed)
            self.log_event(
                "derive",
                derived.lineage.purpose,
                name=derived.name,
                kind=derived.kind,
                grants=derived.lineage.grants,
            )

    def derived(self, name: str) -> Derived | None:
        tag = self._derived_tag(name)
        sealed = self.backend.derived_get(self.person.id, tag)
        if sealed is None:
            return None
        return Derived.model_validate_json(self._keys.open(sealed, self._aad(b"derived", tag)))

    def derived_all(self) -> list[Derived]:
        found = [
            Derived.model_validate_json(self._keys.open(sealed, self._aad(b"derived", tag)))
            for tag, sealed in self.backend.derived_rows(self.person.id)
        ]
        return sorted(found, key=lambda d: d.name)

    def delete_derived(self, name: str) -> None:
        self.backend.derived_delete(self.person.id, self._derived_tag(name))

    # -- webhooks: where the person's alerts are delivered --------------------------------
    def webhooks(self) -> list[dict[str, Any]]:
        return [
            json.loads(self._keys.open(sealed, self._aad(b"webhook", hook_id.encode())))
            for hook_id, sealed in self.backend.webhook_rows(self.person.id)
        ]

    def add_webhook(self, hook: dict[str, Any]) -> None:
        hook_id = str(hook["id"])
        sealed = self._keys.seal(json.dumps(hook).encode(), self._aad(b"webhook", hook_id.encode()))
        with self.backend.transaction(self.person.id):
            self.backend.webhook_put(self.person.id, hook_id, sealed)
            self.log_event("webhook", Purpose.SELF_ACCESS.value, hook=hook_id, url=hook["url"])

    def remove_webhook(self, hook_id: str) -> bool:
        with self.backend.transaction(self.person.id):
            removed = self.backend.webhook_delete(self.person.id, hook_id)
            if removed:
                self.log_event("webhook", Purpose.SELF_ACCESS.value, hook=hook_id, removed=True)
        return removed

    def audit_entries(self) -> list[Any]:
        """This person's audit entries with their details opened."""
        return self.audit.entries(self.person.id, self._keys)

    def raw_blocks(self, stream_id: bytes, day_lo: int, day_hi: int) -> list[tuple[int, Columns]]:
        """Decoded blocks of one stream by UTC day (for maintenance jobs, not for reading:
        no purpose is checked here)."""
        return [
            (day, self._open_block(stream_id, day, sealed))
            for day, sealed in self.backend.block_get(self.person.id, stream_id, day_lo, day_hi)
        ]

    # -- small state: import cursors ------------------------------------------
    def get_cursor(self, name: str) -> str | None:
        """The position a connector reached last time for ``name`` (None: start over)."""
        tag = self._keys.tag(b"cursor|" + name.encode())
        sealed = self.backend.state_get(self.person.id, tag)
        return (
            None if sealed is None else self._keys.open(sealed, self._aad(b"cursor", tag)).decode()
        )

    def set_cursor(self, name: str, value: str) -> None:
        tag = self._keys.tag(b"cursor|" + name.encode())
        sealed = self._keys.seal(value.encode(), self._aad(b"cursor", tag))
        with self.backend.transaction(self.person.id):
            self.backend.state_put(self.person.id, tag, sealed)

    # -- imports ---------------------------------------------------------------
    def begin_import(self, file: str, digest: str, fmt: str) -> ImportRecord:
        record = ImportRecord(0, file, digest, fmt, datetime.now(UTC).isoformat())
        tag = self._keys.tag(b"import|" + digest.encode())
        with self.backend.transaction(self.person.id):
            record.id = self.backend.import_put(self.person.id, tag, self._seal_import(record))
        return record

    def finish_import(self, record: ImportRecord) -> None:
        record.finished = datetime.now(UTC).isoformat()
        with self.backend.transaction(self.person.id):
            self.backend.import_update(self.person.id, record.id, self._seal_import(record))

    def _seal_import(self, record: ImportRecord) -> bytes:
        plain = json.dumps({k: v for k, v in record.__dict__.items() if k != "id"}).encode()
        return self._keys.seal(plain, self._aad(b"import"))

    def imports(self) -> list[ImportRecord]:
        out = []
        for import_id, _tag, sealed in self.backend.import_rows(self.person.id):
            raw = json.loads(self._keys.open(sealed, self._aad(b"import")))
            out.append(ImportRecord(id=import_id, **raw))
        return out

    # -- a cheap sign that stored rows changed (for models that learn incrementally) -------
    def sealed_digest(self, stream: StreamInfo, day_lo: int, day_hi: int) -> int:
        """A 128-bit digest of a stream's stored rows on UTC days ``day_lo..day_hi``, as
        sealed: the sum of one hash per row, so digests of adjacent day ranges add up.

        Every write seals a row anew (a fresh nonce), so an insert, a change, a
        rectification or a deletion on those days changes the digest, while an import
        that brings nothing new rewrites no row. Nothing is opened: no value is read, so
        no purpose is asked (the caller checks the stream is visible to its purpose)."""
        import hashlib

        if stream.numeric:
            rows = [
                str(day).encode() + b"|" + sealed
                for day, sealed in self.backend.block_get(self.person.id, stream.id, day_lo, day_hi)
            ]
        else:
            rows = [
                tag + b"|" + sealed
                for tag, sealed in self.backend.record_get(
                    self.person.id, stream.id, day_lo, day_hi
                )
            ]
        total = 0
        for row in rows:
            digest = hashlib.blake2b(stream.id + b"|" + row, digest_size=16).digest()
            total += int.from_bytes(digest, "big")
        return total % (1 << 128)


def _tz(offset_min: int) -> Any:
    from datetime import timedelta, timezone

    return timezone(timedelta(minutes=offset_min)) if offset_min else UTC
