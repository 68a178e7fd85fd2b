"""The ethical firewall: rules every recommendation passes, enforced in code.

The rules (each property-tested in tests/test_recommend_guardrails.py):

1. **Only toward declared goals.** An item is shown only if it serves a goal the person
   declared; with no goal declared, nothing is recommended.
2. **No personal prices.** A shown price is the catalog's list price, copied as is; the
   ranking never reads or writes a price (:func:`check_slate` verifies it).
3. **No health or finance data for promotion without a grant.** A provider's promotional
   item is ranked on a context whose health and finance features are zeroed unless the
   person granted that data for recommendations to that provider by name
   (:func:`promotion_context`).
4. **Diversity and novelty floors; a cap on repeats.** A slate covers at least two goals
   when the eligible items do; no goal takes more than ``ceil(k / 2)`` slots then; at
   least one item not shown in the last week when there is one; an item is shown at most
   ``max_per_item_per_day`` times a day and all nudges at most ``max_per_day`` a day.
5. **Quiet hours and a pause switch.** Nothing is shown in the person's quiet hours or
   while recommendations are paused.
6. **Everything shown is logged with why** — the capability writes each shown slate to
   the audit chain (``capability.recommend``).

"Not interested" blocks an item for good (until the person resets it); "not now"
snoozes it for ``snooze_h`` hours.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from lifetwin.packs.recommend.catalog import GOALS, CatalogItem
from lifetwin.packs.recommend.policy import CONTEXT_INDEX, SENSITIVE_FEATURES

F64 = npt.NDArray[np.float64]
NOVELTY_DAYS = 7


class RecommendSettings(BaseModel):
    """What the person decided about recommendations."""

    model_config = ConfigDict(frozen=True)

    goals: tuple[str, ...] = ()
    paused: bool = False
    quiet_start: time = time(22, 0)
    quiet_end: time = time(7, 0)  # equal to the start: no quiet hours
    max_per_day: int = Field(default=6, ge=0, le=100)
    max_per_item_per_day: int = Field(default=1, ge=0, le=20)
    slate_size: int = Field(default=3, ge=1, le=50)
    snooze_h: float = Field(default=4.0, ge=0, le=24 * 30)
    monthly_budget: float | None = Field(default=None, gt=0)

    @field_validator("goals")
    @classmethod
    def _known(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for goal in value:
            if goal not in GOALS:
                raise ValueError(
                    f"'{goal}' is not a goal LifeTwin knows (goals: {', '.join(GOALS)})"
                )
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _budget_needs_goal(self) -> RecommendSettings:
        if self.monthly_budget is not None and "spend_less" not in self.goals:
            raise ValueError("a monthly budget only makes sense with the goal spend_less")
        return self


class Shown(BaseModel):
    """One item shown once (the log the caps and the novelty floor read)."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    at: datetime


def in_quiet_hours(moment: datetime, start: time, end: time) -> bool:
    """Whether a local clock time falls in the quiet hours (which may span midnight).

    >>> in_quiet_hours(datetime(2024, 1, 1, 23, 30), time(22), time(7))
    True
    >>> in_quiet_hours(datetime(2024, 1, 1, 12, 0), time(22), time(7))
    False
    """
    clock = moment.time().replace(tzinfo=None)
    if start == end:
        return False
    if start < end:
        return start <= clock < end
    return clock >= start or clock < end


def _local_day(moment: datetime, now: datetime) -> bool:
    return (
        moment.astimezone(now.tzinfo).date() == now.date()
        if now.tzinfo
        else (moment.date() == now.date())
    )


def shown_today(shown: Sequence[Shown], now: datetime) -> Counter[str]:
    """How often each item was shown on the local day of ``now`` (before ``now``)."""
    return Counter(s.item_id for s in shown if s.at <= now and _local_day(s.at, now))


def withheld_reason(
    item: CatalogItem,
    settings: RecommendSettings,
    now: datetime,
    today: Mapping[str, int],
    blocked: frozenset[str] | set[str],
    snoozed: Mapping[str, datetime],
) -> str | None:
    """Why an item may not be shown now (None: it may)."""
    if not set(item.goals) & set(settings.goals):
        return "serves none of your goals"
    if item.id in blocked:
        return "you said you are not interested"
    until = snoozed.get(item.id)
    if until is not None and now < until:
        return "you said not now"
    if today.get(item.id, 0) >= settings.max_per_item_per_day:
        return "already shown today as often as allowed"
    return None


def stop_reason(settings: RecommendSettings, now: datetime, shown: Sequence[Shown]) -> str | None:
    """Why nothing at all may be shown now (None: the slate may be filled)."""
    if settings.paused:
        return "recommendations are paused"
    if not settings.goals:
        return "no goal is declared, and recommendations only serve declared goals"
    if in_quiet_hours(now, settings.quiet_start, settings.quiet_end):
        return "it is within your quiet hours"
    if settings.max_per_item_per_day == 0:
        return "you allowed no item to be shown on any day"
    if sum(shown_today(shown, now).values()) >= settings.max_per_day:
        return f"the day's limit of {settings.max_per_day} recommendations is reached"
    return None


def served(item: CatalogItem, declared: Sequence[str]) -> tuple[str, ...]:
    """The declared goals an item serves, in the item's own order."""
    return tuple(g for g in item.goals if g in declared)


def _coverage(items: Sequence[CatalogItem], declared: Sequence[str]) -> int:
    return len({g for item in items for g in served(item, declared)})


def choose_slate(
    items: Sequence[CatalogItem],
    scores: F64,
    eligible: npt.NDArray[np.bool_],
    *,
    k: int,
    declared: Sequence[str],
    recent: frozenset[str] | set[str],
) -> list[int]:
    """Pick up to ``k`` eligible items by score under the diversity and novelty floors.

    Greedy by score; while the slate covers fewer than two declared goals and an eligible
    item would add one, the best such item comes next; no goal is the first goal of more
    than ``ceil(k/2)`` items when another goal is available; if no item is new (not in
    ``recent``) and a new one is eligible, the best new one replaces the lowest slot it
    can take without breaking the diversity floor.
    """
    order = [int(i) for i in np.argsort(-scores, kind="stable") if eligible[i]]
    if not order or k <= 0:
        return []
    k = min(k, len(order))
    goals_available = {g for i in order for g in served(items[i], declared)}
    floor = min(2, len(goals_available), k)
    per_goal_cap = math.ceil(k / 2) if floor >= 2 else k
    chosen: list[int] = []
    counts: Counter[str] = Counter()

    def fits(i: int) -> bool:
        return all(counts[g] < per_goal_cap for g in served(items[i], declared)[:1])

    while len(chosen) < k:
        covered = set(counts) | {g for j in chosen for g in served(items[j], declared)}
        want_new_goal = len(covered) < floor
        pick = None
        for i in order:
            if i in chosen:
                continue
            if want_new_goal and chosen:
                # The diversity floor comes before the per-goal cap.
                if not set(served(items[i], declared)) - covered:
                    continue
            elif not fits(i):
                continue
            pick = i
            break
        if pick is None:  # the floors cannot all be met: fall back to score order
            pick = next((i for i in order if i not in chosen), None)
            if pick is None:
                break
        chosen.append(pick)
        counts.update(served(items[pick], declared)[:1])
    if all(items[i].id in recent for i in chosen):
        swap = _novel_swap(items, order, chosen, declared, recent, floor)
        if swap is not None:
            slot, novel = swap
            chosen[slot] = novel
    return chosen


def _novel_swap(
    items: Sequence[CatalogItem],
    order: Sequence[int],
    chosen: Sequence[int],
    declared: Sequence[str],
    recent: frozenset[str] | set[str],
    floor: int,
) -> tuple[int, int] | None:
    """The best new item and the lowest slot it can take keeping ``floor`` goals covered."""
    for novel in order:
        if items[novel].id in recent or novel in chosen:
            continue
        for slot in range(len(chosen) - 1, -1, -1):
            trial = [items[j] for j in chosen]
            trial[slot] = items[novel]
            if _coverage(trial, declared) >= floor:
                return slot, novel
    return None


def recent_ids(shown: Sequence[Shown], now: datetime) -> frozenset[str]:
    """Items shown in the last week (the novelty floor's memory)."""
    since = now - timedelta(days=NOVELTY_DAYS)
    return frozenset(s.item_id for s in shown if since <= s.at <= now)


def promotion_context(context: F64, granted: frozenset[str] | set[str]) -> F64:
    """The context a provider's promotion is ranked on: health and finance features zeroed
    unless granted (``granted`` names the context features the person allowed for it).

    >>> from lifetwin.packs.recommend.policy import context_vector
    >>> c = context_vector(12, 1, sleep_debt_h=4.0, mood=0.5)
    >>> float(promotion_context(c, set())[CONTEXT_INDEX["sleep_debt"]])
    0.0
    """
    masked = np.asarray(context, dtype=float).copy()
    for feature in SENSITIVE_FEATURES - set(granted):
        masked[CONTEXT_INDEX[feature]] = 0.0
    return masked


def check_slate(
    chosen: Sequence[CatalogItem],
    *,
    catalog: Mapping[str, CatalogItem],
    shown_prices: Sequence[float | None],
    settings: RecommendSettings,
    now: datetime,
    shown_before: Sequence[Shown],
    blocked: frozenset[str] | set[str],
    snoozed: Mapping[str, datetime],
    promo_contexts: Sequence[F64 | None] = (),
    granted_for_promotion: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Every rule a shown slate breaks, in words (an empty list: it keeps them all)."""
    broken: list[str] = []
    if not chosen:
        return broken
    stop = stop_reason(settings, now, shown_before)
    if stop is not None:
        broken.append(f"something was shown although {stop}")
    today = shown_today(shown_before, now)
    if sum(today.values()) + len(chosen) > settings.max_per_day:
        broken.append("more recommendations than the daily limit")
    ids = [c.id for c in chosen]
    if len(set(ids)) != len(ids):
        broken.append("an item appears twice in one slate")
    for item, price in zip(chosen, shown_prices, strict=True):
        reason = withheld_reason(item, settings, now, today, blocked, snoozed)
        if reason is not None:
            broken.append(f"{item.id} was shown although it {reason}")
        listed = catalog[item.id].price if item.id in catalog else None
        if price != listed:
            broken.append(f"{item.id} was shown at {price}, not its list price {listed}")
    for item, ctx in zip(chosen, promo_contexts, strict=False):
        if item.promotional and ctx is not None:
            for feature in SENSITIVE_FEATURES - set(granted_for_promotion):
                if ctx[CONTEXT_INDEX[feature]] != 0.0:
                    broken.append(f"the promotion {item.id} used {feature} without a grant")
    eligible = [
        item
        for item in catalog.values()
        if withheld_reason(item, settings, now, today, blocked, snoozed) is None
    ]
    declared = settings.goals
    floor = min(2, _coverage(eligible, declared), len(chosen))
    if _coverage(chosen, declared) < floor:
        broken.append("the slate covers one goal although others were eligible")
    recent = recent_ids(shown_before, now)
    if all(c.id in recent for c in chosen):
        by_id = {item.id: i for i, item in enumerate(eligible)}
        order = list(range(len(eligible)))
        picked = [by_id[c.id] for c in chosen if c.id in by_id]
        if len(picked) == len(chosen) and _novel_swap(
            eligible, order, picked, declared, recent, floor
        ):
            broken.append("no new item although a new one was eligible")
    return broken
