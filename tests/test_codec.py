"""The columnar block codec: exact round trips, compact output, and merge rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lifetwin.store.codec import CodecError, Columns, decode, encode, merge


def _columns(ts: np.ndarray, values: np.ndarray) -> Columns:
    n = len(ts)
    z = np.zeros(n, dtype=np.int64)
    return Columns(
        ts.astype(np.int64),
        z.copy(),
        values.astype(np.float64),
        z.copy() + 60,
        z.copy(),
        z.copy() + 3,
        np.arange(n, dtype=np.int64),
    )


ints = hnp.arrays(np.int64, st.integers(0, 300), elements=st.integers(-(2**62), 2**62))
floats = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(ints, st.data())
@settings(max_examples=200)
def test_any_block_round_trips_exactly(ts: np.ndarray, data: st.DataObject) -> None:
    values = data.draw(hnp.arrays(np.float64, len(ts), elements=floats))
    c = _columns(np.sort(ts), values)
    d = decode(encode(c))
    for name in ("ts_ms", "dur_ms", "tz_min", "quality", "import_id", "record"):
        assert np.array_equal(getattr(c, name), getattr(d, name)), name
    assert np.array_equal(c.value, d.value)
    assert np.array_equal(np.signbit(c.value), np.signbit(d.value))


def test_a_day_of_minute_heart_rate_takes_under_one_byte_a_value() -> None:
    rng = np.random.default_rng(3)
    ts = 1_700_000_000_000 + np.arange(1440, dtype=np.int64) * 60_000
    hr = np.clip(70 + np.cumsum(rng.integers(-3, 4, 1440)), 40, 190).astype(float)
    assert len(encode(_columns(ts, hr))) < 1440


def test_damaged_blocks_are_refused() -> None:
    blob = encode(_columns(np.arange(10), np.arange(10.0)))
    with pytest.raises(CodecError):
        decode(b"XXXX" + blob[4:])
    with pytest.raises(CodecError):
        decode(blob[:-5])


@given(
    st.lists(st.integers(0, 50), unique=True),
    st.lists(st.tuples(st.integers(0, 50), st.integers(0, 3))),
)
def test_merge_is_a_keyed_union_where_the_newer_value_wins(
    old_keys: list[int], new_rows: list[tuple[int, int]]
) -> None:
    old = _columns(np.array(sorted(old_keys), dtype=np.int64), np.zeros(len(old_keys)))
    new = _columns(
        np.array([k for k, _ in new_rows], dtype=np.int64),
        np.array([float(v) for _, v in new_rows]),
    )
    merged, counts = merge(old, new)
    expected: dict[int, float] = dict.fromkeys(old_keys, 0.0)
    for key, value in new_rows:
        expected[key] = float(value)
    assert merged.ts_ms.tolist() == sorted(expected)
    assert merged.value.tolist() == [expected[k] for k in sorted(expected)]
    assert counts.added == len(expected) - len(old_keys)
    assert counts.added + counts.duplicates + counts.changed == len(new_rows)
