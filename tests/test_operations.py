"""One operation, one place: for the demo person, each operation's `--json` on the command
line is the JSON the API returns, and every success response of the API has a schema."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ServiceWorld
from lifetwin.services.accounts import AccountError, Role
from lifetwin.services.home import open_home

PERSON = "Alex Demo"

# (CLI arguments after the person, API path after /api/v1/persons/{id}); the defaults of
# each adapter must agree, so no option is given to either side.
PAIRS = [
    (["overview"], "/overview"),
    (["twin"], "/twin"),
    (["alerts"], "/alerts"),
    (["forecast"], "/forecast"),
    (["forecast", "-m", "resting_heart_rate"], "/forecast?metric=resting_heart_rate"),
    (["cgm"], "/cgm"),
    (["cgm", "--unit", "mmol/L"], "/cgm?unit=mmol/L"),
    (["glucose", "now"], "/glucose/now"),
    (["glucose", "day"], "/glucose/day"),
    (["glucose", "week"], "/glucose/week"),
    (["glucose", "agp"], "/glucose/agp"),
    (["glucose", "settings"], "/glucose/settings"),
    (["risk"], "/risk"),
    (["insights"], "/insights"),
    (["consent", "list"], "/consents"),
    (["population", "budget", "--person"], "/contributions"),
    (["whatif"], "/whatif"),  # the saved scenario runs and suggestions
    (["recommend"], "/recommendations"),
    (["recommend-settings"], "/recommendations/settings"),
    (["recommend-log"], "/recommendations/log"),
    (["learn"], "/learning"),
    (["consent", "shares"], "/shares"),
    (["person", "profile"], "/profile"),
    (["show"], "/metrics"),
    (["sleep"], "/sleep"),
    (["activity"], "/activity"),
    (["workouts"], "/workouts"),
    (["readiness"], "/readiness"),
    (["money"], "/money"),
    (["trends"], "/trends"),
]
# What differs between two calls a second apart: how old the newest reading is (in
# minutes or days, and whether it is stale), the moment today's activity is counted up
# to, and when an operation that forecasts from now was asked.
VOLATILE = {"age_min", "status", "age_days", "stale", "as_of", "asked_at"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


@pytest.fixture(scope="module")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    home = tmp_path_factory.mktemp("ops") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(home), "COLUMNS": "200"}
    for args in (["init"], ["demo", "--account", ""]):
        subprocess.run(
            [sys.executable, "-m", "lifetwin", *args], env=env, check=True, capture_output=True
        )
    return home, env


def _cli_json(env: dict[str, str], *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "lifetwin", *args, "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.parametrize(("cli_args", "api_path"), PAIRS, ids=[" ".join(c) for c, _ in PAIRS])
def test_the_command_line_and_the_api_answer_the_same(
    demo_home: tuple[Path, dict[str, str]], cli_args: list[str], api_path: str
) -> None:
    home, env = demo_home
    # the person follows a command, a group's command, or (population) its option
    words = {"consent": 2, "person": 2, "glucose": 2, "population": 3}.get(cli_args[0], 1)
    argv = [*cli_args[:words], PERSON, *cli_args[words:]]
    _cli_json(env, *argv)  # the first reads learn what is new; both sides then read the same
    store = open_home(home)
    world = ServiceWorld(store)
    try:
        person = store.person(PERSON)
        try:
            world.accounts.get("alex")
        except AccountError:
            world.accounts.create("alex", "correct horse battery", Role.PERSON, person.id)
        auth = {"Authorization": f"Bearer {world.token('alex', person.id)}"}
        answer = world.client.get(f"/api/v1/persons/{person.id}{api_path}", headers=auth)
        assert answer.status_code == 200, answer.text
        from_api = answer.json()
    finally:
        world.app.state.service.close()
        store.close()
    from_cli = _cli_json(env, *argv)
    assert _strip(from_cli) == _strip(from_api)


def test_every_success_response_of_the_api_has_a_schema(world: ServiceWorld) -> None:
    spec = world.app.openapi()
    missing = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                if not code.startswith("2") or code == "204":
                    continue
                content = response.get("content") or {}
                if not any(kind.get("schema") for kind in content.values()):
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []


def test_the_command_lines_defaults_are_the_operations() -> None:
    from lifetwin.cli import twin as cli
    from lifetwin.operations import twin as ops

    for name in (
        "ILLNESS_BUDGET",
        "DEVIATION_BUDGET",
        "INSIGHT_FDR",
        "INSIGHT_MIN_DAYS",
        "CGM_DAYS",
        "DAILY_HORIZON",
    ):
        assert getattr(cli, name) == getattr(ops, name), name
