"""Sealed records: categorical and text observations and events, and documents an
outside system reads back whole.

Records are one sealed row each, dated by their UTC day, under their stream; their
keyed tag is made of what makes them the same record, so a second write of one is a
duplicate. Documents (Nightscout's treatments, device status and profiles) are rows of
the same table under a collection id that is no stream (``streams()`` never lists it),
dated by their own time, replaced whole when the same id comes again. Both are read
for a purpose, through the consent gate, inside their read methods.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter

from lifetwin.core.model import Event, Observation, to_epoch_ms
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import InputRef, Lineage
from lifetwin.store.consents import Consents
from lifetwin.store.context import DAY_MS, FAR_FUTURE_DAY, FAR_PAST_DAY, PersonContext, ms_or
from lifetwin.store.series import WriteCounts
from lifetwin.store.streams import Streams

_record_adapter: TypeAdapter[Observation | Event] = TypeAdapter(Observation | Event)


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


class RecordStore:
    """The person's categorical/text observations and events."""

    def __init__(self, ctx: PersonContext, streams: Streams, consents: Consents) -> None:
        self._ctx = ctx
        self._streams = streams
        self._consents = consents

    def _tag(self, item: Observation | Event) -> tuple[str, str, bytes]:
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
        natural += [start_ms, ms_or(item.end, start_ms)]
        return (
            stream_name,
            unit,
            self._ctx.keys.tag(b"record|" + json.dumps(natural, default=str).encode()),
        )

    def record_id(self, item: Observation | Event) -> str:
        return self._tag(item)[2].hex()[:24]

    def delete(self, items: Sequence[Observation | Event]) -> int:
        ctx = self._ctx
        tags = [self._tag(item)[2] for item in items]
        if not tags:
            return 0
        with ctx.transaction():
            removed = ctx.backend.record_delete(ctx.person.id, tags)
            ctx.log_event("delete", records=len(tags), removed=removed)
        return removed

    def write(self, items: Sequence[Observation | Event]) -> WriteCounts:
        ctx = self._ctx
        rows: list[tuple[bytes, int, bytes, bytes]] = []
        with ctx.transaction():
            for item in items:
                stream_name, unit, tag = self._tag(item)
                start_ms = to_epoch_ms(item.start)
                stream_id = self._streams.ensure(stream_name, item.source, item.device, unit, False)
                plain = item.model_dump_json(exclude={"person"}).encode()
                sealed = ctx.keys.seal(plain, ctx.aad(b"record", tag))
                rows.append((stream_id, start_ms // DAY_MS, tag, sealed))
            added = ctx.backend.record_put(ctx.person.id, rows) if rows else 0
            ctx.log_event("write", records=len(rows), added=added)
        return WriteCounts(added=added, duplicates=len(rows) - added)

    def read(
        self,
        name: str,
        *,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Records:
        """Records of ``name`` from the streams ``purpose`` may use now."""
        ctx = self._ctx
        lo_ms = ms_or(since, FAR_PAST_DAY * DAY_MS)
        hi_ms = ms_or(until, FAR_FUTURE_DAY * DAY_MS)
        candidates = [s for s in self._streams.all() if not s.numeric and s.metric == name]
        chosen, grants = self._consents.allowed(candidates, Purpose(purpose), recipient)
        out: list[Observation | Event] = []
        inputs = []
        for stream in chosen:
            found = []
            for tag, sealed in ctx.backend.record_get(
                ctx.person.id, stream.id, lo_ms // DAY_MS, (hi_ms - 1) // DAY_MS
            ):
                plain = ctx.keys.open(sealed, ctx.aad(b"record", tag))
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
        ctx.log_event(
            "read",
            lineage.purpose,
            metric=name,
            count=len(out),
            grants=grants,
            recipient=recipient,
            withheld=len(candidates) - len(chosen),
        )
        return Records(sorted(out, key=lambda r: r.start), lineage)


class DocumentStore:
    """Documents of outside systems, by collection, each replaced whole by its id."""

    def __init__(self, ctx: PersonContext, consents: Consents) -> None:
        self._ctx = ctx
        self._consents = consents

    def _collection_id(self, collection: str) -> bytes:
        return self._ctx.keys.tag(b"documents|" + collection.encode())

    def _tag(self, collection: str, doc_id: str) -> bytes:
        return self._ctx.keys.tag(b"document|" + collection.encode() + b"|" + doc_id.encode())

    def opaque_id(self, text: str) -> str:
        return self._ctx.keys.tag(b"opaque|" + text.encode()).hex()[:24]

    def _open(self, tag: bytes, sealed: bytes) -> Document:
        raw = json.loads(self._ctx.keys.open(sealed, self._ctx.aad(b"document", tag)))
        return Document(id=raw["id"], ts_ms=int(raw["ts_ms"]), doc=raw["doc"])

    def _stored(self, collection: str, doc_id: str) -> Document | None:
        tag = self._tag(collection, doc_id)
        found = self._ctx.backend.record_by_tag(self._ctx.person.id, tag)
        if found is None or found[0] != self._collection_id(collection):
            return None
        return self._open(tag, found[2])

    def put(self, collection: str, docs: Sequence[Document]) -> list[Document | None]:
        ctx = self._ctx
        collection_id = self._collection_id(collection)
        with ctx.transaction():
            previous = [self._stored(collection, d.id) for d in docs]
            rows = []
            for d in docs:
                tag = self._tag(collection, d.id)
                plain = json.dumps({"id": d.id, "ts_ms": d.ts_ms, "doc": d.doc}).encode()
                sealed = ctx.keys.seal(plain, ctx.aad(b"document", tag))
                rows.append((collection_id, d.ts_ms // DAY_MS, tag, sealed))
            ctx.backend.record_upsert(ctx.person.id, rows)
            ctx.log_event(
                "write",
                what=collection,
                documents=len(rows),
                replaced=sum(p is not None for p in previous),
            )
        return previous

    def delete(self, collection: str, doc_id: str) -> Document | None:
        ctx = self._ctx
        with ctx.transaction():
            found = self._stored(collection, doc_id)
            if found is not None:
                ctx.backend.record_delete(ctx.person.id, [self._tag(collection, doc_id)])
                ctx.log_event("delete", what=collection, documents=1)
        return found

    def read(
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
        """Documents of a collection, newest first, if ``purpose`` may use them now."""
        ctx = self._ctx
        purpose = Purpose(purpose)
        allowed, grants = self._consents.documents_allowed(collection, source, purpose, recipient)
        lo_ms = ms_or(since, FAR_PAST_DAY * DAY_MS)
        hi_ms = ms_or(until, FAR_FUTURE_DAY * DAY_MS)
        collection_id = self._collection_id(collection)
        span = ctx.backend.record_day_span(ctx.person.id, collection_id) if allowed else None
        out: list[Document] = []
        if span is not None:
            first = max(span[0], lo_ms // DAY_MS)
            day = min(span[1], (hi_ms - 1) // DAY_MS)
            width = 1
            while day >= first and (limit is None or len(out) < limit):
                start = max(first, day - width + 1)
                found = [
                    self._open(tag, sealed)
                    for tag, sealed in ctx.backend.record_get(
                        ctx.person.id, collection_id, start, day
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
        ctx.log_event(
            "read",
            purpose.value,
            metric=collection,
            count=len(out),
            grants=grants,
            recipient=recipient,
            withheld=0 if allowed else 1,
        )
        return Documents(out, lineage)
