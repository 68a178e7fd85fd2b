"""Lineage: what a derived output was computed from, under which purpose and grants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class InputRef(BaseModel):
    """One stream that went into an output, and the span of it that was read."""

    model_config = ConfigDict(frozen=True)

    metric: str
    source: str
    first_ms: int | None = None
    last_ms: int | None = None
    count: int = 0


class Lineage(BaseModel):
    model_config = ConfigDict(frozen=True)

    purpose: str
    recipient: str | None = None
    grants: tuple[str, ...] = ()  # the grant ids that allowed the reads
    inputs: tuple[InputRef, ...] = ()
    computed_at: datetime = Field(default_factory=lambda: datetime.now(UTC))

    def merge(self, other: Lineage) -> Lineage:
        """The lineage of an output computed from two reads under the same purpose."""
        return self.model_copy(
            update={
                "grants": tuple(sorted(set(self.grants) | set(other.grants))),
                "inputs": self.inputs + other.inputs,
            }
        )


class Derived(BaseModel):
    """A stored output (a summary, a model, a forecast) with the lineage behind it."""

    name: str
    kind: str
    lineage: Lineage
    payload: dict[str, Any] = Field(default_factory=dict)
