"""Recommendations and the learner twin as a person meets them: the operations on a real
store with the demo person, the command line (text and --json) and the API.

The demo's quiet hours (22:00-07:00 in Berlin) and its daily cap are opened up first, so
what a test sees does not depend on the hour it runs at; the tests that check quiet hours
and the pause switch set them themselves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import time
from pathlib import Path
from typing import Any

import pytest

from conftest import ServiceWorld
from lifetwin.core.errors import LifeTwinError, NotEnoughDataError
from lifetwin.operations.context import Context
from lifetwin.packs.learning import operations as learn_ops
from lifetwin.packs.recommend import capability as cap
from lifetwin.packs.recommend import operations as ops
from lifetwin.packs.recommend.catalog import GOALS, CatalogError
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.services.demo import create_demo
from lifetwin.store.crypto import MasterKey
from lifetwin.store.sql import SQLiteBackend
from lifetwin.store.vault import Person, Store

ROOT = Path(__file__).resolve().parents[1]
BOOKSHOP = ROOT / "examples" / "catalogs" / "bookshop.json"
COACH = ROOT / "examples" / "catalogs" / "coach.csv"
PERSON = "Alex Demo"


def _open_up(store: Store, person: Person) -> None:
    """No quiet hours and high daily caps, so the tests do not depend on the clock or on
    how many slates the tests before them asked for."""
    cap.update_settings(
        store.vault(person),
        quiet_start=time(0),
        quiet_end=time(0),
        max_per_day=100,
        max_per_item_per_day=20,
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Person]]:
    backend = SQLiteBackend(tmp_path_factory.mktemp("rec") / "lifetwin.db", create=True)
    store = Store.initialize(backend, MasterKey.generate())
    person = create_demo(store, days=14).person
    _open_up(store, person)
    yield store, person
    backend.close()


def _ctx(demo: tuple[Store, Person], purpose: Purpose = Purpose.RECOMMENDATIONS) -> Context:
    store, person = demo
    return Context(store, person).for_purpose(purpose)


# -- the operations ---------------------------------------------------------------------------
def test_the_demo_person_gets_nudges_toward_their_goals_each_with_why(
    demo: tuple[Store, Person],
) -> None:
    found = ops.recommendations(_ctx(demo), fresh=True)
    declared = {g.name for g in found.goals if g.declared}
    assert declared == {"move_more", "sleep_better", "glucose_in_range", "spend_less", "learn"}
    assert len(found.items) == 3
    for item in found.items:
        assert set(item.goals) <= declared
        assert item.goals
        assert item.reasons[0].kind == "goal"
        for reason in item.reasons:
            if reason.data:  # a reason from the person's data names the grant that allowed it
                assert reason.grants
                assert reason.feature in ops.CORRECTABLE
    assert {g.id for g in found.lineage.grants} == set(found.items[0].lineage.grants)
    assert all(g.purpose == "recommendations" for g in found.lineage.grants)
    assert "sleep_duration from demo-watch" in found.lineage.sentence
    assert {c.category for c in found.data if c.used} >= {"sleep", "activity", "finance"}
    labels = [c.label for c in found.controls]
    assert "Pause all recommendations" in labels
    assert "Don't use my sleep data for recommendations" in labels
    # a reload is not a new recommendation
    again = ops.recommendations(_ctx(demo))
    assert [r.id for r in again.items] == [r.id for r in found.items]
    assert again.shown_at == found.shown_at


def test_not_now_takes_one_item_away_and_leaves_the_others(demo: tuple[Store, Person]) -> None:
    shown = ops.recommendations(_ctx(demo), fresh=True)
    first, *rest = shown.items
    done = ops.feedback(_ctx(demo), first.item_id, "not_now")  # by the item's id
    assert done.recommendation_id == first.id
    assert done.learned
    assert "not suggest this again for 4 h" in done.effect
    after = ops.recommendations(_ctx(demo))
    assert [r.id for r in after.items] == [r.id for r in rest]
    assert first.item_id in ops.settings(_ctx(demo)).snoozed
    # and a fresh slate does not bring it back while it is on hold
    fresh = ops.recommendations(_ctx(demo), fresh=True)
    assert first.item_id not in {r.item_id for r in fresh.items}
    log = ops.history(_ctx(demo))
    answered = {e.recommendation_id: e.answer for e in log.items}
    assert answered[first.id] == "not_now"
    assert log.total >= len(log.items) >= 6


def test_wrong_about_me_takes_a_correction_and_bad_feedback_is_one_sentence(
    demo: tuple[Store, Person],
) -> None:
    shown = ops.recommendations(_ctx(demo), fresh=True)
    rec = shown.items[0]
    with pytest.raises(LifeTwinError, match="needs a correction"):
        ops.feedback(_ctx(demo), rec.id, "wrong")
    with pytest.raises(LifeTwinError, match="not something recommendations read"):
        ops.feedback(_ctx(demo), rec.id, "wrong", correction=cap.Correction(feature="shoe_size"))
    done = ops.feedback(
        _ctx(demo), rec.id, "wrong", correction=cap.Correction(feature="sleep_debt", value=0.0)
    )
    assert not done.learned
    assert "correction of sleep_debt" in done.effect
    fresh = ops.recommendations(_ctx(demo), fresh=True)
    assert all("short on sleep" not in r.why for r in fresh.items)
    with pytest.raises(LifeTwinError, match="is not among the last 300"):
        ops.feedback(_ctx(demo), "r-nothing", "useful")


def test_a_provider_catalog_is_ranked_at_its_list_prices(demo: tuple[Store, Person]) -> None:
    listed = {i["id"]: i.get("price") for i in json.loads(BOOKSHOP.read_text())["items"]}
    found = ops.recommendations(_ctx(demo), catalog=BOOKSHOP, fresh=True)
    assert found.provider == "kiezbuch"
    assert found.items
    for item in found.items:
        assert item.provider == "kiezbuch"
        assert item.price == listed[item.item_id]  # never a personal price
        assert "stress_less" not in item.goals  # the thriller serves no declared goal
    assert found.withheld["serves none of your goals"] >= 1
    coach = ops.recommendations(_ctx(demo), catalog=COACH, fresh=True)
    assert coach.provider == "coach"
    assert coach.items
    body = ops.CatalogIn(provider="shop", items=[{"id": "a", "title": "A", "goals": ["get_rich"]}])
    with pytest.raises(CatalogError) as caught:
        ops.recommendations(_ctx(demo), body=body)
    assert str(caught.value).startswith("item 1 ('a'), field goals: 'get_rich' is not a goal")


def test_pause_quiet_hours_and_goals(demo: tuple[Store, Person]) -> None:
    store, person = demo
    paused = ops.change_settings(_ctx(demo), ops.SettingsChange(paused=True))
    assert paused.settings.paused
    assert paused.effects == ["Recommendations are paused."]
    found = ops.recommendations(_ctx(demo), fresh=True)
    assert found.items == []
    assert found.status == "recommendations are paused"
    ops.change_settings(_ctx(demo), ops.SettingsChange(paused=False))
    now = ops.person_now(store.vault(person))
    start = (now.replace(minute=0, second=0, microsecond=0)).time()
    end = time((now.hour + 2) % 24)
    ops.change_settings(_ctx(demo), ops.SettingsChange(quiet_start=start, quiet_end=end))
    assert ops.recommendations(_ctx(demo)).status == "it is within your quiet hours"
    view = ops.change_settings(_ctx(demo), ops.SettingsChange(goals=["move_more", "learn"]))
    assert view.settings.monthly_budget is None  # the budget goes with spend_less
    assert "Your monthly budget is cleared with the goal spend_less." in view.effects
    with pytest.raises(LifeTwinError, match="not a goal LifeTwin knows"):
        ops.change_settings(_ctx(demo), ops.SettingsChange(goals=["get_rich"]))
    ops.change_settings(
        _ctx(demo),
        ops.SettingsChange(goals=list(GOALS), monthly_budget=2600, quiet_start=time(0)),
    )
    _open_up(store, person)
    assert ops.recommendations(_ctx(demo), fresh=True).items


def test_dont_use_my_sleep_is_a_consent_change_at_once_and_can_be_undone(
    demo: tuple[Store, Person],
) -> None:
    store, person = demo
    view = ops.change_settings(_ctx(demo), ops.SettingsChange(exclude=["sleep"]))
    sleep = next(c for c in view.data if c.category == "sleep")
    assert not sleep.used
    assert sleep.held
    assert "no longer read your sleep data" in view.effects[0]
    vault = store.vault(person)
    allowed = vault.consents().allowing(
        "sleep_duration", "demo-watch", Purpose.RECOMMENDATIONS, None, ops.person_now(vault)
    )
    assert allowed == []
    found = ops.recommendations(_ctx(demo), fresh=True)
    assert "sleep_duration" not in found.lineage.sentence
    assert all(r.feature != "sleep_debt" for i in found.items for r in i.reasons)
    assert "Don't use my sleep data for recommendations" not in [c.label for c in found.controls]
    with pytest.raises(LifeTwinError, match="not a kind of data recommendations read"):
        ops.change_settings(_ctx(demo), ops.SettingsChange(exclude=["shoes"]))
    back = ops.change_settings(_ctx(demo), ops.SettingsChange(include=["sleep"]))
    assert next(c for c in back.data if c.category == "sleep").used
    assert "sleep_duration" in ops.recommendations(_ctx(demo), fresh=True).lineage.sentence


def test_the_learner_twin_of_the_demo_person(demo: tuple[Store, Person]) -> None:
    store, _person = demo
    view = learn_ops.learning(_ctx(demo, Purpose.TWIN_CORE))
    skills = {s.skill: s for s in view.skills}
    assert {"Spanish::Vocabulary", "Statistics", "SQL window functions"} <= set(skills)
    assert skills["SQL window functions"].status == "learning"  # taken up last week
    assert view.card_count > 50
    assert 0 < len(view.cards) <= learn_ops.CARDS_SHOWN
    assert [c.recall_now for c in view.cards] == sorted(c.recall_now for c in view.cards)
    for deck in view.recall_forecast:  # forgetting without review: recall only falls
        assert deck.mean_recall == sorted(deck.mean_recall, reverse=True)
        assert deck.mean_recall[-1] < deck.mean_recall[0]
    assert {d.skill for d in view.recall_forecast} == {
        "Spanish::Vocabulary",
        "Spanish::Grammar",
        "Statistics",
    }
    kinds = [s.kind for s in view.next_steps]
    assert kinds == sorted(kinds, key=lambda k: k != "review")  # due reviews come first
    assert any(s.skill == "SQL window functions" for s in view.next_steps)
    nobody = store.add_person("Nobody Yet")
    with pytest.raises(NotEnoughDataError, match="no lessons or flashcard reviews"):
        learn_ops.learning(Context(store, nobody).for_purpose(Purpose.TWIN_CORE))


# -- the API ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def api(demo: tuple[Store, Person]) -> Iterator[tuple[ServiceWorld, str]]:
    store, person = demo
    world = ServiceWorld(store)
    world.accounts.create("alex", "correct horse battery", Role.PERSON, person.id)
    yield world, person.id
    world.app.state.service.close()


def _auth(world: ServiceWorld, person_id: str, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.token('alex', person_id, *scopes)}"}


def test_the_api_lists_takes_feedback_and_changes_settings(
    api: tuple[ServiceWorld, str],
) -> None:
    world, pid = api
    base = f"/api/v1/persons/{pid}/recommendations"
    rec = _auth(world, pid, "recommendations")
    listed = world.client.get(base + "?fresh=true", headers=rec)
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert items
    assert items[0]["reasons"][0]["kind"] == "goal"
    assert world.client.get(base, headers=_auth(world, pid, "twin_core")).status_code == 403
    answer = world.client.post(
        base + "/feedback",
        json={"recommendation": items[0]["id"], "kind": "not_interested"},
        headers=rec,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["effect"] == "LifeTwin will not suggest this again."
    again = world.client.get(base, headers=rec).json()["items"]
    assert items[0]["id"] not in {i["id"] for i in again}
    bad = world.client.post(
        base + "/feedback", json={"recommendation": "r-none", "kind": "useful"}, headers=rec
    )
    assert bad.status_code == 422
    assert "is not among" in bad.json()["detail"]
    # settings: read with the purpose, changed only by the person themself
    assert world.client.get(base + "/settings", headers=rec).json()["not_interested"] == [
        items[0]["item_id"]
    ]
    change = {"reset_not_interested": True, "paused": True}
    assert world.client.put(base + "/settings", json=change, headers=rec).status_code == 403
    own = _auth(world, pid, "self_access")
    changed = world.client.put(base + "/settings", json=change, headers=own)
    assert changed.status_code == 200, changed.text
    assert changed.json()["settings"]["paused"] is True
    assert changed.json()["not_interested"] == []
    assert world.client.get(base, headers=rec).json()["status"] == "recommendations are paused"
    world.client.put(base + "/settings", json={"paused": False}, headers=own)
    unknown = world.client.put(base + "/settings", json={"colour": "red"}, headers=own)
    assert unknown.status_code == 422
    log = world.client.get(base + "/log?limit=2", headers=rec).json()
    assert len(log["items"]) == 2
    assert log["total"] > 2


def test_the_api_ranks_a_posted_catalog_and_serves_the_learner_twin(
    api: tuple[ServiceWorld, str],
) -> None:
    world, pid = api
    base = f"/api/v1/persons/{pid}"
    rec = _auth(world, pid, "recommendations")
    catalog = json.loads(BOOKSHOP.read_text())
    ranked = world.client.post(base + "/recommendations?fresh=true", json=catalog, headers=rec)
    assert ranked.status_code == 200, ranked.text
    assert ranked.json()["provider"] == "kiezbuch"
    broken = {"provider": "shop", "items": [{"id": "x", "title": "X", "price": 3}]}
    refused = world.client.post(base + "/recommendations", json=broken, headers=rec)
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "item 1 ('x'): a price needs a three-letter currency (EUR, USD)."
    )
    learning = world.client.get(base + "/learning", headers=_auth(world, pid, "twin_core"))
    assert learning.status_code == 200, learning.text
    assert {s["skill"] for s in learning.json()["skills"]} >= {"Statistics", "Probability"}
    assert world.client.get(base + "/learning", headers=rec).status_code == 403


# -- the command line ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    where = tmp_path_factory.mktemp("rec-cli") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(where), "COLUMNS": "200"}
    for args in (
        ["init"],
        ["demo", "--account", "", "--days", "10"],
        ["recommend-settings", PERSON, "--quiet", "off", "--max-per-day", "100"],
    ):
        subprocess.run(
            [sys.executable, "-m", "lifetwin", *args], env=env, check=True, capture_output=True
        )
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lifetwin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def _json(env: dict[str, str], *args: str) -> Any:
    done = _run(env, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_recommend_and_feedback_on_the_command_line(home: dict[str, str]) -> None:
    text = _run(home, "recommend", PERSON)
    assert text.returncode == 0, text.stderr
    assert "It serves your goal" in text.stdout
    assert "Read for recommendations:" in text.stdout
    shown = _json(home, "recommend", PERSON)
    first = shown["items"][0]
    assert first["id"] in text.stdout  # the same slate, not a new one
    done = _json(home, "feedback", PERSON, first["item_id"], "--not-now")
    assert done["kind"] == "not_now"
    assert done["recommendation_id"] == first["id"]
    after = _json(home, "recommend", PERSON)
    assert first["id"] not in {i["id"] for i in after["items"]}
    two = _run(home, "feedback", PERSON, first["id"], "--useful", "--not-now")
    assert two.returncode == 1
    assert two.stderr.strip() == (
        "error: Give one of --useful, --not-now, --not-interested or --wrong FEATURE[=VALUE]."
    )
    wrong = _json(home, "feedback", PERSON, after["items"][0]["id"], "--wrong", "mood=0.5")
    assert wrong["kind"] == "wrong"
    assert not wrong["learned"]
    bad = _run(home, "feedback", PERSON, after["items"][1]["id"], "--wrong", "mood=lots")
    assert bad.returncode == 1
    assert "'lots' is not a number" in bad.stderr
    log = _json(home, "recommend-log", PERSON, "--limit", "5")
    assert {e["answer"] for e in log["items"]} >= {"not_now", "wrong"}


def test_pause_settings_catalogs_and_learn_on_the_command_line(home: dict[str, str]) -> None:
    paused = _run(home, "recommend", PERSON, "--pause")
    assert paused.returncode == 0
    assert "Recommendations are paused." in paused.stderr
    assert "Nothing to suggest now: recommendations are paused." in paused.stdout
    resumed = _json(home, "recommend", PERSON, "--resume")
    assert resumed["paused"] is False
    assert resumed["items"]
    excluded = _json(home, "recommend-settings", PERSON, "--dont-use", "finance")
    assert {c["category"]: c["used"] for c in excluded["data"]}["finance"] is False
    shown = _json(home, "recommend-settings", PERSON)
    assert shown["settings"]["max_per_day"] == 100
    assert shown["effects"] == []
    coach = _json(home, "recommend", PERSON, "--catalog", str(COACH))
    assert coach["provider"] == "coach"
    assert {i["item_id"] for i in coach["items"]} <= {
        "easy-run-20",
        "ride-commute",
        "yoga-evening",
        "walk-lunch",
    }  # box breathing serves only stress_less, which Alex did not declare
    learned = _run(home, "learn", PERSON)
    assert learned.returncode == 0, learned.stderr
    assert "Next:" in learned.stdout
    assert "Spanish::Vocabulary" in learned.stdout
    assert _json(home, "learn", PERSON)["recall_forecast"]


def test_a_bad_catalog_file_is_one_sentence(home: dict[str, str], tmp_path: Path) -> None:
    broken = tmp_path / "shop.csv"
    broken.write_text("id,title,goals,price,currency\nmug,A mug,spend_less,-3,EUR\n")
    done = _run(home, "recommend", PERSON, "--catalog", str(broken))
    assert done.returncode == 1
    assert done.stderr.startswith("error: shop.csv, line 2 ('mug'), field price:")
    assert len(done.stderr.strip().splitlines()) == 1


def test_the_command_lines_defaults_are_the_operations() -> None:
    from lifetwin.packs.recommend import cli

    assert cli.HISTORY_LIMIT == ops.HISTORY_LIMIT
