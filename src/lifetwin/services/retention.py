"""Retention: raw values are kept for a while, then only daily summaries.

``lifetwin maintain`` applies each person's rules: blocks of raw values older than
the rule's limit are replaced by one value per UTC day (the mean, with the day as
its interval) in a stream named ``<source> (daily)``, and the raw blocks are
deleted. Each run is audited.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from pydantic import BaseModel

from lifetwin.core.vocabulary import metric
from lifetwin.store.codec import Columns
from lifetwin.store.vault import DAY_MS, Store, Vault


class RetentionRule(BaseModel):
    metric: str
    keep_raw_days: int


DEFAULT_RULES = (
    RetentionRule(metric="heart_rate", keep_raw_days=730),
    RetentionRule(metric="steps", keep_raw_days=730),
    RetentionRule(metric="glucose", keep_raw_days=1825),
)


def retention_rules(vault: Vault) -> list[RetentionRule]:
    raw = vault.get_state("retention")
    if raw is None:
        return list(DEFAULT_RULES)
    return [RetentionRule.model_validate(r) for r in json.loads(raw)]


def set_retention_rule(vault: Vault, metric_code: str, keep_raw_days: int) -> None:
    code = metric(metric_code).code
    rules = [r for r in retention_rules(vault) if r.metric != code]
    rules.append(RetentionRule(metric=code, keep_raw_days=keep_raw_days))
    with vault.backend.transaction():
        vault.put_state("retention", json.dumps([r.model_dump() for r in rules]).encode())
        vault.log_event("retention_rule", metric=code, keep_raw_days=keep_raw_days)


@dataclass
class MaintainSummary:
    persons: int = 0
    raw_removed: int = 0
    daily_written: int = 0


def maintain(store: Store, now: datetime | None = None) -> MaintainSummary:
    """Apply every person's retention rules."""
    today = (now or datetime.now(UTC)).timestamp() * 1000 // DAY_MS
    summary = MaintainSummary()
    for person in store.persons():
        vault = store.vault(person)
        summary.persons += 1
        for rule in retention_rules(vault):
            cutoff_day = int(today) - rule.keep_raw_days
            for stream in vault.streams():
                if not stream.numeric or stream.metric != rule.metric:
                    continue
                if stream.source.endswith(" (daily)"):
                    continue
                removed, written = _summarize_old(
                    vault,
                    stream.id,
                    stream.metric,
                    stream.source,
                    stream.device,
                    stream.unit,
                    cutoff_day,
                )
                summary.raw_removed += removed
                summary.daily_written += written
    return summary


def _summarize_old(
    vault: Vault,
    stream_id: bytes,
    code: str,
    source: str,
    device: str | None,
    unit: str,
    cutoff_day: int,
) -> tuple[int, int]:
    blocks = vault.raw_blocks(stream_id, -(10**6), cutoff_day - 1)
    if not blocks:
        return 0, 0
    days, means, counts = [], [], 0
    for day, block in blocks:
        days.append(day)
        means.append(float(np.round(block.value.mean(), 6)))
        counts += len(block)
    n = len(days)
    z = np.zeros(n, dtype=np.int64)
    daily = Columns(
        np.array(days, dtype=np.int64) * DAY_MS, z + DAY_MS, np.array(means), z, z, z, z
    )
    with vault.backend.transaction():
        vault.write_columns(code, f"{source} (daily)", device, unit, daily)
        vault.backend.block_delete(vault.person.id, stream_id, -(10**6), cutoff_day - 1)
        vault.log_event(
            "retention", metric=code, raw_removed=counts, daily_written=n, before_day=cutoff_day
        )
    return counts, n
