"""A model's state as bytes: a JSON header and named float/int arrays, exactly.

Deterministic (the same state, the same bytes) and safe to load (no pickle).

>>> blob = pack({"seen": 3}, {"w": np.array([0.1, 2.0, np.nan])})
>>> meta, arrays = unpack(blob)
>>> meta["seen"], arrays["w"][:2].tolist(), bool(np.isnan(arrays["w"][2]))
(3, [0.1, 2.0], True)
>>> pack({"seen": 3}, {"w": np.array([0.1, 2.0, np.nan])}) == blob
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

MAGIC = b"LTSTATE1"
_KINDS = {"f8": np.float64, "i8": np.int64}


def pack(meta: Mapping[str, Any], arrays: Mapping[str, npt.NDArray[Any]]) -> bytes:
    """A JSON-able header and arrays (float64 or int64) as one blob."""
    index = []
    parts = []
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        kind = "i8" if array.dtype.kind in "iub" else "f8"
        data = array.astype(_KINDS[kind]).tobytes()
        index.append({"name": name, "kind": kind, "shape": list(array.shape), "size": len(data)})
        parts.append(data)
    header = json.dumps({"meta": meta, "arrays": index}, sort_keys=True).encode()
    return MAGIC + len(header).to_bytes(8, "big") + header + b"".join(parts)


def unpack(blob: bytes) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    """The header and arrays :func:`pack` made (ValueError for anything else)."""
    if not blob.startswith(MAGIC):
        raise ValueError("not a model state")
    at = len(MAGIC)
    size = int.from_bytes(blob[at : at + 8], "big")
    header = json.loads(blob[at + 8 : at + 8 + size])
    at += 8 + size
    arrays: dict[str, npt.NDArray[Any]] = {}
    for entry in header["arrays"]:
        data = blob[at : at + entry["size"]]
        at += entry["size"]
        arrays[entry["name"]] = (
            np.frombuffer(data, dtype=_KINDS[entry["kind"]]).reshape(entry["shape"]).copy()
        )
    return dict(header["meta"]), arrays
