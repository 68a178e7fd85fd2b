"""The column-by-column check of ingest batches accepts only what the schema model accepts,
with the same values; everything else goes to the model, which names the problem."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lifetwin.api import ingest
from lifetwin.api.security import ApiError

NOW = datetime.now(UTC)


def _by_model(doc: Any) -> ingest.Batch | None:
    body = json.dumps(doc).encode()
    try:
        if isinstance(doc, list):
            return ingest.Batch.of(ingest._ARRAY.validate_json(body))
        return ingest.Batch.of(ingest._BATCH.validate_json(body).observations)
    except ValidationError:
        return None


def _same(a: ingest.Batch, b: ingest.Batch) -> None:
    assert list(a.metric) == list(b.metric)
    assert list(a.unit) == list(b.unit)
    assert list(a.source) == list(b.source)
    np.testing.assert_array_equal(a.start_ms, b.start_ms)
    np.testing.assert_array_equal(a.dur_ms, b.dur_ms)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.tz_min, b.tz_min)


_iso = st.datetimes(
    min_value=datetime(1899, 12, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.isoformat().replace("+00:00", "Z"))
_offset_iso = st.tuples(
    st.datetimes(min_value=datetime(1901, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(-24 * 60, 24 * 60),
).map(
    lambda p: (
        p[0].isoformat() + f"{'+' if p[1] >= 0 else '-'}{abs(p[1]) // 60:02d}:{abs(p[1]) % 60:02d}"
    )
)
_time = st.one_of(
    st.integers(-(2**64), 2**64),
    st.integers(-(10**12), 2 * 10**12),
    st.floats(allow_nan=False),
    _iso,
    _offset_iso,
    st.text(max_size=30),
    st.none(),
    st.booleans(),
)
_value = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**70), 2**70),
    st.booleans(),
    st.text(max_size=5),
    st.none(),
)
_item = st.fixed_dictionaries(
    {"metric": st.sampled_from(["heart_rate", "steps", "", "x" * 81, "glucose"])},
    optional={
        "value": _value,
        "time": _time,
        "start": _time,
        "unit": st.sampled_from(["bpm", "mg/dL", "count", None, "", "u" * 41, 3]),
        "source": st.sampled_from(["api", " watch ", " ", "", "s" * 101, 1]),
        "tz_min": st.one_of(st.integers(-1000, 1000), st.booleans(), st.floats()),
        "end": _time,
        "extra": st.integers(),
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_item, min_size=0, max_size=6), st.booleans())
def test_what_the_columns_accept_the_model_accepts_the_same(items: list[Any], bare: bool) -> None:
    doc: Any = items if bare else {"observations": items}
    try:
        loaded = orjson.loads(json.dumps(doc))
    except orjson.JSONDecodeError:
        return  # not JSON (an infinity): the model names the problem
    fast = ingest._columns(loaded)
    if fast is None:
        return  # the model decides
    model = _by_model(doc)
    assert model is not None, f"the columns accepted what the model refuses: {doc}"
    _same(fast, model)


def test_the_common_shape_takes_the_column_path_with_the_models_values() -> None:
    first = NOW - timedelta(days=1)
    items = [
        {
            "metric": "heart_rate",
            "value": 60 + i % 90,
            "unit": "bpm",
            "time": (first + timedelta(minutes=i)).isoformat(),
            "source": "bench",
        }
        for i in range(500)
    ] + [{"metric": "steps", "value": 12.5, "start": int(first.timestamp()), "tz_min": 60}]
    doc = {"observations": items}
    fast = ingest._columns(orjson.loads(json.dumps(doc)))
    assert fast is not None
    model = _by_model(doc)
    assert model is not None
    _same(fast, model)
    chunks = ingest.to_chunks(fast, "api")
    assert sorted((c.metric, len(c.start_ms)) for c in chunks) == [
        ("heart_rate", 500),
        ("steps", 1),
    ]


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ({"metric": "heart_rate", "value": True, "time": 1_700_000_000_000}, "must be a number"),
        ({"metric": "heart_rate", "value": 60, "time": "2026-11-29T10:00:00"}, "no UTC offset"),
        ({"metric": "heart_rate", "value": 60, "time": 1_700_000_000_000, "x": 1}, "'x'"),
        ({"metric": "heart_rate", "value": 60, "time": -(10**15)}, "before 1900"),
    ],
)
def test_a_batch_the_columns_refuse_is_named_by_the_model(item: dict[str, Any], words: str) -> None:
    good = {"metric": "heart_rate", "value": 60, "time": 1_700_000_000_000}
    body = orjson.dumps({"observations": [good, good, item]})
    with pytest.raises(ApiError) as refused:
        ingest.parse_json(body)
    assert "Observation 3" in str(refused.value)
    assert words in str(refused.value)


_stamp = st.tuples(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2199, 12, 30)),
    st.one_of(st.just("Z"), st.integers(-(23 * 60 + 59), 23 * 60 + 59)),
    st.sampled_from(["seconds", "milliseconds", "microseconds", "auto"]),
).map(
    lambda p: (
        p[0].isoformat(timespec=p[2])
        + (
            "Z"
            if p[1] == "Z"
            else f"{'+' if p[1] >= 0 else '-'}{abs(p[1]) // 60:02d}:{abs(p[1]) % 60:02d}"
        )
    )
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_stamp, min_size=1, max_size=20), st.lists(st.text(max_size=32), max_size=2))
def test_times_read_all_at_once_equal_each_read_alone(stamps: list[str], other: list[str]) -> None:
    """The vectorised reading of ISO times gives what datetime.fromisoformat gives, or
    declines (and each time is then read alone)."""
    from lifetwin.core.model import to_epoch_ms

    fast = ingest._iso_ms(stamps)
    assert fast is not None, "plain ISO times between 1900 and 2200 are read all at once"
    assert fast.tolist() == [to_epoch_ms(datetime.fromisoformat(s)) for s in stamps]
    mixed = ingest._iso_ms(stamps + other)
    if mixed is not None:
        expected = [to_epoch_ms(datetime.fromisoformat(s)) for s in stamps + other]
        assert mixed.tolist() == expected
