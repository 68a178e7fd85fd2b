"""The store and its per-person vaults: everything is sealed before it reaches a backend.

A :class:`Store` holds many persons; :meth:`Store.vault` opens one person's
vault with that person's own data key. Numeric observations live in columnar
blocks (one per stream and UTC day); categorical and text observations, events
and quarantined values live as sealed records. Writes are idempotent: the same
observation written twice is stored once.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter

from lifetwin.core.errors import PersonError, StoreError
from lifetwin.core.model import Event, Observation, Provenance, Quality, Quarantined, to_epoch_ms
from lifetwin.core.vocabulary import Metric, metric
from lifetwin.store.backend import SCHEMA_VERSION, Backend
from lifetwin.store.codec import CodecError, Columns, MergeCounts, decode, encode, merge
from lifetwin.store.crypto import KEY_BYTES, KdfParams, MasterKey, PersonKeys, keyed_tag

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

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def ts_ms(self) -> npt.NDArray[np.int64]:
        return self.columns.ts_ms

    @property
    def values(self) -> npt.NDArray[np.float64]:
        return self.columns.value

    def times(self) -> npt.NDArray[np.datetime64]:
        return self.columns.ts_ms.astype("datetime64[ms]")


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


def _ms(moment: datetime | None, default: int) -> int:
    return default if moment is None else to_epoch_ms(moment)


class Store:
    """A LifeTwin store: many persons, each with an encrypted vault."""

    def __init__(self, backend: Backend, master: MasterKey) -> None:
        self.backend = backend
        self._master = master
        wrapped_index = backend.meta_get("index_key")
        if wrapped_index is None:
            raise StoreError("The store is not initialized; run `lifetwin init` first.")
        self._index_key = master.unwrap(wrapped_index)

    # -- opening -------------------------------------------------------------
    @classmethod
    def initialize(cls, backend: Backend, master: MasterKey, kdf: KdfParams | None = None) -> Store:
        """Set up an empty backend for this master key (a passphrase when ``kdf`` is given)."""
        if backend.meta_get("schema_version") is not None:
            raise StoreError(f"A LifeTwin store already exists in {backend.describe()}.")
        with backend.transaction():
            backend.meta_set("schema_version", str(SCHEMA_VERSION).encode())
            backend.meta_set("key_check", master.check_value())
            backend.meta_set("index_key", master.wrap(os.urandom(KEY_BYTES)))
            if kdf is not None:
                backend.meta_set("kdf", kdf.encode())
        return cls(backend, master)

    @staticmethod
    def kdf_params(backend: Backend) -> KdfParams | None:
        """The passphrase parameters of a store, or None when it uses a key file."""
        blob = backend.meta_get("kdf")
        return None if blob is None else KdfParams.decode(blob)

    @classmethod
    def open(cls, backend: Backend, master: MasterKey) -> Store:
        version = backend.meta_get("schema_version")
        if version is None:
            raise StoreError(
                f"There is no LifeTwin store in {backend.describe()}; run `lifetwin init` first."
            )
        if int(version) != SCHEMA_VERSION:
            raise StoreError(
                f"The store has format version {int(version)}; this LifeTwin reads version "
                f"{SCHEMA_VERSION}."
            )
        check = backend.meta_get("key_check")
        assert check is not None
        master.verify(check, passphrase=backend.meta_get("kdf") is not None)
        return cls(backend, master)

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
        with self.backend.transaction():
            added = self.backend.person_insert(
                person.id, self._name_tag(name), self._master.wrap(data_key), sealed
            )
        if not added:
            raise PersonError(f"A person named '{name}' already exists in this store.")
        return person

    def _person_from_row(self, row: tuple[str, bytes, bytes, bytes]) -> Person:
        person_id, _tag, wrapped, sealed = row
        keys = PersonKeys(self._master.unwrap(wrapped))
        profile = json.loads(keys.open(sealed, b"person|" + person_id.encode()))
        return Person(person_id, profile["name"], datetime.fromisoformat(profile["created"]))

    def persons(self) -> list[Person]:
        people = [self._person_from_row(row) for row in self.backend.person_rows()]
        return sorted(people, key=lambda p: (p.name.casefold(), p.id))

    def person(self, name_or_id: str) -> Person:
        """Find a person by name (any case) or by id."""
        row = self.backend.person_by_tag(self._name_tag(name_or_id))
        if row is not None:
            return self._person_from_row(row)
        for row in self.backend.person_rows():
            if row[0] == name_or_id:
                return self._person_from_row(row)
        raise PersonError(
            f"There is no person '{name_or_id}' in this store; `lifetwin person list` shows who is."
        )

    def vault(self, person: Person) -> Vault:
        for row in self.backend.person_rows():
            if row[0] == person.id:
                return Vault(self.backend, person, PersonKeys(self._master.unwrap(row[2])))
        raise PersonError(f"The person '{person.name}' is no longer in this store.")

    def erase(self, person: Person) -> None:
        """Destroy the person's data key and every row of theirs (crypto-shredding)."""
        self.backend.person_delete(person.id)
        self.backend.compact()

    def rotate_master_key(self, new: MasterKey, kdf: KdfParams | None = None) -> None:
        """Re-wrap every data key under a new master key; no data is re-encrypted."""
        with self.backend.transaction():
            for person_id, _tag, wrapped, _sealed in self.backend.person_rows():
                self.backend.person_rewrap(person_id, new.wrap(self._master.unwrap(wrapped)))
            self.backend.meta_set("index_key", new.wrap(self._index_key))
            self.backend.meta_set("key_check", new.check_value())
            if kdf is not None:
                self.backend.meta_set("kdf", kdf.encode())
        self._master = new

    def compact(self) -> None:
        self.backend.compact()


class Vault:
    """One person's data, sealed under that person's own key."""

    def __init__(self, backend: Backend, person: Person, keys: PersonKeys) -> None:
        self.backend = backend
        self.person = person
        self._keys = keys
        self._pid = person.id.encode()
        self._streams: dict[bytes, StreamInfo] | None = None

    # -- streams -------------------------------------------------------------
    def _load_streams(self) -> dict[bytes, StreamInfo]:
        if self._streams is None:
            streams: dict[bytes, StreamInfo] = {}
            for stream_id, sealed in self.backend.stream_rows(self.person.id):
                raw = json.loads(self._keys.open(sealed, b"stream|" + self._pid + stream_id))
                streams[stream_id] = StreamInfo(id=stream_id, **raw)
            self._streams = streams
        return self._streams

    def streams(self) -> list[StreamInfo]:
        return sorted(self._load_streams().values(), key=lambda s: (s.metric, s.source))

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
        with self.backend.transaction():
            stream_id = self._stream(metric_code, source, device, unit, numeric=True)
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
        return counts

    def _open_block(self, stream_id: bytes, day: int, sealed: bytes) -> Columns:
        plain = self._keys.open(sealed, self._aad(b"block", stream_id, str(day).encode()))
        try:
            return decode(plain)
        except CodecError as exc:
            raise StoreError(f"A stored block of {self.person.name} is damaged ({exc}).") from None

    def read_series(
        self,
        metric_code: str,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
    ) -> Series:
        """All numeric observations of a metric with since <= start < until."""
        m = metric(metric_code)
        lo_ms = _ms(since, _FAR_PAST_DAY * DAY_MS)
        hi_ms = _ms(until, _FAR_FUTURE_DAY * DAY_MS)
        chosen = [
            s
            for s in self.streams()
            if s.numeric and s.metric == m.code and (source is None or s.source == source)
        ]
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
        unit = chosen[0].unit if chosen else m.unit
        return Series(m, unit, columns, stream_index, chosen)

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
    def write_records(self, items: Sequence[Observation | Event]) -> WriteCounts:
        rows: list[tuple[bytes, int, bytes, bytes]] = []
        with self.backend.transaction():
            for item in items:
                if isinstance(item, Observation):
                    stream_name, unit = item.metric, item.unit or ""
                    natural: list[Any] = [item.metric, item.source, item.device]
                else:
                    stream_name, unit = f"event:{item.kind.value}", ""
                    natural = [
                        item.kind.value,
                        item.source,
                        item.device,
                        item.title,
                        json.dumps(item.details, sort_keys=True, default=str),
                    ]
                start_ms = to_epoch_ms(item.start)
                natural += [start_ms, _ms(item.end, start_ms)]
                stream_id = self._stream(stream_name, item.source, item.device, unit, False)
                tag = self._keys.tag(b"record|" + json.dumps(natural, default=str).encode())
                plain = item.model_dump_json(exclude={"person"}).encode()
                sealed = self._keys.seal(plain, self._aad(b"record", tag))
                rows.append((stream_id, start_ms // DAY_MS, tag, sealed))
            added = self.backend.record_put(self.person.id, rows) if rows else 0
        return WriteCounts(added=added, duplicates=len(rows) - added)

    def read_records(
        self,
        name: str,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Observation | Event]:
        """Records of a non-numeric metric code, or of events named ``event:<kind>``."""
        lo_ms = _ms(since, _FAR_PAST_DAY * DAY_MS)
        hi_ms = _ms(until, _FAR_FUTURE_DAY * DAY_MS)
        out: list[Observation | Event] = []
        for stream in self.streams():
            if stream.numeric or stream.metric != name:
                continue
            for tag, sealed in self.backend.record_get(
                self.person.id, stream.id, lo_ms // DAY_MS, (hi_ms - 1) // DAY_MS
            ):
                plain = self._keys.open(sealed, self._aad(b"record", tag))
                out.append(_record_adapter.validate_json(plain))
        out = [r for r in out if lo_ms <= to_epoch_ms(r.start) < hi_ms]
        return sorted(out, key=lambda r: r.start)

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
        with self.backend.transaction():
            return self.backend.quarantine_put(self.person.id, rows)

    def quarantined(self) -> list[Quarantined]:
        return [
            Quarantined.model_validate_json(self._keys.open(sealed, self._aad(b"quar", tag)))
            for tag, sealed in self.backend.quarantine_get(self.person.id)
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
        with self.backend.transaction():
            self.backend.state_put(self.person.id, tag, sealed)

    # -- imports ---------------------------------------------------------------
    def begin_import(self, file: str, digest: str, fmt: str) -> ImportRecord:
        record = ImportRecord(0, file, digest, fmt, datetime.now(UTC).isoformat())
        tag = self._keys.tag(b"import|" + digest.encode())
        with self.backend.transaction():
            record.id = self.backend.import_put(self.person.id, tag, self._seal_import(record))
        return record

    def finish_import(self, record: ImportRecord) -> None:
        record.finished = datetime.now(UTC).isoformat()
        with self.backend.transaction():
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


def _tz(offset_min: int) -> Any:
    from datetime import timedelta, timezone

    return timezone(timedelta(minutes=offset_min)) if offset_min else UTC
