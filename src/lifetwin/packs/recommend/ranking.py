"""One ranking, pure: score a catalog with the person's policy, then apply the guardrails.

No storage here: the capability reads the twin and the logs, calls :func:`rank_slate`,
and writes what was shown. Benchmarks and property tests call it directly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import numpy.typing as npt

from lifetwin.packs.recommend.catalog import CatalogIndex
from lifetwin.packs.recommend.guardrails import (
    RecommendSettings,
    Shown,
    choose_slate,
    recent_ids,
    shown_today,
    stop_reason,
    withheld_reason,
)
from lifetwin.packs.recommend.policy import LinUCB

F64 = npt.NDArray[np.float64]


@dataclass
class Ranked:
    """The slate (indices into the catalog, best first) and what went into it."""

    chosen: list[int]
    score: F64
    mean: F64
    bonus: F64
    status: str | None = None  # why nothing was shown, when nothing was
    withheld: Counter[str] = field(default_factory=Counter)
    promoted_context: F64 | None = None


def rank_slate(
    policy: LinUCB,
    context: F64,
    index: CatalogIndex,
    settings: RecommendSettings,
    now: datetime,
    *,
    shown: Sequence[Shown] = (),
    blocked: frozenset[str] | set[str] = frozenset(),
    snoozed: Mapping[str, datetime] | None = None,
    promo_context: F64 | None = None,
) -> Ranked:
    """Score every item, withhold what the rules forbid, pick the slate.

    Promotional items are scored on ``promo_context`` (health and finance features
    zeroed unless granted, see ``guardrails.promotion_context``); without one they are
    withheld.
    """
    items = index.items
    n = len(items)
    empty = np.zeros(n)
    stop = stop_reason(settings, now, shown)
    if stop is not None:
        return Ranked([], empty, empty, empty, status=stop)
    score, mean, bonus = policy.scores(context, index.matrix)
    promotional = index.promotional
    if promotional.any() and promo_context is not None:
        p_score, p_mean, p_bonus = policy.scores(promo_context, index.matrix[promotional])
        score[promotional], mean[promotional], bonus[promotional] = p_score, p_mean, p_bonus
    withheld: Counter[str] = Counter()
    eligible = index.serving(settings.goals)
    withheld["serves none of your goals"] = int(n - eligible.sum())
    if promo_context is None and promotional.any():
        promo_out = eligible & promotional
        withheld["a promotion, and no context may be used for it"] = int(promo_out.sum())
        eligible &= ~promotional
    today = shown_today(shown, now)
    snoozes = snoozed or {}
    # Only the few items with feedback or shown today can fail the remaining rules.
    for item_id in set(blocked) | set(snoozes) | set(today):
        i = index.position.get(item_id)
        if i is None or not eligible[i]:
            continue
        reason = withheld_reason(items[i], settings, now, today, blocked, snoozes)
        if reason is not None:
            eligible[i] = False
            withheld[reason] += 1
    room = settings.max_per_day - sum(today.values())
    k = min(settings.slate_size, room)
    recent = recent_ids(shown, now)
    pool = _pool(score, eligible, index, settings.goals, k + len(recent) + 2)
    chosen_in_pool = choose_slate(
        [items[i] for i in pool],
        score[pool],
        np.ones(len(pool), dtype=bool),
        k=k,
        declared=settings.goals,
        recent=recent,
    )
    chosen = [int(pool[j]) for j in chosen_in_pool]
    status = None if chosen else "no item in the catalog may be shown now"
    return Ranked(chosen, score, mean, bonus, status, +withheld, promo_context)


def _pool(
    score: F64,
    eligible: npt.NDArray[np.bool_],
    index: CatalogIndex,
    goals: Sequence[str],
    depth: int,
) -> npt.NDArray[np.intp]:
    """The best ``depth`` eligible items for each declared goal (the slate comes from them)."""
    picked: list[npt.NDArray[np.intp]] = []
    for goal in goals:
        candidates = np.flatnonzero(eligible & index.serving([goal]))
        if len(candidates) > depth:
            top = np.argpartition(-score[candidates], depth - 1)[:depth]
            candidates = candidates[top]
        picked.append(candidates)
    if not picked:
        return np.zeros(0, dtype=np.intp)
    pool = np.unique(np.concatenate(picked))
    return pool[np.argsort(-score[pool], kind="stable")]
