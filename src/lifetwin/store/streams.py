"""A person's streams: one per metric (or event kind), source, device and unit.

A stream's descriptor is sealed; its id is a keyed tag of what it names, so the
backend sees neither. Listing streams reads names only, never a value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lifetwin.store.context import PersonContext


@dataclass(frozen=True)
class StreamInfo:
    """One stream of a person's data: a metric (or event kind) from one source."""

    id: bytes
    metric: str  # a metric code, or "event:<kind>" for events
    source: str
    device: str | None
    unit: str
    numeric: bool


class Streams:
    """The person's stream descriptors, read once and kept until :meth:`reload`."""

    def __init__(self, ctx: PersonContext) -> None:
        self._ctx = ctx
        self._streams: dict[bytes, StreamInfo] | None = None

    def _load(self) -> dict[bytes, StreamInfo]:
        if self._streams is None:
            ctx = self._ctx
            streams: dict[bytes, StreamInfo] = {}
            for stream_id, sealed in ctx.backend.stream_rows(ctx.person.id):
                raw = json.loads(ctx.keys.open(sealed, b"stream|" + ctx.pid + stream_id))
                streams[stream_id] = StreamInfo(id=stream_id, **raw)
            self._streams = streams
        return self._streams

    def reload(self) -> None:
        self._streams = None

    def all(self) -> list[StreamInfo]:
        return sorted(self._load().values(), key=lambda s: (s.metric, s.source))

    def days(self, stream: StreamInfo) -> tuple[int, int] | None:
        ctx = self._ctx
        if stream.numeric:
            return ctx.backend.block_day_span(ctx.person.id, stream.id)
        return ctx.backend.record_day_span(ctx.person.id, stream.id)

    def last_days(self) -> dict[bytes, int]:
        return dict(self._ctx.backend.stream_last_days(self._ctx.person.id))

    def ensure(
        self, metric_code: str, source: str, device: str | None, unit: str, numeric: bool
    ) -> bytes:
        """The id of this stream, written first when it is new (inside the caller's
        transaction)."""
        ctx = self._ctx
        key = "\x1f".join((metric_code, source, device or "", unit)).encode()
        stream_id = ctx.keys.tag(b"stream|" + key)
        streams = self._load()
        if stream_id not in streams:
            info = StreamInfo(stream_id, metric_code, source, device, unit, numeric)
            descriptor = {k: v for k, v in info.__dict__.items() if k != "id"}
            aad = b"stream|" + ctx.pid + stream_id
            sealed = ctx.keys.seal(json.dumps(descriptor).encode(), aad)
            ctx.backend.stream_put(ctx.person.id, stream_id, sealed)
            streams[stream_id] = info
        return stream_id

    def sealed_digest(self, stream: StreamInfo, day_lo: int, day_hi: int) -> int:
        """A 128-bit digest of a stream's stored rows on UTC days ``day_lo..day_hi``, as
        sealed: the sum of one hash per row, so digests of adjacent day ranges add up.

        Every write seals a row anew (a fresh nonce), so an insert, a change, a
        rectification or a deletion on those days changes the digest, while an import
        that brings nothing new rewrites no row. Nothing is opened: no value is read, so
        no purpose is asked (the caller checks the stream is visible to its purpose)."""
        import hashlib

        backend, person_id = self._ctx.backend, self._ctx.person.id
        if stream.numeric:
            rows = [
                str(day).encode() + b"|" + sealed
                for day, sealed in backend.block_get(person_id, stream.id, day_lo, day_hi)
            ]
        else:
            rows = [
                tag + b"|" + sealed
                for tag, sealed in backend.record_get(person_id, stream.id, day_lo, day_hi)
            ]
        total = 0
        for row in rows:
            digest = hashlib.blake2b(stream.id + b"|" + row, digest_size=16).digest()
            total += int.from_bytes(digest, "big")
        return total % (1 << 128)
