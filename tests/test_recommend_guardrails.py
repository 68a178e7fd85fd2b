"""The ethical firewall holds for any catalog, person, history and moment (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, timezone

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lifetwin.packs.recommend.catalog import GOALS, Catalog, CatalogIndex, CatalogItem
from lifetwin.packs.recommend.guardrails import (
    RecommendSettings,
    Shown,
    check_slate,
    choose_slate,
    in_quiet_hours,
    promotion_context,
)
from lifetwin.packs.recommend.policy import (
    CONTEXT_INDEX,
    SENSITIVE_FEATURES,
    context_vector,
    personal_policy,
)
from lifetwin.packs.recommend.ranking import rank_slate

goal_sets = st.lists(st.sampled_from(sorted(GOALS)), max_size=3, unique=True).map(tuple)


@st.composite
def items(draw: st.DrawFn) -> list[CatalogItem]:
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        priced = draw(st.booleans())
        out.append(
            CatalogItem(
                id=f"item-{i}",
                title=f"Item {i}",
                kind=draw(st.sampled_from(["nudge", "product", "content", "exercise"])),
                goals=draw(goal_sets),
                tags=tuple(draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2))),
                promotional=draw(st.booleans()),
                price=draw(st.floats(0, 500)) if priced else None,
                currency="EUR" if priced else None,
                features={"x": draw(st.floats(-5, 5))},
            )
        )
    return out


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, object]:
    catalog_items = draw(items())
    ids = [i.id for i in catalog_items]
    offset = draw(st.integers(-12 * 60, 14 * 60))
    now = datetime(2024, 3, 1, tzinfo=timezone(timedelta(minutes=offset))) + timedelta(
        minutes=draw(st.integers(0, 60 * 24 * 60))
    )
    shown = [
        Shown(item_id=draw(st.sampled_from(ids)), at=now - timedelta(minutes=m))
        for m in draw(st.lists(st.integers(0, 60 * 24 * 10), max_size=20))
    ]
    person = RecommendSettings(
        goals=draw(goal_sets),
        paused=draw(st.booleans()),
        quiet_start=time(draw(st.integers(0, 23))),
        quiet_end=time(draw(st.integers(0, 23))),
        max_per_day=draw(st.integers(0, 8)),
        max_per_item_per_day=draw(st.integers(0, 3)),
        slate_size=draw(st.integers(1, 6)),
    )
    blocked = set(draw(st.lists(st.sampled_from(ids), max_size=5)))
    snoozed = {
        i: now + timedelta(minutes=m)
        for i, m in draw(
            st.dictionaries(st.sampled_from(ids), st.integers(-600, 600), max_size=5)
        ).items()
    }
    context = context_vector(
        now.hour + now.minute / 60,
        now.weekday(),
        sleep_debt_h=draw(st.none() | st.floats(0, 12)),
        activity_ratio=draw(st.none() | st.floats(-1, 3)),
        mood=draw(st.none() | st.floats(-1, 1)),
        glucose_mg_dl=draw(st.none() | st.floats(40, 400)),
        budget_left=draw(st.none() | st.floats(-1, 1)),
        goals=set(person.goals),
    )
    granted = set(draw(st.lists(st.sampled_from(sorted(SENSITIVE_FEATURES)), max_size=3)))
    learned = draw(st.lists(st.tuples(st.integers(0, len(ids) - 1), st.floats(0, 1)), max_size=8))
    return {
        "items": catalog_items,
        "now": now,
        "shown": shown,
        "settings": person,
        "blocked": blocked,
        "snoozed": snoozed,
        "context": context,
        "granted": granted,
        "learned": learned,
    }


@given(worlds())
@settings(max_examples=300, deadline=None)
def test_every_shown_slate_keeps_every_rule(world: dict[str, object]) -> None:
    catalog_items: list[CatalogItem] = world["items"]  # type: ignore[assignment]
    person: RecommendSettings = world["settings"]  # type: ignore[assignment]
    now: datetime = world["now"]  # type: ignore[assignment]
    shown: list[Shown] = world["shown"]  # type: ignore[assignment]
    context = np.asarray(world["context"])
    granted: set[str] = world["granted"]  # type: ignore[assignment]
    index = CatalogIndex(Catalog(provider="shop", items=tuple(catalog_items)))
    policy = personal_policy()
    for i, reward in world["learned"]:  # type: ignore[attr-defined]
        policy.learn_one(context, index.matrix[i], reward)
    promo = promotion_context(context, granted)
    ranked = rank_slate(
        policy,
        context,
        index,
        person,
        now,
        shown=shown,
        blocked=world["blocked"],  # type: ignore[arg-type]
        snoozed=world["snoozed"],  # type: ignore[arg-type]
        promo_context=promo,
    )
    chosen = [catalog_items[i] for i in ranked.chosen]
    broken = check_slate(
        chosen,
        catalog={i.id: i for i in catalog_items},
        shown_prices=[c.price for c in chosen],
        settings=person,
        now=now,
        shown_before=shown,
        blocked=world["blocked"],  # type: ignore[arg-type]
        snoozed=world["snoozed"],  # type: ignore[arg-type]
        promo_contexts=[promo if c.promotional else context for c in chosen],
        granted_for_promotion=granted,
    )
    assert broken == []
    # The plainest rules, said again without the checker:
    if person.paused or not person.goals:
        assert chosen == []
    if in_quiet_hours(now, person.quiet_start, person.quiet_end):
        assert chosen == []
    assert len(chosen) <= person.slate_size
    for item in chosen:
        assert set(item.goals) & set(person.goals)
        assert item.id not in world["blocked"]  # type: ignore[operator]
    for feature in SENSITIVE_FEATURES - granted:
        assert promo[CONTEXT_INDEX[feature]] == 0.0


@given(worlds(), st.floats(0, 10_000))
@settings(max_examples=100, deadline=None)
def test_the_price_shown_never_depends_on_the_person(
    world: dict[str, object], other: float
) -> None:
    """Two people in different states see an item at the same price: the list price."""
    catalog_items: list[CatalogItem] = world["items"]  # type: ignore[assignment]
    index = CatalogIndex(Catalog(provider="shop", items=tuple(catalog_items)))
    person = RecommendSettings(
        goals=tuple(GOALS), max_per_day=100, slate_size=25, quiet_end=time(22)
    )
    now: datetime = world["now"]  # type: ignore[assignment]
    now = now.replace(hour=12)
    poor = context_vector(12, 1, budget_left=-1.0, sleep_debt_h=other % 12, goals=set(GOALS))
    rich = context_vector(12, 1, budget_left=1.0, goals=set(GOALS))
    for context in (poor, rich):
        ranked = rank_slate(personal_policy(), context, index, person, now, promo_context=context)
        for i in ranked.chosen:
            assert index.items[i].price == catalog_items[i].price


def test_a_promotion_is_ranked_without_sleep_unless_the_shop_was_granted_it() -> None:
    promo = CatalogItem(
        id="p", title="Mattress", kind="product", goals=("sleep_better",), promotional=True
    )
    nudge = CatalogItem(id="n", title="Wind down", kind="nudge", goals=("sleep_better",))
    index = CatalogIndex(Catalog(provider="shop", items=(promo, nudge)))
    tired = context_vector(12, 1, sleep_debt_h=8.0, goals={"sleep_better"})
    policy = personal_policy()
    person = RecommendSettings(goals=("sleep_better",), quiet_end=time(22))
    now = datetime(2024, 3, 1, 12, tzinfo=UTC)
    masked = rank_slate(
        policy, tired, index, person, now, promo_context=promotion_context(tired, set())
    )
    granted = rank_slate(
        policy, tired, index, person, now, promo_context=promotion_context(tired, {"sleep_debt"})
    )
    # The sleep debt raises the nudge either way, the promotion only when granted.
    assert masked.mean[0] < granted.mean[0]
    assert masked.mean[1] == granted.mean[1]
    withheld = rank_slate(policy, tired, index, person, now, promo_context=None)
    assert [index.items[i].id for i in withheld.chosen] == ["n"]


def test_pause_and_quiet_hours_show_nothing_and_say_why() -> None:
    index = CatalogIndex(
        Catalog(
            provider="lifetwin",
            items=(CatalogItem(id="w", title="Walk", kind="nudge", goals=("move_more",)),),
        )
    )
    c = context_vector(23, 1, goals={"move_more"})
    night = datetime(2024, 3, 1, 23, 0, tzinfo=UTC)
    ranked = rank_slate(personal_policy(), c, index, RecommendSettings(goals=("move_more",)), night)
    assert ranked.chosen == []
    assert ranked.status == "it is within your quiet hours"
    paused = RecommendSettings(goals=("move_more",), paused=True)
    ranked = rank_slate(personal_policy(), c, index, paused, night.replace(hour=12))
    assert ranked.chosen == []
    assert ranked.status == "recommendations are paused"


def test_the_diversity_floor_takes_an_item_that_serves_a_second_goal_first() -> None:
    """Found by the regret simulation: the per-goal cap used to overrule the floor."""
    items = [
        CatalogItem(id="a1", title="A1", goals=("move_more",)),
        CatalogItem(id="a2", title="A2", goals=("move_more",)),
        CatalogItem(id="ab", title="AB", goals=("move_more", "sleep_better")),
    ]
    chosen = choose_slate(
        items,
        np.array([0.9, 0.8, 0.1]),
        np.ones(3, dtype=bool),
        k=2,
        declared=("move_more", "sleep_better"),
        recent=set(),
    )
    assert [items[i].id for i in chosen] == ["a1", "ab"]
