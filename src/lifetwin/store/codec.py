"""Columnar encoding of a block of numeric observations (pure numpy + zstd).

A block holds one stream's observations of one UTC day as parallel columns.
Integer columns are delta-coded (timestamps and record numbers twice, so a
regular series becomes zeros), values are scaled to integers when a power of
ten makes them exact, each column is narrowed to the smallest integer type and
byte-shuffled, and the whole block is compressed with zstd. Minute heart rate
comes out well under one byte per observation.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt
import zstandard

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

_MAGIC = b"LTB1"
_INT_DTYPES: tuple[type[np.signedinteger[Any]], ...] = (np.int8, np.int16, np.int32, np.int64)
_ZSTD_LEVEL = 3
# One (de)compressor per thread: python-zstandard's are not thread-safe, and a shared one
# crashed the service process (a segfault in its C backend) under concurrent reads.
_zstd = threading.local()


def _compressor() -> zstandard.ZstdCompressor:
    found: zstandard.ZstdCompressor | None = getattr(_zstd, "compressor", None)
    if found is None:
        found = _zstd.compressor = zstandard.ZstdCompressor(level=_ZSTD_LEVEL)
    return found


def _decompressor() -> zstandard.ZstdDecompressor:
    found: zstandard.ZstdDecompressor | None = getattr(_zstd, "decompressor", None)
    if found is None:
        found = _zstd.decompressor = zstandard.ZstdDecompressor()
    return found


class CodecError(ValueError):
    """A block that does not decode (damaged or of an unknown format)."""


@dataclass
class Columns:
    """Parallel arrays of one stream's numeric observations."""

    ts_ms: I64  # start, milliseconds since the epoch, UTC
    dur_ms: I64  # end - start; 0 for an instant
    value: F64  # in the metric's canonical unit
    tz_min: I64  # the local offset from UTC at the start, in minutes
    quality: I64  # lifetwin.core.model.Quality bits
    import_id: I64  # which import brought it (provenance: file)
    record: I64  # where in that file (provenance: line or element index)

    def __len__(self) -> int:
        return int(self.ts_ms.shape[0])

    @classmethod
    def empty(cls) -> Columns:
        z = np.zeros(0, dtype=np.int64)
        return cls(z, z, np.zeros(0, dtype=np.float64), z, z, z, z)

    def take(self, index: npt.NDArray[np.intp] | slice) -> Columns:
        return Columns(*(getattr(self, f.name)[index] for f in fields(self)))

    @classmethod
    def concat(cls, parts: list[Columns]) -> Columns:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(cls)))


# Delta order per integer column: twice for columns that grow steadily.
_INT_ORDER = {"ts_ms": 2, "dur_ms": 1, "tz_min": 1, "quality": 1, "import_id": 1, "record": 2}


def _delta(values: I64, order: int) -> I64:
    out = values
    for _ in range(order):
        out = np.diff(out, prepend=np.int64(0))
    return out


def _undelta(values: I64, order: int) -> I64:
    out = values
    for _ in range(order):
        out = np.cumsum(out, dtype=np.int64)
    return out


def _narrow(values: I64) -> tuple[int, bytes]:
    if values.size == 0:
        return 0, b""
    low, high = int(values.min()), int(values.max())
    for code, dtype in enumerate(_INT_DTYPES):
        info = np.iinfo(dtype)
        if info.min <= low and high <= info.max:
            return code, _shuffle(values.astype(dtype))
    raise AssertionError("int64 always fits")


def _shuffle(array: npt.NDArray[np.generic]) -> bytes:
    size = array.dtype.itemsize
    if size == 1:
        return array.tobytes()
    return array.view(np.uint8).reshape(-1, size).T.tobytes()


def _unshuffle(raw: bytes, dtype: type[np.generic], count: int) -> npt.NDArray[np.generic]:
    size = np.dtype(dtype).itemsize
    flat = np.frombuffer(raw, dtype=np.uint8)
    if size == 1:
        return flat.view(dtype)
    return flat.reshape(size, count).T.copy().view(dtype).reshape(count)


def _decimal_scale(values: F64) -> int | None:
    """The smallest k (0-9) for which values * 10**k are exact integers, if any."""
    if values.size == 0:
        return 0
    if np.any((values == 0) & np.signbit(values)):
        return None  # -0.0 would come back as 0.0
    for k in range(10):
        scale = 10.0**k
        scaled = np.round(values * scale)
        if np.abs(scaled).max() >= 2**52:
            return None
        if np.array_equal(scaled / scale, values):
            return k
    return None


def encode(columns: Columns) -> bytes:
    """Encode a block; ``decode(encode(c))`` gives back exactly ``c``."""
    n = len(columns)
    parts: list[bytes] = []
    for name, order in _INT_ORDER.items():
        code, raw = _narrow(_delta(getattr(columns, name), order))
        parts.append(struct.pack("<BI", code, len(raw)) + raw)
    scale = _decimal_scale(columns.value)
    if scale is None:
        raw = _shuffle(columns.value.astype(np.float64))
        parts.append(struct.pack("<bBI", -1, 3, len(raw)) + raw)
    else:
        as_int = np.round(columns.value * 10.0**scale).astype(np.int64)
        code, raw = _narrow(_delta(as_int, 1))
        parts.append(struct.pack("<bBI", scale, code, len(raw)) + raw)
    body = _compressor().compress(b"".join(parts))
    return _MAGIC + struct.pack("<I", n) + body


def decode(blob: bytes) -> Columns:
    if blob[:4] != _MAGIC or len(blob) < 8:
        raise CodecError("not a LifeTwin block")
    (n,) = struct.unpack_from("<I", blob, 4)
    try:
        body = _decompressor().decompress(blob[8:])
    except zstandard.ZstdError as exc:
        raise CodecError(f"block does not decompress: {exc}") from None
    pos = 0
    ints: dict[str, I64] = {}
    try:
        for name, order in _INT_ORDER.items():
            code, length = struct.unpack_from("<BI", body, pos)
            pos += 5
            raw = body[pos : pos + length]
            pos += length
            narrow = _unshuffle(raw, _INT_DTYPES[code], n) if n else np.zeros(0, np.int64)
            ints[name] = _undelta(narrow.astype(np.int64), order)
        scale, code, length = struct.unpack_from("<bBI", body, pos)
        pos += 6
        raw = body[pos : pos + length]
        if scale < 0:
            value = _unshuffle(raw, np.float64, n).astype(np.float64)
        else:
            steps = (
                _unshuffle(raw, _INT_DTYPES[code], n).astype(np.int64)
                if n
                else np.zeros(0, np.int64)
            )
            value = _undelta(steps, 1).astype(np.float64) / 10.0**scale
    except (struct.error, ValueError, IndexError) as exc:
        raise CodecError(f"block is damaged: {exc}") from None
    return Columns(value=value, **ints)


@dataclass(frozen=True)
class MergeCounts:
    added: int
    duplicates: int  # same time, same value: nothing changed
    changed: int  # same time, a different value: the newer one is kept


def merge(old: Columns, new: Columns) -> tuple[Columns, MergeCounts]:
    """Union of two blocks keyed by (start, duration); the newer row wins a tie.

    ``old`` must already be free of duplicate keys (every stored block is).
    """
    both = Columns.concat([old, new])
    n_old = len(old)
    position = np.arange(len(both))
    order = np.lexsort((position, both.dur_ms, both.ts_ms))
    ts, dur = both.ts_ms[order], both.dur_ms[order]
    same_as_next = np.zeros(len(order), dtype=bool)
    same_as_next[:-1] = (ts[1:] == ts[:-1]) & (dur[1:] == dur[:-1])
    keep = order[~same_as_next]
    merged = both.take(keep)
    added = len(merged) - n_old
    duplicates = len(new) - added
    changed = 0
    if n_old and duplicates:
        is_first = np.ones(len(order), dtype=bool)
        is_first[1:] = ~same_as_next[:-1]
        group = np.cumsum(is_first) - 1
        old_value = np.full(int(group[-1]) + 1, np.nan)
        from_old = order < n_old
        old_value[group[from_old]] = both.value[order[from_old]]
        last_group = group[~same_as_next]
        replaced = ~np.isnan(old_value[last_group]) & (keep >= n_old)
        changed = int(np.count_nonzero(replaced & (merged.value != old_value[last_group])))
    return merged, MergeCounts(added=added, duplicates=duplicates - changed, changed=changed)
