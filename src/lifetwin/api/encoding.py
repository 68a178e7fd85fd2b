"""A reply's body and its ETag, made once (a cached answer is encoded once, not per request).

orjson writes NaN and infinities as null, so the body is always valid JSON."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import BaseModel


@dataclass(frozen=True)
class Encoded:
    body: bytes
    etag: str


def encode(payload: Any) -> Encoded:
    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    body = orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS)
    return Encoded(body, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')
