"""The importer: format detection, normalization, deduplication, batching, progress.

Connectors only yield; the importer converts each value to its metric's
canonical unit, quarantines implausible values, and writes in batches, each
batch one transaction. A process killed mid-import keeps every committed
batch, and importing the same file again stores only what is missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from lifetwin.core.egress import Network
from lifetwin.core.errors import ImportFailedError, LifeTwinError
from lifetwin.core.model import (
    Event,
    Observation,
    Problem,
    Provenance,
    Quarantined,
    offset_minutes,
    to_epoch_ms,
)
from lifetwin.core.units import canonical_unit, conversion
from lifetwin.core.validation import (
    normalize,
    plausible_mask,
    range_reason,
    time_reason,
    times_ok,
)
from lifetwin.core.vocabulary import Metric, metric
from lifetwin.sources.base import (
    Connector,
    Cursor,
    Item,
    ProfileFacts,
    ReadOptions,
    SeriesChunk,
    Skipped,
)
from lifetwin.sources.registry import connector as connector_named
from lifetwin.sources.registry import detect
from lifetwin.store.codec import Columns
from lifetwin.store.vault import Person, Store, Vault, WriteCounts

BATCH_SIZE = 50_000
MAX_PROBLEMS_KEPT = 1_000

Progress = Callable[[int], None]


@dataclass
class ImportSummary:
    """What an import did, for the person to read."""

    file: str
    format: str
    read: int = 0  # observations and events the file held
    stored: int = 0  # new ones now in the vault
    duplicates: int = 0  # already there, unchanged
    changed: int = 0  # already there with another value: replaced by the file's
    quarantined: int = 0  # implausible: kept aside with a reason
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS_KEPT
    skipped: dict[str, int] = field(default_factory=dict)  # passed over on purpose, by what
    fatal: str | None = None  # why the import stopped early, if it did
    warnings: list[str] = field(default_factory=list)  # all went well, but look at this

    @property
    def ok(self) -> bool:
        return self.fatal is None and self.problem_count == 0


@dataclass
class _StreamBuffer:
    metric: Metric
    source: str
    device: str | None
    unit: str
    ts_ms: list[int] = field(default_factory=list)
    dur_ms: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)
    tz_min: list[int] = field(default_factory=list)
    quality: list[int] = field(default_factory=list)
    line: list[int] = field(default_factory=list)
    chunks: list[Columns] = field(default_factory=list)  # from SeriesChunks, import_id unset

    def columns(self, import_id: int) -> Columns:
        n = len(self.ts_ms)
        single = Columns(
            ts_ms=np.array(self.ts_ms, dtype=np.int64),
            dur_ms=np.array(self.dur_ms, dtype=np.int64),
            value=np.array(self.value, dtype=np.float64),
            tz_min=np.array(self.tz_min, dtype=np.int64),
            quality=np.array(self.quality, dtype=np.int64),
            import_id=np.full(n, import_id, dtype=np.int64),
            record=np.array(self.line, dtype=np.int64),
        )
        for chunk in self.chunks:
            chunk.import_id = np.full(len(chunk), import_id, dtype=np.int64)
        return Columns.concat([single, *self.chunks])


class _Batch:
    """Everything read since the last commit."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.streams: dict[tuple[str, str, str | None, str], _StreamBuffer] = {}
        self.records: list[Observation | Event] = []
        self.quarantine: list[Quarantined] = []
        self.size = 0

    def flush(self, store: Store, vault: Vault, import_id: int, summary: ImportSummary) -> None:
        if not self.size:
            return
        counts = WriteCounts()
        with store.backend.transaction():
            for buffer in self.streams.values():
                counts.add(
                    vault.write_columns(
                        buffer.metric.code,
                        buffer.source,
                        buffer.device,
                        buffer.unit,
                        buffer.columns(import_id),
                    )
                )
            if self.records:
                counts.add(vault.write_records(self.records))
            summary.quarantined += vault.write_quarantine(self.quarantine) if self.quarantine else 0
        summary.stored += counts.added
        summary.duplicates += counts.duplicates
        summary.changed += counts.changed
        self.clear()


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def choose_connector(path: Path, fmt: str | None, mapping: Mapping[str, Any] | None) -> Connector:
    if fmt:
        return connector_named(fmt)
    if mapping is not None:
        return connector_named("table")
    return detect(path)


def import_file(
    store: Store,
    person: Person,
    path: Path,
    *,
    fmt: str | None = None,
    mapping: Mapping[str, Any] | None = None,
    encoding: str | None = None,
    source: str | None = None,
    timezone: str | None = None,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    label: str | None = None,
) -> ImportSummary:
    """Import one file into a person's vault and say what happened (``label``: the name
    the file had where it came from, when ``path`` is a copy)."""
    if not path.exists():
        raise ImportFailedError(f"{path} does not exist.")
    if not path.is_file():
        raise ImportFailedError(f"{path} is not a file.")
    name = label or path.name
    if _is_empty(path):
        raise ImportFailedError(f"{name}: the file is empty, so there is nothing to import.")
    try:
        chosen = choose_connector(path, fmt, mapping)
    except LifeTwinError as exc:  # say the file's own name, not that of a copy
        raise type(exc)(str(exc).replace(path.name, name)) from None

    def read(opts: ReadOptions) -> Iterable[Item]:
        for item in chosen.read(path, opts):
            if isinstance(item, Problem) and item.file == path.name and name != path.name:
                item = item.model_copy(update={"file": name})
            yield item

    options = ReadOptions(
        mapping=dict(mapping) if mapping else None,
        encoding=encoding,
        source=source,
        timezone=timezone,
    )
    summary = import_items(
        store,
        person,
        read,
        label=name,
        digest=file_digest(path),
        fmt=chosen.name,
        cursor_name=f"{chosen.name}:{source or label or path.name}",
        options=options,
        progress=progress,
        batch_size=batch_size,
    )
    if not summary.read and not summary.fatal and not summary.problem_count:
        summary.warnings.append(
            f"{name} was read as {chosen.description}, but it holds no records of that "
            "kind: nothing was stored."
        )
    return summary


def _is_empty(path: Path) -> bool:
    """No bytes, or only white space (and a byte-order mark)."""
    size = path.stat().st_size
    if size > 4096:
        return False
    return not path.read_bytes().lstrip(b"\xef\xbb\xbf").strip()


def import_items(
    store: Store,
    person: Person,
    read: Callable[[ReadOptions], Iterable[Item]],
    *,
    label: str,
    digest: str,
    fmt: str,
    cursor_name: str,
    options: ReadOptions,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
) -> ImportSummary:
    """Run a connector's items into a vault: what import_file and pulls from servers share."""
    vault = store.vault(person)
    record = vault.begin_import(label, digest, fmt)
    summary = ImportSummary(file=label, format=fmt)
    options = replace(options, cursor=vault.get_cursor(cursor_name))
    cursor: Cursor | None = None
    now = datetime.now(UTC)
    batch = _Batch()
    try:
        for item in read(options):
            if isinstance(item, Problem):
                _problem(summary, item)
                continue
            if isinstance(item, Cursor):
                cursor = item
                continue
            if isinstance(item, ProfileFacts):
                try:
                    vault.set_profile(**item.facts)
                except LifeTwinError as exc:  # an answer the profile schema refuses
                    _problem(summary, Problem(file=label, reason=str(exc).rstrip(".")))
                continue
            if isinstance(item, Skipped):
                key = f"{item.what} ({item.reason})"
                summary.skipped[key] = summary.skipped.get(key, 0) + item.count
                continue
            if isinstance(item, SeriesChunk):
                try:
                    for problem in _add_chunk(batch, item, now):
                        _problem(summary, problem)
                except LifeTwinError as exc:
                    _problem(summary, Problem(file=item.file, reason=str(exc).rstrip(".")))
                    continue
                summary.read += len(item)
            else:
                summary.read += 1
                if isinstance(item, Event):
                    batch.records.append(item)
                else:
                    try:
                        _add_observation(batch, item, now)
                    except LifeTwinError as exc:
                        where = item.provenance
                        _problem(
                            summary,
                            Problem(
                                file=where.file or label,
                                line=where.line,
                                reason=str(exc).rstrip("."),
                            ),
                        )
                        continue
                batch.size += 1
            if batch.size >= batch_size:
                batch.flush(store, vault, record.id, summary)
                if progress is not None:
                    progress(summary.read)
    except LifeTwinError as exc:
        summary.fatal = str(exc)
    except BaseException as exc:
        # Whatever stopped it (a bug, Ctrl-C, the disk): no import is left "unfinished".
        # The batches committed so far stay, and importing the file again completes it.
        record.counts = {**_counts(summary), "failed": 1}
        record.error = f"stopped ({type(exc).__name__}) after {summary.stored:,} new values"
        vault.finish_import(record)
        raise
    batch.flush(store, vault, record.id, summary)
    if cursor is not None and summary.fatal is None:
        vault.set_cursor(cursor_name, cursor.value)
    if progress is not None:
        progress(summary.read)
    record.counts = _counts(summary)
    if summary.fatal:
        record.error = summary.fatal
    vault.finish_import(record)
    return summary


def _counts(summary: ImportSummary) -> dict[str, int]:
    return {
        "read": summary.read,
        "stored": summary.stored,
        "duplicates": summary.duplicates,
        "changed": summary.changed,
        "quarantined": summary.quarantined,
        "problems": summary.problem_count,
        "skipped": sum(summary.skipped.values()),
    }


def _problem(summary: ImportSummary, problem: Problem) -> None:
    summary.problem_count += 1
    if len(summary.problems) < MAX_PROBLEMS_KEPT:
        summary.problems.append(problem)


def _add_observation(batch: _Batch, item: Observation, now: datetime) -> None:
    m = metric(item.metric)
    if not m.is_numeric or isinstance(item.value, str):
        result = normalize(item, now)
        if isinstance(result, Quarantined):
            batch.quarantine.append(result)
        else:
            batch.records.append(result)
        return
    # The hot path for numbers: no model copies, just arithmetic into columns.
    value = conversion(item.unit, m).apply(float(item.value))
    unit = canonical_unit(m, item.unit)
    reason = range_reason(m, value)
    if reason is None:
        reason = time_reason(to_epoch_ms(item.start), to_epoch_ms(now))
    if reason is not None:
        normalized = item.model_copy(update={"metric": m.code, "value": value, "unit": unit})
        batch.quarantine.append(Quarantined(observation=normalized, reason=reason))
        return
    key = (m.code, item.source, item.device, unit)
    buffer = batch.streams.get(key)
    if buffer is None:
        buffer = batch.streams[key] = _StreamBuffer(m, item.source, item.device, unit)
    start_ms = to_epoch_ms(item.start)
    buffer.ts_ms.append(start_ms)
    buffer.dur_ms.append(0 if item.end is None else to_epoch_ms(item.end) - start_ms)
    buffer.value.append(value)
    buffer.tz_min.append(offset_minutes(item.start))
    buffer.quality.append(int(item.quality))
    buffer.line.append(item.provenance.line or 0)


def _add_chunk(batch: _Batch, chunk: SeriesChunk, now: datetime) -> list[Problem]:
    """The vectorized path: convert, check and buffer a whole chunk at once; return the
    problems of values whose time no calendar can hold (they are dropped)."""
    m = metric(chunk.metric)
    if not m.is_numeric:
        raise LifeTwinError(f"{m.code} is not numeric and cannot come as a series chunk")
    values = conversion(chunk.unit, m).apply_array(chunk.value.astype(np.float64))
    unit = canonical_unit(m, chunk.unit)
    now_ms = to_epoch_ms(now)
    good_times = times_ok(chunk.start_ms, now_ms)
    ok = plausible_mask(m, values) & good_times
    # Times a datetime holds (years 1-9999) are kept aside with the reason; others dropped.
    holdable = (chunk.start_ms > -62_135_596_800_000) & (chunk.start_ms < 253_402_300_799_000)
    problems = [
        Problem(
            file=chunk.file,
            line=int(chunk.line[i]) or None,
            reason=str(time_reason(int(chunk.start_ms[i]), now_ms)),
        )
        for i in np.flatnonzero(~holdable).tolist()
    ]
    for i in np.flatnonzero(~ok & holdable).tolist():
        start = datetime.fromtimestamp(int(chunk.start_ms[i]) / 1000, UTC)
        dur = int(chunk.dur_ms[i])
        value = float(values[i])
        reason = time_reason(int(chunk.start_ms[i]), now_ms) or (
            range_reason(m, value) if np.isfinite(value) else f"{m.code} is not a number"
        )
        observation = Observation(
            metric=m.code,
            value=value if np.isfinite(value) else 0.0,
            unit=unit,
            start=start,
            end=start + timedelta(milliseconds=dur) if dur else None,
            source=chunk.source,
            device=chunk.device,
            provenance=Provenance(file=chunk.file, line=int(chunk.line[i]) or None),
        )
        batch.quarantine.append(
            Quarantined(observation=observation, reason=reason or f"{m.code} is implausible")
        )
    keep = np.flatnonzero(ok)
    key = (m.code, chunk.source, chunk.device, unit)
    buffer = batch.streams.get(key)
    if buffer is None:
        buffer = batch.streams[key] = _StreamBuffer(m, chunk.source, chunk.device, unit)
    n = len(keep)
    buffer.chunks.append(
        Columns(
            ts_ms=chunk.start_ms[keep].astype(np.int64),
            dur_ms=chunk.dur_ms[keep].astype(np.int64),
            value=values[keep],
            tz_min=chunk.tz_min[keep].astype(np.int64),
            quality=np.zeros(n, dtype=np.int64),
            import_id=np.zeros(n, dtype=np.int64),
            record=chunk.line[keep].astype(np.int64),
        )
    )
    batch.size += len(chunk)
    return problems


def pull_nightscout_into(
    store: Store,
    person: Person,
    url: str,
    *,
    token: str | None = None,
    source: str | None = None,
    progress: Progress | None = None,
    allow: Sequence[Network] = (),
) -> ImportSummary:
    """Fetch what is new on a Nightscout server since the last pull (the server must be
    on the internet, or in one of the ``allow`` networks)."""
    from lifetwin.core.egress import check_url
    from lifetwin.sources.cgm import pull_nightscout

    base = url.rstrip("/")
    check_url(base, allow)  # refused before anything is recorded
    return import_items(
        store,
        person,
        lambda opts: pull_nightscout(base, token, opts, allow=allow),
        label=base,
        digest=hashlib.sha256(f"{base}|{datetime.now(UTC).isoformat()}".encode()).hexdigest(),
        fmt="nightscout-pull",
        cursor_name=f"nightscout-pull:{base}",
        options=ReadOptions(source=source),
        progress=progress,
    )
