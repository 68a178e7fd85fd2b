"""The dashboard's common pages in a real browser (Debian's chromium driven by Playwright,
against uvicorn on loopback, on a real store with four weeks of the demo person).

Journeys: log a mood and a note and see them; a new person adds what the risk scores
miss through the hints, the log and the profile form, and sees a score computed; the
metrics page; sharing a category with a caregiver who then sees it; /api/docs with no
request leaving the machine; the insights page without pairs that measure one thing
twice; the access report as a page. Every page fits 375 px and keeps WCAG AA contrast.
Screenshots go to docs/screenshots/ (LIFETWIN_SCREENSHOTS=0 skips writing them).
"""

from __future__ import annotations

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
from test_browser import _labelled, _low_contrast, _shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()

    home = tmp_path_factory.mktemp("browser-common-home")
    store = init_home(home)
    summary = create_demo(store, days=28, seed=7, end=datetime.now(UTC))
    accounts = Accounts(store)
    accounts.create("alex", PASSWORD, Role.PERSON, summary.person.id)
    sam = store.add_person("Sam New")
    accounts.create("sam", PASSWORD, Role.PERSON, sam.id)
    accounts.create("dr-ana", PASSWORD, Role.CAREGIVER, None)
    with serving(store, home / "uploads") as url:
        yield {
            "url": url,
            "store": store,
            "person": summary.person,
            "sam": sam,
        }


def _sign_in(browser: Any, server: dict[str, Any], account: str, width: int = 1200) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    page.errors = []
    page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(server["url"] + "/login")
    page.fill("#name", account)
    page.fill("#password", PASSWORD)
    page.fill("#code", totp_code(server["store"], account))
    page.click("#sign-in")
    page.wait_for_load_state()
    return page


def _fits_a_phone(browser: Any, page: Any, url: str, shot: str | None = None) -> None:
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, storage_state=page.context.storage_state()
    ).new_page()
    phone.goto(url)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, (url, width)
    if shot:
        _shot(phone, shot)
    phone.context.close()


def _accessible(page: Any) -> None:
    assert _labelled(page) == []
    assert _low_contrast(page) == []


def test_log_a_mood_and_a_note_and_see_them(server: dict[str, Any], browser: Any) -> None:
    page = _sign_in(browser, server, "alex")
    base = f"{server['url']}/p/{server['person'].id}"
    page.goto(base + "/log")
    assert page.locator("nav a[aria-current=page]").inner_text() == "Log"
    _accessible(page)
    page.check("input[name=mood][value='0.5']")
    page.check("#energy-4")
    page.fill("#note", "Swam 1 km before work, felt great.")
    page.click("#log-submit")
    flash = page.locator(".flash").inner_text()
    assert flash.startswith("Logged mood 0.5 (−1 to +1), energy level 4 of 5 and a note at")
    assert "CET" in flash or "CEST" in flash
    entries = page.locator("#entries").inner_text()
    assert "Note: Swam 1 km before work, felt great." in entries
    assert "Mood: 0.5 (−1 to +1)" in entries
    _shot(page, "log")
    page.fill("#blood_pressure", "80/120")
    page.click("#log-submit")
    assert page.locator("#log-error").inner_text() == (
        "In 80/120 the first number (systolic) must be above the second (diastolic)."
    )
    _fits_a_phone(browser, page, base + "/log", "log-phone")
    assert page.errors == []
    page.context.close()


def test_the_profile_form_fixes_a_score_that_was_not_computed(
    server: dict[str, Any], browser: Any
) -> None:
    page = _sign_in(browser, server, "sam")
    base = f"{server['url']}/p/{server['sam'].id}"
    page.goto(base + "/risk")
    framingham = page.locator("section.card", has_text="Framingham")
    assert "Not computed: missing:" in framingham.inner_text()
    _shot(page, "risk-hints")
    # Each missing input links to where it is added: the log for measurements ...
    framingham.locator("[data-hint=sbp] a").click()
    assert page.url.endswith("/log#blood_pressure")
    page.fill("#blood_pressure", "128/82")
    page.fill("#total_cholesterol", "212")
    page.fill("#hdl", "51")
    page.click("#log-submit")
    assert "systolic blood pressure 128 mmHg" in page.locator(".flash").inner_text()
    # ... and the profile form for answers.
    page.goto(base + "/risk")
    page.locator("section.card", has_text="Framingham").locator("[data-hint=age] a").click()
    assert page.url.endswith("/profile#field-birth_date")
    _accessible(page)
    page.fill("#birth_date", "1970-05-04")
    page.select_option("#sex", "female")
    page.select_option("#smoker", "no")
    page.select_option("#diabetes", "no")
    page.select_option("#bp_treated", "no")
    page.fill("#height_cm", "6 feet")  # refused whole: no fact of it is kept
    page.click("#profile-submit")
    assert "The unit 'feet' for height_cm" in page.locator("#profile-error").inner_text()
    page.fill("#height_cm", "")
    page.fill("#birth_date", "1970-05-04")
    page.select_option("#sex", "female")
    page.select_option("#smoker", "no")
    page.select_option("#diabetes", "no")
    page.select_option("#bp_treated", "no")
    page.click("#profile-submit")
    assert page.locator(".flash").inner_text() == "Your profile is saved."
    _shot(page, "profile")
    # What was logged is in the vault, but the twin may not use it yet: the hint is the grant.
    page.goto(base + "/risk")
    hint = page.locator("section.card", has_text="Framingham").locator("[data-hint=sbp]")
    assert "allow metric:blood_pressure_systolic for the twin itself" in hint.inner_text()
    hint.locator("a").click()
    assert page.url.endswith("/privacy#consent-h")
    for category in ("vitals", "metabolic"):
        page.locator(f"[data-testid=consent-{category}-twin_core]").click()
        assert "may now be used for twin core" in page.locator(".flash").inner_text()
    page.goto(base + "/risk")
    now = page.locator("section.card", has_text="Framingham")
    assert "Not computed" not in now.inner_text()
    assert "%" in now.locator(".big").inner_text()
    _fits_a_phone(browser, page, base + "/profile")
    assert page.errors == []
    page.context.close()


def test_the_metrics_page_lists_every_metric_in_the_persons_zone(
    server: dict[str, Any], browser: Any
) -> None:
    page = _sign_in(browser, server, "alex")
    base = f"{server['url']}/p/{server['person'].id}"
    page.goto(base + "/metrics")
    text = page.locator("main").inner_text()
    assert "Times are in Europe/Berlin" in text
    rows = page.locator("#metrics tbody tr")
    assert rows.count() >= 25
    heart = page.locator("#metrics tbody th", has_text="Heart rate").first
    assert heart.locator("a").get_attribute("href").endswith("/metric/heart_rate?days=30")
    assert "bpm" in page.locator("#metrics").inner_text()
    for placeholder in ("dimensionless", "currency", " count"):
        assert placeholder not in page.locator("#metrics").inner_text(), placeholder
    assert "CET" in page.locator("#metrics").inner_text()
    # Two sources of one kind of record are explained, naming them.
    assert "streams of" in page.locator("#dup-h + ul").inner_text()
    _accessible(page)
    _shot(page, "metrics")
    _fits_a_phone(browser, page, base + "/metrics")
    assert page.errors == []
    page.context.close()


def test_share_a_category_with_a_caregiver_and_stop_it(
    server: dict[str, Any], browser: Any
) -> None:
    page = _sign_in(browser, server, "alex")
    person = server["person"]
    base = f"{server['url']}/p/{person.id}"
    page.goto(base + "/privacy")
    page.select_option("#share-category", "body")
    page.fill("#share-recipient", "nobody")
    page.click("#share-submit")
    assert "There is no caregiver account 'nobody'" in page.locator("#privacy-error").inner_text()
    page.select_option("#share-category", "body")
    page.fill("#share-recipient", "dr-ana")
    page.click("#share-submit")
    assert page.locator(".flash").inner_text() == "Your body data is now shared with dr-ana."
    assert "dr-ana" in page.locator("[data-testid=shared-body]").inner_text()
    log = page.locator("ol.log").inner_text()
    assert "You allowed your body data for sharing with dr-ana." in log
    _accessible(page)
    _shot(page, "privacy-sharing")
    carer = _sign_in(browser, server, "dr-ana")
    carer.goto(f"{server['url']}/p/{person.id}/shared")
    shared = carer.locator("main").inner_text()
    assert "body mass" in shared
    assert "heart rate" not in shared
    carer.context.close()
    page.goto(base + "/privacy")
    page.locator("[data-testid=shared-body] button").click()
    assert "That share is stopped" in page.locator(".flash").inner_text()
    assert page.locator("[data-testid=shared-body]").inner_text().strip() == "—"
    assert "read " in page.locator("ol.log").inner_text()  # the caregiver's reads, in words
    _fits_a_phone(browser, page, base + "/privacy")
    assert page.errors == []
    page.context.close()


def test_api_docs_render_with_no_request_leaving_the_machine(
    server: dict[str, Any], browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server["url"] + "/api/docs")
    page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
    assert page.locator(".swagger-ui .opblock").count() > 50
    assert "LifeTwin" in page.locator(".swagger-ui .title").inner_text()
    outside = [u for u in requests if not u.startswith(server["url"]) and not u.startswith("data:")]
    assert outside == []
    assert errors == []
    _shot(page, "api-docs")
    context.close()


def test_insights_are_plain_ranked_charted_and_never_one_thing_twice(
    server: dict[str, Any], browser: Any
) -> None:
    page = _sign_in(browser, server, "alex")
    base = f"{server['url']}/p/{server['person'].id}"
    page.goto(base + "/insights")
    cards = page.locator("section.insight")
    assert cards.count() >= 1
    page.wait_for_selector("section.insight .chart[data-drawn=true] .main-svg")
    headlines = [h.strip() for h in page.locator("section.insight h2").all_inner_texts()]
    assert headlines[0].startswith("1. ")
    pairs = (  # "heart rate" alone: not resting heart rate, not heart rate variability
        (r"(?<!resting )heart rate(?! variability)", "resting heart rate"),
        ("you walk", "in activity"),
        ("mood", "energetic"),
        ("systolic", "diastolic"),
    )
    for headline in headlines:
        for a, b in pairs:
            assert not (re.search(a, headline) and b in headline), headline
    text = page.locator("main").inner_text()
    for bad in ("e+0", "dimensionless", "hrv sdnn", "_", "count "):
        assert bad not in text, bad
    assert "not proof that one causes the other" in text
    assert "Not compared, because each is one thing measured two ways" in text
    _accessible(page)
    _shot(page, "insights-ranked")
    _fits_a_phone(browser, page, base + "/insights", "insights-phone")
    assert page.errors == []
    page.context.close()


def test_the_access_report_is_a_page_of_the_dashboard(server: dict[str, Any], browser: Any) -> None:
    page = _sign_in(browser, server, "alex")
    base = f"{server['url']}/p/{server['person'].id}"
    page.goto(base + "/privacy")
    page.click("text=The full access report")
    assert page.locator("h1").inner_text().startswith("What LifeTwin holds about")
    assert page.locator("header nav a[aria-current=page]").inner_text() == "Privacy"
    assert page.locator("table.report").count() >= 5
    assert "intact and signed" in page.locator("main").inner_text()
    _accessible(page)
    _shot(page, "report")
    _fits_a_phone(browser, page, base + "/report")
    assert page.errors == []
    page.context.close()
