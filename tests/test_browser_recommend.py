"""The "For you" and Learning pages in a real browser (Debian's chromium through
Playwright, against the real service on a real store with the demo person), as
tests/test_browser.py drives the rest of the dashboard.

One journey: sign in, see a nudge and why, press "not now" and see it go while the others
stay, stop recommendations from using sleep data, pause and resume, fit a phone, then
the Learning page with mastery per skill and forecast recall drawn. Screenshots go to
docs/screenshots/ (LIFETWIN_SCREENSHOTS=0 skips them).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from datetime import time as clock
from typing import Any

import pytest

from browsing import require_chromium, serving
from conftest import PASSWORD, totp_code
from lifetwin.packs.recommend.capability import update_settings
from lifetwin.services.accounts import Accounts, Role
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home
from test_browser import _labelled, _low_contrast, _shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()

    home = tmp_path_factory.mktemp("browser-rec-home")
    store = init_home(home)
    summary = create_demo(store, days=4, seed=3, end=datetime.now(UTC))
    # No quiet hours, so the journey does not depend on the hour it runs at.
    update_settings(store.vault(summary.person), quiet_start=clock(0), quiet_end=clock(0))
    Accounts(store).create("alex", PASSWORD, Role.PERSON, summary.person.id)
    with serving(store, home / "uploads") as url:
        yield {"url": url, "store": store, "person": summary.person}


def _items(page: Any) -> list[str]:
    found: list[str] = page.eval_on_selector_all("li.rec", "els => els.map(el => el.dataset.item)")
    return found


def test_a_person_sees_why_says_not_now_controls_their_data_and_sees_their_learning(
    server: dict[str, Any], browser: Any
) -> None:
    base, person = server["url"], server["person"]
    errors: list[str] = []
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

    # "For you" is in the navigation; each nudge says why, from which data, under which grant.
    page.click("nav >> text=For you")
    page.wait_for_url(f"**/p/{person.id}/recommendations")
    assert page.locator("h1").inner_text() == "For you"
    shown = _items(page)
    assert len(shown) == 3, page.locator("main").inner_text()
    first = page.locator("li.rec").first
    assert not first.locator("ul.reasons").is_visible()
    first.locator("details.why summary").focus()
    page.keyboard.press("Enter")  # the disclosure opens from the keyboard
    reasons = first.locator("ul.reasons li")
    assert reasons.count() >= 2
    assert reasons.first.inner_text().startswith("It serves your goal")
    assert "Read for recommendations:" in first.locator("details.why").inner_text()
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    _shot(page, "recommendations")

    # "Not now" takes that nudge away; the other two stay where they were.
    page.click(f"[data-testid=not-now-{shown[0]}]")
    page.wait_for_selector(".flash")
    assert "will not suggest this again for 4 h" in page.locator(".flash").inner_text()
    assert _items(page) == shown[1:]
    assert "not now" in page.locator("#shown-log").inner_text()

    # "Don't use my sleep data": a consent change, at once.
    page.click("[data-testid=dont-use-sleep]")
    page.wait_for_selector(".flash")
    assert "no longer read your sleep data" in page.locator(".flash").inner_text()
    assert page.locator("[data-testid=use-sleep]").is_visible()
    assert "sleep_duration" not in page.locator("main").inner_text()
    page.goto(f"{base}/p/{person.id}/privacy")
    assert (
        page.locator("[data-testid=consent-sleep-recommendations]").get_attribute("aria-checked")
        == "false"
    )

    # Pause all, and resume.
    page.goto(f"{base}/p/{person.id}/recommendations")
    page.click("#pause")
    page.wait_for_selector("#paused")
    assert _items(page) == []
    assert "recommendations are paused" in page.locator("#nothing").inner_text()
    page.click("#resume")
    page.wait_for_selector("li.rec")
    assert page.locator("#paused").count() == 0

    # It fits a phone.
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, storage_state=context.storage_state()
    ).new_page()
    phone.goto(f"{base}/p/{person.id}/recommendations")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 380
    _shot(phone, "recommendations-phone")
    phone.goto(f"{base}/p/{person.id}/learning")
    phone.wait_for_selector("#mastery[data-drawn=true] .main-svg")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 380
    phone.context.close()

    # Learning: mastery per skill and forecast recall, drawn from the model.
    page.click("nav >> text=Learning")
    page.wait_for_url(f"**/p/{person.id}/learning")
    page.wait_for_selector("#mastery[data-drawn=true] .main-svg")
    page.wait_for_selector("#recall[data-drawn=true] .main-svg")
    skills = page.locator("#skills tbody th").all_inner_texts()
    assert {"Spanish::Vocabulary", "Statistics"} <= set(skills)
    assert page.locator("#decks tbody tr").count() == 3
    assert page.locator("#next-steps li").count() >= 1
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    _shot(page, "learning")
    assert errors == [], errors
    context.close()
