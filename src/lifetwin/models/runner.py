"""Keeps one person's model up to date: learns only what is new, refits when the past changed.

:func:`update` is what a capability calls (after an ingest, or when asked for a forecast):

1. It reads the model's inputs through the consent gate for the model's purpose. A model
   whose required inputs exist but none may be read for its purpose refuses with
   :class:`~lifetwin.models.contract.PurposeNotGrantedError` (and its saved state, learned
   from data it may no longer read, is deleted).
2. It loads the model's saved state (a derived result ``model:NAME[:KEY]`` in the
   person's vault, sealed under the person's key, with the lineage of everything it was
   learned from — so revoking a grant it used deletes it, as for every derived result).
3. It decides whether the saved state can be continued. It cannot — and the model is
   refit from the whole history — when there is none, when the spec's digest (the spec
   and the model's hyper-parameters) changed, when the set of streams the purpose may read
   changed (a grant given or withdrawn, a new source), or when **the data's past changed**.
   That last check is cheap and exact:

   * the state keeps a digest of the stored rows, *as sealed*, of every input stream on
     the UTC days before the newest data's day (:meth:`Vault.sealed_digest`: one hash per
     row, no decryption; every write seals a row anew, so an insert, a correction, a
     rectification or a deletion on those days changes it, while re-importing the same
     file rewrites nothing);
   * on an update only the last ``context + settle`` of history before that day and
     everything after are read and turned into examples; the examples that were learned
     from that stretch are made again and compared (by digest) with the ones learned
     then. Anything else that changed there (a meal logged late, a time-zone change that
     moves the time of day of every example) shows up as a different example.

4. It feeds the model only the examples newer than the last one it learned (the cursor),
   saves the new state, and learns the pending examples (whose outcome is not final yet)
   on a copy, for the forecast only.

The stored rows of the days the settled region grows over are hashed before and after the
read; when a write came in between, the region does not grow this time (so the digest
always describes rows the model saw). :func:`refit` does the same from scratch (the old
path, for comparison).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, cast

import numpy as np

from lifetwin.core.vocabulary import metric
from lifetwin.models.contract import (
    DAY_MS,
    JSON,
    MINUTE_MS,
    Examples,
    InputData,
    PersonalModel,
    PurposeNotGrantedError,
    Window,
    X,
    Y,
)
from lifetwin.privacy.consent import Purpose
from lifetwin.privacy.lineage import Derived, InputRef, Lineage
from lifetwin.store.vault import Records, Series, StreamInfo, Vault

FAR_PAST_DAY = -(10**6)
_DIGEST_MOD = 1 << 128


@dataclass
class ModelRun(Generic[X, Y]):
    """One run of a person's model: the model (with pending examples learned on a copy),
    the examples of what was read, and what the run did."""

    model: PersonalModel[X, Y]
    examples: Examples[X, Y]
    refit: bool
    reason: str  # why it refit ("" when it continued the saved state)
    learned: int  # examples learned for good in this run
    pending: int  # examples learned provisionally (their outcome is not final)
    seen: int  # examples in the saved state
    lineage: Lineage  # everything the saved state was learned from
    state_name: str


@dataclass
class _Saved:
    digest: str
    streams: list[str]
    settled_day: int  # stored rows before this UTC day are covered by ``sealed``
    sealed: int
    next_from_ms: int
    last_ms: int | None  # the time of the last example learned
    compare_from_ms: int
    examples: str  # digest of the learned examples in [compare_from_ms, last_ms]
    cursor: dict[str, JSON]
    seen: int
    state: bytes
    lineage: Lineage


def state_name(model: PersonalModel[Any, Any], key: str = "") -> str:
    """The name of a model's saved state in a person's vault."""
    return f"model:{model.name}" + (f":{key}" if key else "")


def update(
    vault: Vault,
    template: PersonalModel[X, Y],
    *,
    key: str = "",
    now: datetime | None = None,
    save: bool = True,
) -> ModelRun[X, Y]:
    """Bring a person's model up to date and return it (see the module's docstring).

    ``template``: an untrained model with the hyper-parameters to use; ``key`` tells
    apart several states of one model for a person (one per metric, say)."""
    return _run(vault, template, key, now, save, force=False)


def refit(
    vault: Vault,
    template: PersonalModel[X, Y],
    *,
    key: str = "",
    now: datetime | None = None,
    save: bool = True,
) -> ModelRun[X, Y]:
    """Fit a person's model from the whole history, whatever was saved."""
    return _run(vault, template, key, now, save, force=True)


def forget(vault: Vault, template: PersonalModel[Any, Any], key: str = "") -> None:
    """Delete a person's saved model state."""
    vault.delete_derived(state_name(template, key))


def _run(
    vault: Vault,
    template: PersonalModel[X, Y],
    key: str,
    now: datetime | None,
    save: bool,
    force: bool,
) -> ModelRun[X, Y]:
    spec = template.spec()
    purpose = Purpose(spec.purpose)
    name = state_name(template, key)
    digest = spec.digest(template.params())
    now_ms = int((now or datetime.now(UTC)).timestamp() * 1000)
    step_ms = spec.step_min * MINUTE_MS
    span_ms = (spec.context_min + spec.settle_min) * MINUTE_MS
    saved = None if force else _load(vault, name)
    reason = "asked to refit" if force else ""
    today = now_ms // DAY_MS
    while True:
        mine = [s for s in vault.streams() if s.metric in spec.inputs]
        visible = [s for s in vault.visible_streams(purpose) if s.metric in spec.inputs]
        required = [s for s in mine if s.metric in spec.required]
        if required and not any(s.metric in spec.required for s in visible):
            vault.delete_derived(name)
            raise PurposeNotGrantedError(
                f"The {template.name} model may not read {', '.join(spec.required)} for "
                f"{purpose.value}: no grant of {vault.person.name} allows it."
            )
        ids = sorted(s.id.hex() for s in visible)
        sealed_old = 0
        if saved is not None:
            if saved.digest != digest:
                reason, saved = "the model's spec or settings changed", None
            elif saved.streams != ids:
                reason, saved = "the streams it may read changed", None
            else:
                sealed_old = _sealed(vault, visible, FAR_PAST_DAY, saved.settled_day - 1)
                if sealed_old != saved.sealed:
                    reason = f"stored data before {_when(saved.settled_day * DAY_MS)} changed"
                    saved, sealed_old = None, 0
        elif not reason:
            reason = "no saved state"
        # The rows the settled region may grow over, before the read: if they are the same
        # after it, the read saw them as they are (no write came in between).
        grow_from = FAR_PAST_DAY if saved is None else saved.settled_day
        before = _sealed(vault, visible, grow_from, today)
        read_from = None if saved is None else saved.next_from_ms
        data = _read(vault, spec.inputs, purpose, read_from)
        newest = _newest(data, spec.required)
        settled_day = grow_from if newest is None else min(newest, now_ms) // DAY_MS
        settled_day = min(max(settled_day, grow_from), today + 1)
        grown = _sealed(vault, visible, grow_from, settled_day - 1)
        if (grown + _sealed(vault, visible, settled_day, today)) % _DIGEST_MOD != before:
            settled_day, grown = grow_from, 0  # a write came in: settle nothing new this time
        sealed_new = (sealed_old + grown) % _DIGEST_MOD
        next_from = (settled_day * DAY_MS - span_ms) // step_ms * step_ms
        if read_from is not None:
            next_from = max(next_from, read_from)
        elif settled_day == FAR_PAST_DAY:
            next_from = FAR_PAST_DAY * DAY_MS
        data.window = Window(read_from, next_from)
        examples = template.featurize(data, None if saved is None else saved.cursor)
        ts = examples.ts_ms
        if saved is not None and saved.last_ms is not None:
            again = [i for i, t in enumerate(ts) if saved.compare_from_ms <= t <= saved.last_ms]
            if _examples_digest(examples, again) != saved.examples:
                reason = f"data since {_when(saved.compare_from_ms)} that it learned from changed"
                saved = None
                continue  # read everything again and refit
        break

    if saved is None:
        model: PersonalModel[X, Y] = template.clone()
        last_ms: int | None = None
        seen = 0
        lineage = data.lineage
    else:
        model = type(template).from_state(saved.state)
        last_ms, seen = saved.last_ms, saved.seen
        lineage = _merge_lineage(saved.lineage, data)
    first_new = 0
    if last_ms is not None:
        first_new = next((i for i in range(examples.settled) if ts[i] > last_ms), examples.settled)
    learned = examples.settled - first_new
    if learned:
        model.learn_many(
            examples.xs[first_new : examples.settled], examples.ys[first_new : examples.settled]
        )
        last_ms = ts[examples.settled - 1]
    seen += learned
    compare_from = settled_day * DAY_MS - spec.settle_min * MINUTE_MS
    kept = [i for i in range(examples.settled) if compare_from <= ts[i]]
    state = model.to_state()
    unchanged = (
        saved is not None
        and not learned
        and saved.settled_day == settled_day
        and saved.cursor == examples.cursor
    )
    if save and not seen:
        vault.delete_derived(name)  # nothing left to learn from (the data was withdrawn)
    elif save and not unchanged:
        vault.save_derived(
            Derived(
                name=name,
                kind="model",
                lineage=lineage,
                payload={
                    "model": template.name,
                    "digest": digest,
                    "streams": ids,
                    "settled_day": settled_day,
                    "sealed": f"{sealed_new:032x}",
                    "next_from_ms": next_from,
                    "last_ms": last_ms,
                    "compare_from_ms": compare_from,
                    "examples": _examples_digest(examples, kept),
                    "cursor": examples.cursor,
                    "seen": seen,
                    "state": base64.b64encode(state).decode(),
                },
            )
        )
    pending = len(examples) - examples.settled
    if pending:
        model = type(template).from_state(state)
        model.learn_many(examples.xs[examples.settled :], examples.ys[examples.settled :])
    return ModelRun(
        model=model,
        examples=examples,
        refit=saved is None,
        reason=reason if saved is None else "",
        learned=learned,
        pending=pending,
        seen=seen,
        lineage=lineage,
        state_name=name,
    )


def _when(ms: int) -> str:
    if ms <= FAR_PAST_DAY * DAY_MS // 2:
        return "the start"
    return f"{datetime.fromtimestamp(ms / 1000, UTC):%Y-%m-%d %H:%M} UTC"


def _load(vault: Vault, name: str) -> _Saved | None:
    stored = vault.derived(name)
    if stored is None:
        return None
    p = stored.payload
    try:
        return _Saved(
            digest=str(p["digest"]),
            streams=[str(s) for s in p["streams"]],
            settled_day=int(p["settled_day"]),
            sealed=int(p["sealed"], 16),
            next_from_ms=int(p["next_from_ms"]),
            last_ms=None if p["last_ms"] is None else int(p["last_ms"]),
            compare_from_ms=int(p["compare_from_ms"]),
            examples=str(p["examples"]),
            cursor=cast(dict[str, JSON], p["cursor"]),
            seen=int(p["seen"]),
            state=base64.b64decode(p["state"]),
            lineage=stored.lineage,
        )
    except (KeyError, TypeError, ValueError):
        return None  # an older layout: refit


def _sealed(vault: Vault, streams: Sequence[StreamInfo], day_lo: int, day_hi: int) -> int:
    if day_hi < day_lo:
        return 0
    return sum(vault.sealed_digest(s, day_lo, day_hi) for s in streams) % _DIGEST_MOD


def _is_records(code: str) -> bool:
    return code.startswith("event:") or not metric(code).is_numeric


def _read(
    vault: Vault, inputs: Sequence[str], purpose: Purpose, read_from_ms: int | None
) -> InputData:
    since = None if read_from_ms is None else datetime.fromtimestamp(read_from_ms / 1000, UTC)
    series: dict[str, Series] = {}
    records: dict[str, Records] = {}
    lineage: Lineage | None = None
    for code in inputs:
        read: Series | Records
        if _is_records(code):
            read = records[code] = vault.read_records(code, purpose=purpose, since=since)
        else:
            read = series[code] = vault.read_series(code, purpose=purpose, since=since)
        lineage = read.lineage if lineage is None else lineage.merge(read.lineage)
    assert lineage is not None  # a spec names at least one input
    return InputData(series, records, Window(read_from_ms, 0), lineage)


def _newest(data: InputData, required: Sequence[str]) -> int | None:
    found: list[int] = []
    for code in required:
        if code in data.series and len(data.series[code]):
            found.append(int(data.series[code].ts_ms[-1]))
        if code in data.records and len(data.records[code]):
            found.append(int(data.records[code][-1].start.timestamp() * 1000))
    return max(found) if found else None


def _feed(h: Any, value: object) -> None:
    """Hash a value of an example (numbers, arrays, mappings, sequences, None) exactly."""
    if value is None:
        h.update(b"N")
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        if array.dtype.kind == "f":
            array = np.where(np.isnan(array), np.nan, array)  # one NaN pattern
        h.update(b"A" + str(array.dtype).encode() + str(array.shape).encode() + array.tobytes())
    elif isinstance(value, bool | int):
        h.update(b"I" + str(int(value)).encode())
    elif isinstance(value, float):
        h.update(b"F" + (b"nan" if value != value else value.hex().encode()))
    elif isinstance(value, str):
        h.update(b"S" + value.encode() + b"\x00")
    elif isinstance(value, Mapping):
        h.update(b"M")
        for k in sorted(value, key=str):
            _feed(h, k)
            _feed(h, value[k])
    elif isinstance(value, Sequence):
        h.update(b"L" + str(len(value)).encode())
        for item in value:
            _feed(h, item)
    else:
        raise TypeError(f"An example holds a {type(value).__name__}, which cannot be compared.")


def _examples_digest(examples: Examples[Any, Any], indices: Sequence[int]) -> str:
    h = hashlib.blake2b(digest_size=16)
    _feed(h, np.asarray([examples.ts_ms[i] for i in indices], dtype=np.int64))
    for column in (examples.xs, examples.ys):
        items = [column[i] for i in indices]
        _feed(h, _as_table(items) if items else None)
    return h.hexdigest()


def _as_table(items: list[Any]) -> Any:
    """Equal-shaped arrays, or mappings with the same keys of numbers, as one array (one
    hash for all); anything else as it is."""
    first = items[0]
    if isinstance(first, np.ndarray) and all(
        isinstance(v, np.ndarray) and v.shape == first.shape and v.dtype == first.dtype
        for v in items
    ):
        return np.stack(items)
    if isinstance(first, Mapping):
        keys = list(first)
        if all(isinstance(v, Mapping) and list(v) == keys for v in items):
            try:
                table = np.array([[float(v[k]) for k in keys] for v in items])
            except (TypeError, ValueError):
                return items
            return (keys, table)
    return items


def _merge_lineage(old: Lineage, data: InputData) -> Lineage:
    """The lineage of a state learned from ``old``'s data and then from ``data``: per
    stream the span of everything read, and how many values that is (what was read
    again is counted once)."""
    new: dict[tuple[str, str], list[int]] = {}
    for code, read in data.series.items():
        for i, stream in enumerate(read.streams):
            ts = read.ts_ms[read.stream_index == i].tolist()
            new.setdefault((code, stream.source), []).extend(ts)
    for code, items in data.records.items():
        for item in items:
            new.setdefault((code, item.source), []).append(int(item.start.timestamp() * 1000))
    inputs: dict[tuple[str, str], InputRef] = {}
    for ref in old.inputs:
        k = (ref.metric, ref.source)
        ts = new.pop(k, [])
        later = [t for t in ts if ref.last_ms is None or t > ref.last_ms]
        known = [t for t in (ref.first_ms, ref.last_ms, *ts) if t is not None]
        inputs[k] = InputRef(
            metric=ref.metric,
            source=ref.source,
            first_ms=min(known) if known else None,
            last_ms=max(known) if known else None,
            count=ref.count + len(later),
        )
    for (code, source), ts in new.items():
        inputs[(code, source)] = InputRef(
            metric=code,
            source=source,
            first_ms=min(ts) if ts else None,
            last_ms=max(ts) if ts else None,
            count=len(ts),
        )
    return Lineage(
        purpose=old.purpose,
        recipient=old.recipient,
        grants=tuple(sorted(set(old.grants) | set(data.lineage.grants))),
        inputs=tuple(inputs.values()),
    )
