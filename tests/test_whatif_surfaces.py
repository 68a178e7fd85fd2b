"""What if? as a person meets it, on the demo person: the example scenarios run from the
command line, the API and the dashboard and give trajectories with bands and a plain
comparison; the optimizer's suggestion shows its constraints and evidence; the person's
accept / reject / correct is stored with it; the command line's --json is the API's JSON.

One demo home for the module (28 days: the training and sleep examples need four weeks of
workouts and nights); its glucose twin is fitted once, with a shorter posterior run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from browsing import CHROMIUM, require_chromium, serving
from conftest import PASSWORD, ServiceWorld, totp_code
from lifetwin.operations.context import Context
from lifetwin.packs.whatif import capability
from lifetwin.packs.whatif import operations as ops
from lifetwin.packs.whatif.scenario import ScenarioError
from lifetwin.privacy.consent import Purpose
from lifetwin.services.accounts import Role
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home, open_home

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "scenarios"
PERSON = "Alex Demo"
# What differs between two runs of the same scenario: when it ran, and whether the
# stored twin was reused (the first run of the module fitted it).
VOLATILE = {"computed_at", "reused", "at", "ran_at"}

pytestmark = pytest.mark.slow


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the demo person (28 days) and their glucose twin fitted."""
    where = tmp_path_factory.mktemp("whatif") / "home"
    store = init_home(where)
    summary = create_demo(store, days=28, seed=3, end=datetime.now(UTC))
    steps = capability.POSTERIOR_STEPS
    capability.POSTERIOR_STEPS = 300  # bands from a shorter MCMC run: the test is on surfaces
    try:
        capability.glucose_twin_for(store.vault(summary.person), posterior=True)
    finally:
        capability.POSTERIOR_STEPS = steps
    store.close()
    return where


@pytest.fixture(scope="module")
def world(home: Path) -> Iterator[ServiceWorld]:
    store = open_home(home)
    made = ServiceWorld(store)
    made.accounts.create("alex", PASSWORD, Role.PERSON, store.person(PERSON).id)
    yield made
    made.app.state.service.close()
    store.close()


@pytest.fixture(scope="module")
def auth(world: ServiceWorld) -> dict[str, str]:
    person = world.store.person(PERSON)
    return {"Authorization": f"Bearer {world.token('alex', person.id)}"}


def _ctx(world: ServiceWorld) -> Context:
    return Context(world.store, world.store.person(PERSON), purpose=Purpose.SIMULATION)


def _cli(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "lifetwin", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )


# -- the operations on a real store -------------------------------------------------------------
def test_the_shipped_examples_are_the_packs_own() -> None:
    shipped = sorted((ROOT / "src/lifetwin/packs/whatif/examples").glob("*.yaml"))
    assert [p.name for p in shipped] == sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    for path in shipped:
        assert path.read_text() == (EXAMPLES / path.name).read_text()


def test_every_example_scenario_runs_on_the_demo_person(world: ServiceWorld) -> None:
    ctx = _ctx(world)
    runs = {
        path.stem: ops.run_scenario(ctx, ops.scenario_from_text(path.read_text(), path.name))
        for path in sorted(EXAMPLES.glob("*.yaml"))
    }
    for key in ("prebolus", "later-dinner"):
        glucose = runs[key].glucose
        assert glucose is not None, runs[key].not_simulated
        usual, changed = glucose.trajectories
        assert usual.label == "as usual"
        assert len(usual.times_ms) == 288  # a day, every five minutes
        for t in (usual, changed):
            assert all(lo <= m <= hi for lo, m, hi in zip(t.low, t.median, t.high, strict=True))
            assert any(hi - lo > 1 for lo, hi in zip(t.low, t.high, strict=True))  # real bands
        assert "time in range" in runs[key].comparison
        assert glucose.model.quality["rmse_mg_dl"] < glucose.model.quality["population_rmse_mg_dl"]
        assert glucose.usual_date is not None
    # Boluses 15 minutes earlier blunt the peaks after meals.
    by = {o.metric: o for o in runs["prebolus"].glucose.outcomes}  # type: ignore[union-attr]
    assert by["peak glucose"].difference < 0
    training = runs["training-plus-10"].training
    assert training is not None
    assert len(training.trajectories[0].times_ms) == 14
    assert training.acwr_flag in ("steady", "spike", "drop", "unknown")
    sleep = runs["sleep-2300"]
    assert sleep.associations
    assert all(a.label == "association, not cause" for a in sleep.associations)
    assert "association, not cause" in sleep.comparison
    listed = ops.saved(ctx)
    assert {r.id for r in runs.values()} <= {s.id for s in listed.scenarios}
    assert ops.run_scenario(ctx, runs["prebolus"].scenario).id == runs["prebolus"].id  # replaced
    assert len({s.id for s in ops.saved(ctx).scenarios}) == len(ops.saved(ctx).scenarios)


def test_a_suggestion_is_answered_and_the_answer_is_stored_with_it(world: ServiceWorld) -> None:
    ctx = _ctx(world)
    made = ops.suggest(ctx, ops.Goal(kind="sleep", target=8.5), ops.Limits(bedtime_shift_min=20))
    s = made.suggestion
    assert s.constraints
    assert all(c.ok for c in s.constraints)
    assert "bedtime_min_of_day" in s.plan
    assert made.feedback == []
    with pytest.raises(ops.WhatIfError, match="not part of this suggestion's plan"):
        ops.feedback(ctx, s.id, "correct", correction={"bolus_percent.dinner": 90})
    with pytest.raises(ops.WhatIfError, match="needs the corrected values"):
        ops.feedback(ctx, s.id, "correct", correction={})
    with pytest.raises(ops.WhatIfError, match="Only a correction"):
        ops.feedback(ctx, s.id, "accept", correction={"hours_in_bed": 8})
    corrected = ops.feedback(
        ctx,
        s.id,
        "correct",
        correction=ops.correction_from_pairs(["bedtime_min_of_day=22:40"]),
        note="  I read first  ",
    )
    assert corrected.feedback[-1].correction == {"bedtime_min_of_day": 1360.0}
    assert corrected.feedback[-1].note == "I read first"
    again = ops.feedback(ctx, s.id, "reject")
    assert [f.verdict for f in again.feedback] == ["correct", "reject"]
    assert ops.suggestion(ctx, s.id) == again
    assert s.id in {r.suggestion.id for r in ops.saved(ctx).suggestions}
    with pytest.raises(ops.NoSuchSuggestionError):
        ops.suggestion(ctx, "s-000000000000")


# -- the command line -----------------------------------------------------------------------------
def test_the_command_line_runs_a_scenario_file_in_plain_words(home: Path) -> None:
    done = _cli(home, "whatif", PERSON, "--scenario", str(EXAMPLES / "prebolus.yaml"))
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "What if: 'bolus 15 min before meals'" in text
    assert "On your twin" in text
    assert "time in range" in text
    assert "90 % interval" in text
    assert "as usual" in text
    assert "fit RMSE" in text
    assert "population model" in text
    assert "not a medical instruction" in text
    sleep = _cli(home, "whatif", PERSON, "-s", str(EXAMPLES / "sleep-2300.yaml"))
    assert sleep.returncode == 0, sleep.stderr
    assert "association, not cause" in sleep.stdout
    piped = _cli(
        home,
        "whatif",
        PERSON,
        "--scenario",
        "-",
        "--json",
        stdin='{"name": "less basal", "interventions": [{"kind": "basal", "scale": 0.9}]}',
    )
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["scenario"]["name"] == "less basal"


def test_a_bad_scenario_is_one_sentence_on_the_command_line_and_the_api(
    home: Path, tmp_path: Path, world: ServiceWorld, auth: dict[str, str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"interventions": [{"kind": "basal", "scale": 9}]}')
    done = _cli(home, "whatif", PERSON, "--scenario", str(bad))
    assert done.returncode == 1
    assert done.stderr.strip() == "error: Intervention 1 (basal), scale: must be at most 3."
    missing = _cli(home, "whatif", PERSON, "--scenario", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 1
    assert "There is no scenario file" in missing.stderr
    both = _cli(home, "whatif", PERSON, "--scenario", str(bad), "--optimize", "sleep")
    assert both.returncode == 1
    assert "Give one of --scenario, --optimize and --suggestion." in both.stderr
    person = world.store.person(PERSON)
    answer = world.client.post(
        f"/api/v1/persons/{person.id}/whatif", content=bad.read_text(), headers=auth
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"] == "Intervention 1 (basal), scale: must be at most 3."
    with pytest.raises(ScenarioError):
        ops.run_scenario(_ctx(world), {"interventions": [{"kind": "lunch"}]})
    with pytest.raises(ScenarioError, match="at most 14 days"):
        ops.run_scenario(
            _ctx(world),
            {"horizon_days": 30, "interventions": [{"kind": "bolus", "shift_min": -15}]},
        )


def test_the_command_lines_json_is_the_apis_for_a_scenario(
    home: Path, world: ServiceWorld, auth: dict[str, str]
) -> None:
    path = EXAMPLES / "later-dinner.yaml"
    first = _cli(home, "whatif", PERSON, "--scenario", str(path), "--json")
    assert first.returncode == 0, first.stderr
    person = world.store.person(PERSON)
    answer = world.client.post(
        f"/api/v1/persons/{person.id}/whatif",
        content=path.read_text(),
        headers={**auth, "content-type": "application/yaml"},
    )
    assert answer.status_code == 200, answer.text
    from_cli = json.loads(first.stdout)
    assert from_cli["id"] == answer.json()["id"]
    assert _strip(from_cli) == _strip(answer.json())
    listed_cli = _cli(home, "whatif", PERSON, "--json")
    assert listed_cli.returncode == 0, listed_cli.stderr
    listed_api = world.client.get(f"/api/v1/persons/{person.id}/whatif", headers=auth)
    assert listed_api.status_code == 200
    assert _strip(json.loads(listed_cli.stdout)) == _strip(listed_api.json())


def test_the_command_line_suggests_within_limits_and_takes_an_answer(home: Path) -> None:
    done = _cli(home, "whatif", PERSON, "--optimize", "time_in_range", "--bolus-limit", "10")
    assert done.returncode == 0, done.stderr
    assert "Safety limits, checked" in done.stdout
    assert ">= 54 mg/dl" in done.stdout
    assert "<= ±10 %" in done.stdout  # the limit the person set
    assert "What the twin predicts" in done.stdout  # the evidence
    assert "not a medical instruction" in done.stdout
    made = _cli(home, "whatif", PERSON, "--optimize", "sleep", "--target", "8.5", "--json")
    assert made.returncode == 0, made.stderr
    sid = json.loads(made.stdout)["suggestion"]["id"]
    answer = _cli(
        home,
        "whatif",
        PERSON,
        "--suggestion",
        sid,
        "--answer",
        "correct",
        "--set",
        "bedtime_min_of_day=22:45",
        "--note",
        "earlier is hard",
        "--json",
    )
    assert answer.returncode == 0, answer.stderr
    stored = json.loads(answer.stdout)["feedback"]
    assert stored[-1]["verdict"] == "correct"
    assert stored[-1]["correction"] == {"bedtime_min_of_day": 1365.0}
    shown = _cli(home, "whatif", PERSON, "--suggestion", sid)
    assert "Your answer" in shown.stdout
    assert "earlier is hard" in shown.stdout
    assert "bedtime 2" in shown.stdout  # the plan in words (bedtime 22:..)
    wrong = _cli(home, "whatif", PERSON, "--suggestion", sid, "--answer", "maybe")
    assert wrong.returncode == 1
    assert "accept, reject or correct" in wrong.stderr
    loose = _cli(home, "whatif", PERSON, "--answer", "accept")
    assert loose.returncode == 1
    assert "--suggestion ID" in loose.stderr


# -- the API --------------------------------------------------------------------------------------
def test_the_api_suggests_takes_answers_and_keeps_purposes(
    world: ServiceWorld, auth: dict[str, str]
) -> None:
    person = world.store.person(PERSON)
    base = f"/api/v1/persons/{person.id}/whatif"
    made = world.client.post(
        f"{base}/optimize",
        json={"goal": {"kind": "time_in_range"}, "limits": {"bolus_change": 0.1}},
        headers=auth,
    )
    assert made.status_code == 200, made.text
    s = made.json()["suggestion"]
    assert {c["name"] for c in s["constraints"]} >= {"time below 70 mg/dl", "bolus change"}
    assert s["evidence"]
    assert "not a medical instruction" in s["caveat"]
    answered = world.client.post(
        f"{base}/suggestions/{s['id']}/feedback",
        json={"verdict": "accept", "note": "will ask my nurse"},
        headers=auth,
    )
    assert answered.status_code == 200, answered.text
    assert answered.json()["feedback"][-1]["verdict"] == "accept"
    shown = world.client.get(f"{base}/suggestions/{s['id']}", headers=auth)
    assert shown.json() == answered.json()
    unknown = world.client.get(f"{base}/suggestions/s-000000000000", headers=auth)
    assert unknown.status_code == 404
    bad = world.client.post(
        f"{base}/optimize", json={"limits": {"bolus_change": 0.9}}, headers=auth
    )
    assert bad.status_code == 422
    # A token for another purpose cannot run scenarios; the spec says which one it needs.
    other = world.token("alex", person.id, "twin_core")
    refused = world.client.get(base, headers={"Authorization": f"Bearer {other}"})
    assert refused.status_code == 403
    assert "simulation" in refused.json()["detail"]
    spec = world.app.openapi()["paths"]
    assert spec["/api/v1/persons/{person_id}/whatif"]["post"]["x-lifetwin-scope"] == "simulation"
    body = spec["/api/v1/persons/{person_id}/whatif"]["post"]["requestBody"]["content"]
    assert "interventions" in body["application/json"]["schema"]["properties"]


def test_revoking_the_simulation_grant_deletes_runs_and_suggestions(
    home: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    store = open_home(copy)
    try:
        vault = store.vault(store.person(PERSON))
        ctx = Context(store, store.person(PERSON), purpose=Purpose.SIMULATION)
        before = ops.saved(ctx)
        assert any("bolus" in s.kinds for s in before.scenarios)
        grant = next(
            g
            for g in vault.consents().grants
            if g.purpose == Purpose.SIMULATION and str(g.scope) == "domain:metabolic"
        )
        vault.revoke(grant.id)
        after = ops.saved(ctx)
        assert not any({"bolus", "meal"} & set(s.kinds) for s in after.scenarios)
        assert not any(r.suggestion.goal.kind == "time_in_range" for r in after.suggestions)
        assert any("sleep" in s.kinds for s in after.scenarios)  # sleep used no metabolic data
    finally:
        store.close()


# -- the dashboard, in a real browser --------------------------------------------------------------


@pytest.fixture(scope="module")
def server(home: Path, world: ServiceWorld) -> Iterator[dict[str, Any]]:
    require_chromium()

    store = open_home(home)
    with serving(store, home / "uploads") as url:
        yield {"url": url, "store": store, "person": store.person(PERSON)}
    store.close()


def test_a_person_runs_a_scenario_and_answers_a_suggestion_in_the_browser(
    server: dict[str, Any],
) -> None:
    from playwright.sync_api import sync_playwright

    from test_browser import _labelled, _low_contrast, _shot

    base, person = server["url"], server["person"]
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/login")
        page.fill("#name", "alex")
        page.fill("#password", PASSWORD)
        page.fill("#code", totp_code(server["store"], "alex"))
        page.click("#sign-in")
        page.wait_for_url(f"**/p/{person.id}")

        # The navigation leads to the page; an example fills the editor; it runs.
        page.click("nav >> text=What if")
        page.wait_for_url(f"**/p/{person.id}/whatif")
        assert _labelled(page) == []
        page.click("text=bolus 15 min before meals")
        assert "shift_min: -15" in page.locator("#scenario_text").input_value()
        page.click("#run-text")
        page.wait_for_selector("#whatif-glucose[data-drawn=true] .main-svg", timeout=120_000)
        comparison = page.locator("#comparison").inner_text()
        assert "time in range" in comparison
        assert "On your twin" in comparison
        chart = json.loads(page.locator("#chart-whatif-glucose").text_content() or "{}")
        names = [trace["name"] for trace in chart["data"]]
        assert "as usual" in names
        assert "as usual (90 % band)" in names
        assert "bolus 15 min before meals (90 % band)" in names
        assert page.locator("table.outcomes").first.is_visible()
        assert _low_contrast(page) == []
        _shot(page, "whatif")

        # The simple form: a training week, with its chart.
        page.fill("#load_pct", "110")
        page.fill("#horizon_days", "14")
        page.fill("#name", "harder fortnight")
        page.click("#run-form")
        page.wait_for_selector("#whatif-training[data-drawn=true] .main-svg", timeout=60_000)
        assert "acute:chronic" in page.locator("#result").inner_text()

        # A mistake is one sentence, and what was typed stays.
        page.fill("#scenario_text", '{"interventions": [{"kind": "basal", "scale": 9}]}')
        page.click("#run-text")
        said = page.locator("#scenario-error").inner_text()
        assert said == "Intervention 1 (basal), scale: must be at most 3."
        assert errors.pop() == (  # the page answers 422, which the browser logs
            "Failed to load resource: the server responded with a status of 422 "
            "(Unprocessable Entity)"
        )
        assert '"scale": 9' in page.locator("#scenario_text").input_value()

        # The best change within the limits, with its evidence and constraints, answered.
        page.select_option("#goal", "sleep")
        page.fill("#target", "8.5")
        page.click("#optimize")
        page.wait_for_selector("#suggestion-card")
        assert page.locator("#constraints tbody tr").count() >= 2
        assert "not a medical instruction" in page.locator("#suggestion-card").inner_text() or (
            "associations, not causes" in page.locator("#suggestion-card").inner_text()
        )
        page.click("#suggestion-card summary")
        page.click("#correct")  # nothing changed: nothing to correct
        assert "at least one value" in page.locator(".flash").inner_text()
        page.click("#suggestion-card summary")
        page.fill("[name='set:bedtime_min_of_day']", "22:45")
        page.fill("#correct-note", "I read first")
        page.click("#correct")
        page.wait_for_selector("#answers")
        assert "corrected (bedtime 22:45)" in page.locator("#answers").inner_text()
        assert "I read first" in page.locator("#answers").inner_text()
        assert "stored with the suggestion" in page.locator(".flash").inner_text()
        page.fill("#note", "no thanks")
        page.click("#reject")
        page.wait_for_selector("#answers li:nth-child(2)")
        assert "rejected — no thanks" in page.locator("#answers").inner_text()
        assert _labelled(page) == []
        assert _low_contrast(page) == []
        _shot(page, "whatif-suggestion")

        # It fits a phone.
        phone = browser.new_context(
            viewport={"width": 375, "height": 740}, storage_state=context.storage_state()
        ).new_page()
        phone.goto(f"{base}/p/{person.id}/whatif?example=prebolus")
        phone.click("#run-text")
        phone.wait_for_selector("#whatif-glucose[data-drawn=true] .main-svg", timeout=60_000)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 380, width
        _shot(phone, "whatif-phone")
        phone.context.close()
        assert errors == [], errors
        context.close()
        browser.close()
