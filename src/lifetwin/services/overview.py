"""Summaries of what a vault holds, for `lifetwin show` and `lifetwin doctor`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lifetwin.core.model import to_epoch_ms
from lifetwin.privacy.consent import Purpose
from lifetwin.store.vault import StreamInfo, Vault

SELF = Purpose.SELF_ACCESS


@dataclass(frozen=True)
class StreamSummary:
    stream: StreamInfo
    count: int
    first: datetime | None
    last: datetime | None


def summarize(vault: Vault) -> list[StreamSummary]:
    """Count, first and last time of every stream in a vault."""
    out: list[StreamSummary] = []
    for stream in vault.streams():
        if stream.numeric:
            series = vault.read_series(stream.metric, source=stream.source, purpose=SELF)
            keep = series.stream_index == series.streams.index(stream)
            ts = series.ts_ms[keep]
            count = int(ts.shape[0])
            first = _time(int(ts[0])) if count else None
            last = _time(int(ts[-1])) if count else None
        else:
            records = [
                r
                for r in vault.read_records(stream.metric, purpose=SELF)
                if r.source == stream.source
            ]
            count = len(records)
            first = records[0].start if records else None
            last = records[-1].start if records else None
        out.append(StreamSummary(stream, count, first, last))
    return out


def _time(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def freshness_days(summary: StreamSummary, now: datetime) -> float | None:
    if summary.last is None:
        return None
    return (to_epoch_ms(now) - to_epoch_ms(summary.last)) / 86_400_000
