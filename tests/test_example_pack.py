"""The example pack (examples/hydration) adds a domain to LifeTwin without touching it:
installed with pip, it is listed by `lifetwin packs`, its connector reads a drinks log,
its capability answers on the command line, in the API and on a dashboard page, and its
data category is granted like any other."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from conftest import ServiceWorld
from lifetwin.services.accounts import Role
from lifetwin.services.home import open_home

ROOT = Path(__file__).resolve().parents[1]
DRINKS = ROOT / "examples" / "hydration" / "drinks.csv"


def test_the_example_pack_is_installed_from_its_own_distribution() -> None:
    found = [e for e in metadata.entry_points(group="lifetwin") if e.name == "hydration"]
    assert found, "install it: pip install -e examples/hydration (make setup does)"
    assert found[0].dist is not None
    assert found[0].dist.name == "lifetwin-hydration"


def test_adding_the_pack_changed_no_file_of_lifetwin() -> None:
    for path in (ROOT / "src" / "lifetwin").rglob("*"):
        if path.is_file() and path.suffix in (".py", ".html", ".toml", ".css", ".js"):
            text = path.read_text(encoding="utf-8", errors="replace")
            # LifeTwin's code knows neither the pack's module nor its metric
            assert "lifetwin_hydration" not in text, path
            assert "water_intake" not in text, path


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    where = tmp_path_factory.mktemp("pack") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIFETWIN_")}
    env |= {"LIFETWIN_HOME": str(where), "COLUMNS": "200"}
    return where, env


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lifetwin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_import_read_capability_cli_api_and_page(home: tuple[Path, dict[str, str]]) -> None:
    where, env = home
    listed = json.loads(_cli(env, "packs", "--json").stdout)
    pack = next(p for p in listed["items"] if p["name"] == "hydration")
    assert pack["registers"]["metrics"] == ["water_intake"]
    assert pack["registers"]["connectors"] == ["hydration_csv"]
    assert pack["registers"]["commands"] == ["hydration"]
    assert pack["registers"]["routes"] == ["/api/v1/persons/{person_id}/hydration"]
    assert pack["registers"]["pages"] == ["Hydration"]

    assert _cli(env, "init").returncode == 0
    assert _cli(env, "person", "add", "Ana").returncode == 0
    imported = _cli(env, "import", str(DRINKS), "-p", "Ana")
    # detected by the pack's connector; the one unreadable row is named, the rest stored
    assert "(hydration_csv): read 9, stored 9 new" in imported.stdout, imported.stdout
    assert "line 11" in imported.stderr
    assert "number of mL" in imported.stderr
    assert imported.returncode == 1

    refused = _cli(env, "hydration", "Ana")  # no grant yet: the category is withheld
    assert refused.returncode == 1
    assert "grant twin_core for hydration" in refused.stderr
    granted = _cli(
        env, "consent", "grant", "Ana", "--scope", "domain:hydration", "--purpose", "twin_core"
    )
    assert granted.returncode == 0, granted.stderr

    shown = _cli(env, "hydration", "Ana")
    assert "2026-11-20    1550 mL" in shown.stdout, shown.stdout
    assert "goal of 2000 mL met on 1 of 3 days" in shown.stdout
    from_cli = json.loads(_cli(env, "hydration", "Ana", "--json").stdout)

    store = open_home(where)
    world = ServiceWorld(store)
    try:
        person = store.person("Ana")
        world.accounts.create("ana", "correct horse battery", Role.PERSON, person.id)
        auth = {"Authorization": f"Bearer {world.token('ana', person.id)}"}
        answer = world.client.get(f"/api/v1/persons/{person.id}/hydration", headers=auth)
        assert answer.status_code == 200, answer.text
        assert answer.json() == from_cli
        spec: dict[str, Any] = world.app.openapi()
        assert "Hydration" in spec["components"]["schemas"]

        browser = world.new_client()
        world.sign_in(browser, "ana")
        overview = browser.get(f"/p/{person.id}")  # type: ignore[attr-defined]
        assert f'href="/p/{person.id}/hydration"' in overview.text  # the pack's nav entry
        page = browser.get(f"/p/{person.id}/hydration")  # type: ignore[attr-defined]
        assert page.status_code == 200
        assert "goal of 2000 mL was met on 1 of 3 days" in page.text
        assert 'id="chart-hydration"' in page.text
    finally:
        world.app.state.service.close()
        store.close()
