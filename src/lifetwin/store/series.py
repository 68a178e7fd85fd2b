"""Numeric observations: columnar blocks, one per stream and UTC day, each sealed.

Writes merge into the day's block (the same observation written twice is stored
once); a value the person rectified is not brought back by a re-import. Reads name a
purpose and go through the consent gate inside :meth:`SeriesStore.read`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

import numpy as np
import numpy.typing as npt

from lifetwin.core.errors import PersonError, StoreError
from lifetwin.core.model import Observation, Provenance, Quality, to_epoch_ms
from lifetwin.core.vocabulary import Metric, metric
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import InputRef, Lineage
from lifetwin.store.codec import CodecError, Columns, MergeCounts, decode, encode, merge
from lifetwin.store.consents import Consents
from lifetwin.store.context import DAY_MS, FAR_FUTURE_DAY, FAR_PAST_DAY, PersonContext, ms_or
from lifetwin.store.imports import Correction, Corrections, ImportLedger
from lifetwin.store.streams import StreamInfo, Streams


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


@dataclass
class WriteCounts:
    added: int = 0
    duplicates: int = 0
    changed: int = 0

    def add(self, other: MergeCounts | WriteCounts) -> None:
        self.added += other.added
        self.duplicates += other.duplicates
        self.changed += other.changed


def _tz(offset_min: int) -> tzinfo:
    return timezone(timedelta(minutes=offset_min)) if offset_min else UTC


class SeriesStore:
    """The person's numeric blocks: write, read for a purpose, rectify."""

    def __init__(
        self,
        ctx: PersonContext,
        streams: Streams,
        consents: Consents,
        corrections: Corrections,
        imports: ImportLedger,
    ) -> None:
        self._ctx = ctx
        self._streams = streams
        self._consents = consents
        self._corrections = corrections
        self._imports = imports

    def _block_aad(self, stream_id: bytes, day: int) -> bytes:
        return self._ctx.aad(b"block", stream_id, str(day).encode())

    def _open_block(self, stream_id: bytes, day: int, sealed: bytes) -> Columns:
        plain = self._ctx.keys.open(sealed, self._block_aad(stream_id, day))
        try:
            return decode(plain)
        except CodecError as exc:
            raise StoreError(
                f"A stored block of {self._ctx.person.name} is damaged ({exc})."
            ) from None

    def write(
        self, metric_code: str, source: str, device: str | None, unit: str, columns: Columns
    ) -> WriteCounts:
        ctx = self._ctx
        counts = WriteCounts()
        if not len(columns):
            return counts
        with ctx.transaction():
            stream_id = self._streams.ensure(metric_code, source, device, unit, numeric=True)
            corrected = self._corrections.times(stream_id)
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
            existing = dict(ctx.backend.block_get(ctx.person.id, stream_id, first, last))
            rows: list[tuple[int, bytes]] = []
            for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
                day = int(days[lo])
                part = columns.take(slice(lo, hi))
                old = self._open_block(stream_id, day, existing[day]) if day in existing else None
                merged, merge_counts = merge(old if old is not None else Columns.empty(), part)
                counts.add(merge_counts)
                if old is not None and merge_counts.added == 0 and merge_counts.changed == 0:
                    continue
                rows.append((day, ctx.keys.seal(encode(merged), self._block_aad(stream_id, day))))
            if rows:
                ctx.backend.block_put(ctx.person.id, stream_id, rows)
            ctx.log_event(
                "write",
                metric=metric_code,
                source=source,
                added=counts.added,
                changed=counts.changed,
            )
        return counts

    def read(
        self,
        metric_code: str,
        *,
        purpose: Purpose,
        recipient: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        source: str | None = None,
    ) -> Series:
        """Observations of a metric from the streams ``purpose`` may use now."""
        m = metric(metric_code)
        candidates = [
            s
            for s in self._streams.all()
            if s.numeric and s.metric == m.code and (source is None or s.source == source)
        ]
        chosen, grants = self._consents.allowed(candidates, Purpose(purpose), recipient)
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
        self._ctx.log_event(
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
        """The blocks of streams the gate chose (private: only :meth:`read` calls it)."""
        ctx = self._ctx
        lo_ms = ms_or(since, FAR_PAST_DAY * DAY_MS)
        hi_ms = ms_or(until, FAR_FUTURE_DAY * DAY_MS)
        parts: list[Columns] = []
        index: list[npt.NDArray[np.int32]] = []
        for i, stream in enumerate(chosen):
            rows = ctx.backend.block_get(
                ctx.person.id, stream.id, lo_ms // DAY_MS, (hi_ms - 1) // DAY_MS
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

    def raw_blocks(self, stream_id: bytes, day_lo: int, day_hi: int) -> list[tuple[int, Columns]]:
        """Decoded blocks of one stream by UTC day, for maintenance jobs (retention), not
        for reading: no purpose is checked and nothing is logged."""
        ctx = self._ctx
        return [
            (day, self._open_block(stream_id, day, sealed))
            for day, sealed in ctx.backend.block_get(ctx.person.id, stream_id, day_lo, day_hi)
        ]

    def observations(self, series: Series) -> Iterable[Observation]:
        """A series (already read for a purpose) as Observation objects."""
        imports = {record.id: record.file for record in self._imports.all()}
        c = series.columns
        for i in range(len(series)):
            stream = series.streams[int(series.stream_index[i])]
            tz = _tz(int(c.tz_min[i]))
            start = datetime.fromtimestamp(int(c.ts_ms[i]) / 1000, tz)
            dur = int(c.dur_ms[i])
            end = datetime.fromtimestamp((int(c.ts_ms[i]) + dur) / 1000, tz) if dur else None
            line = int(c.record[i])
            yield Observation(
                person=self._ctx.person.id,
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

    def rectify(
        self,
        metric_code: str,
        start: datetime,
        *,
        corrected: float | None,
        reason: str,
        source: str | None,
    ) -> Correction:
        ctx = self._ctx
        m = metric(metric_code)
        at_ms = to_epoch_ms(start)
        day = at_ms // DAY_MS
        with ctx.transaction():
            for stream in self._streams.all():
                if not stream.numeric or stream.metric != m.code:
                    continue
                if source is not None and stream.source != source:
                    continue
                rows = ctx.backend.block_get(ctx.person.id, stream.id, day, day)
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
                if len(block):
                    sealed = ctx.keys.seal(encode(block), self._block_aad(stream.id, day))
                    ctx.backend.block_put(ctx.person.id, stream.id, [(day, sealed)])
                else:
                    ctx.backend.block_delete(ctx.person.id, stream.id, day, day)
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
                self._corrections.add(correction)
                ctx.log_event(
                    "rectify", Purpose.SELF_ACCESS.value, metric=m.code, removed=corrected is None
                )
                return correction
        raise PersonError(
            f"{ctx.person.name} has no {m.code} value at {start.isoformat()} to rectify."
        )
