"""The body pages in a real browser (Debian's chromium driven by Playwright, against the
real service on a real store with the demo person), one journey per persona:

* **a runner** — the activity page, the workout list, a workout with its route drawn from
  the GPS track (no map tiles: no request leaves the machine), its heart-rate curve and
  zones;
* **a quantified-self user** — the sleep page with the hypnogram drawn, the overview's
  sparklines, the readiness summary;
* **a person tracking money** — spending by category in euros.

Every page is checked at 375 px without horizontal scroll and for WCAG AA text contrast.
Screenshots go to docs/screenshots/ (set LIFETWIN_SCREENSHOTS=0 to skip writing them).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from browsing import require_chromium, serving
from conftest import PASSWORD, totp_code
from lifetwin.services.accounts import Accounts, Role
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home
from test_browser import SHOTS, _labelled, _low_contrast

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()

    home = tmp_path_factory.mktemp("browser-body-home")
    store = init_home(home)
    summary = create_demo(store, days=14, seed=7, end=datetime.now(UTC))
    Accounts(store).create("alex", PASSWORD, Role.PERSON, summary.person.id)
    with serving(store, home / "uploads") as url:
        yield {"url": url, "store": store, "person": summary.person}


@pytest.fixture(scope="module")
def signed_in(server: dict[str, Any], browser: Any) -> dict[str, Any]:
    """A signed-in browser context, with every request and console error it sees."""
    base = server["url"]
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    seen: dict[str, list[str]] = {"requests": [], "errors": []}
    context.on("request", lambda r: seen["requests"].append(r.url))
    page = context.new_page()
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(base + "/login")
    page.fill("#name", "alex")
    page.fill("#password", PASSWORD)
    page.fill("#code", totp_code(server["store"], "alex"))
    page.click("#sign-in")
    page.wait_for_url(f"**/p/{server['person'].id}")
    return {"context": context, "page": page, "seen": seen}


def _shot(where: Any, name: str) -> None:
    """A screenshot of a whole page, or of one element (a locator)."""
    if os.environ.get("LIFETWIN_SCREENSHOTS", "1") != "0":
        SHOTS.mkdir(parents=True, exist_ok=True)
        whole = {"full_page": True} if hasattr(where, "goto") else {}
        where.screenshot(path=str(SHOTS / f"{name}.png"), **whole)


def _on_a_phone(browser: Any, signed_in: dict[str, Any], url: str, shot: str) -> Any:
    """The page at 375 px: no horizontal scroll, and its screenshot."""
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, storage_state=signed_in["context"].storage_state()
    ).new_page()
    phone.goto(url)
    phone.wait_for_load_state("networkidle")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, (url, width)
    _shot(phone, shot)
    phone.context.close()


def _chart(page: Any, name: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(page.locator(f"#chart-{name}").text_content() or "{}")
    return found


def _nothing_left_the_machine(server: dict[str, Any], signed_in: dict[str, Any]) -> None:
    outside = [u for u in signed_in["seen"]["requests"] if not u.startswith(server["url"])]
    assert outside == []
    assert signed_in["seen"]["errors"] == []


def test_a_runner_opens_a_workout_and_sees_its_route_and_heart_rate_zones(
    server: dict[str, Any], browser: Any, signed_in: dict[str, Any]
) -> None:
    base, person = server["url"], server["person"]
    page = signed_in["page"]
    page.goto(f"{base}/p/{person.id}")
    page.click("nav >> text=Activity")
    page.wait_for_selector("#steps-month[data-drawn=true] .main-svg")
    assert "steps" in page.locator("#activity-sentence").inner_text()
    assert page.locator("#today-totals dt", has_text="Steps").count() == 1
    assert _low_contrast(page) == []
    _shot(page, "workout-activity")

    page.click("#all-workouts")
    page.wait_for_selector("#workout-list")
    rows = page.locator("#workout-list tbody tr")
    assert rows.count() >= 4
    assert "Europe/Berlin" in page.locator("#workout-list caption").inner_text()
    _shot(page, "workout-list")
    _on_a_phone(browser, signed_in, page.url, "workout-list-phone")

    page.locator("#workout-list tbody tr th a", has_text="Running").first.click()
    page.wait_for_selector("#route[data-drawn=true] .main-svg")
    page.wait_for_selector("#hr[data-drawn=true] .main-svg")
    route = _chart(page, "route")
    track = route["data"][0]
    assert len(track["x"]) == len(track["y"]) > 100
    assert route["layout"]["yaxis"]["scaleanchor"] == "x"  # metres both ways: not distorted
    scale = route["layout"]["annotations"][0]["text"]
    assert re.fullmatch(r"\d+ m|\d+(\.\d+)? km", scale), scale
    assert page.locator("#route .scatterlayer .trace").count() >= 3  # track, start, finish
    assert page.locator("#route text", has_text=scale).count() == 1  # the scale bar drawn
    zones = page.locator("#zones tbody tr")
    assert zones.count() == 6
    assert "186 bpm (your profile)" in page.locator("#zone-basis").inner_text()
    shares = [float(t.split()[-2]) for t in zones.all_inner_texts()]
    assert sum(shares) == pytest.approx(100, abs=1)
    assert "Distance" in page.locator("#workout-facts").inner_text()
    assert page.locator("#splits tbody tr").count() >= 5
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    _shot(page, "workout-route")
    _on_a_phone(browser, signed_in, page.url, "workout-route-phone")
    _nothing_left_the_machine(server, signed_in)


def test_a_quantified_self_user_sees_the_hypnogram_sparklines_and_readiness(
    server: dict[str, Any], browser: Any, signed_in: dict[str, Any]
) -> None:
    base, person = server["url"], server["person"]
    page = signed_in["page"]

    # The overview's trends: a sparkline for the week and the month of each main metric.
    page.goto(f"{base}/p/{person.id}")
    cards = page.locator("#trends li")
    assert cards.count() >= 8
    for code in ("steps", "resting_heart_rate", "sleep_duration"):
        card = page.locator(f"#trends li[data-metric={code}]")
        paths = card.locator("path.spark-line")
        assert paths.count() == 2
        assert all((paths.nth(i).get_attribute("d") or "").startswith("M") for i in range(2))
        assert "This week" in card.inner_text()
    assert _low_contrast(page) == []
    _shot(page.locator("#trends"), "sleep-overview-trends")

    # The sleep stages' old metric page leads to the sleep page, with the hypnogram drawn.
    page.goto(f"{base}/p/{person.id}/metric/sleep_stage")
    page.wait_for_url(f"**/p/{person.id}/sleep")
    page.wait_for_selector("#hypnogram[data-drawn=true] .main-svg")
    hypnogram = _chart(page, "hypnogram")
    assert {t["name"] for t in hypnogram["data"]} >= {"Deep", "Light", "REM", "Awake"}
    assert page.locator("#hypnogram .barlayer .point").count() >= 10  # stage bars drawn
    assert "Europe/Berlin" in hypnogram["layout"]["xaxis"]["title"]["text"]
    totals = page.locator("#night-totals").inner_text()
    assert "To bed" in totals
    assert "Efficiency" in totals
    assert "Europe/Berlin" in totals
    assert "You slept" in page.locator("#sleep-sentence").inner_text()
    page.wait_for_selector("#sleep-week[data-drawn=true] .main-svg")
    page.wait_for_selector("#sleep-month[data-drawn=true] .main-svg")
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    _shot(page, "sleep-hypnogram")
    _on_a_phone(browser, signed_in, page.url, "sleep-phone")

    # An earlier night, by its link.
    page.click("a[rel=prev]")
    page.wait_for_selector("#hypnogram[data-drawn=true] .main-svg")
    assert "night=" in page.url

    # Readiness: one number, its parts in plain words, and what it is not.
    page.click("nav >> text=Readiness")
    assert "not a medical score" in page.locator("#readiness-note").inner_text()
    score = page.locator("#readiness-score").inner_text()
    assert score.isdigit()
    assert 0 <= int(score) <= 100
    assert page.locator("#readiness-parts tbody tr").count() == 4
    assert _low_contrast(page) == []
    _shot(page, "sleep-readiness")
    _on_a_phone(browser, signed_in, page.url, "sleep-readiness-phone")
    _nothing_left_the_machine(server, signed_in)


def test_a_person_tracking_money_sees_spending_by_category_in_euros(
    server: dict[str, Any], browser: Any, signed_in: dict[str, Any]
) -> None:
    base, person = server["url"], server["person"]
    page = signed_in["page"]
    page.goto(f"{base}/p/{person.id}")
    page.click("nav >> text=Money")
    page.wait_for_selector("#money-categories[data-drawn=true] .main-svg")
    table = page.locator("#category-table").inner_text()
    assert "Rent" in table
    assert "EUR" in table
    assert "Groceries" in table
    assert "in EUR" in page.locator("#category-table caption").inner_text()
    body = page.locator("main").inner_text()
    assert not re.search(r"\d currency", body)  # amounts carry their real currency
    assert "EUR" in page.locator("#money-sentence").inner_text()
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    _shot(page, "money")
    _on_a_phone(browser, signed_in, page.url, "money-phone")

    # The month before, from the month-by-month table.
    page.locator("table.compact a").last.click()
    page.wait_for_selector("#money-categories[data-drawn=true] .main-svg")
    assert "Came in" in page.locator("#money-totals").inner_text()
    _nothing_left_the_machine(server, signed_in)
