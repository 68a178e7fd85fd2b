"""The study operator's page and the person's research contributions, in a real browser
(Debian's chromium through Playwright, as tests/test_browser.py): signed in with MFA,
readable at 375 px, every control labelled, text contrast at WCAG AA."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from browsing import require_chromium, serving
from conftest import PASSWORD, totp_code
from test_browser import _labelled, _low_contrast, _shot

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def research_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()

    from lifetwin.operations import population as ops
    from lifetwin.population.cohort import make_cohort
    from lifetwin.services.accounts import Accounts, Role
    from lifetwin.services.home import open_home

    cohort = make_cohort(
        tmp_path_factory.mktemp("research") / "home", 24, seed=5, research_share=1.0
    )
    store = open_home(cohort.home)
    sctx = ops.StudyContext(store, home=cohort.home)
    ops.create_study(sctx, cohort.study, "Sleep and strain", 4.0, "How strain moves sleep.")
    ops.statistic(sctx, cohort.study, "resting_heart_rate", "mean", 1.0, lower=40, upper=100)
    accounts = Accounts(store)
    accounts.create("olga", PASSWORD, Role.OPERATOR)
    person = store.person(cohort.twins[0].person_id)
    accounts.create("ada", PASSWORD, Role.PERSON, person.id)
    with serving(store, cohort.home / "uploads") as url:
        yield {"url": url, "store": store, "person": person}


def _sign_in(browser: Any, server: dict[str, Any], account: str, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    page.goto(server["url"] + "/login")
    page.fill("#name", account)
    page.fill("#password", PASSWORD)
    page.fill("#code", totp_code(server["store"], account))
    page.click("#sign-in")
    return page


def test_an_operator_sees_studies_and_a_person_sees_what_they_contributed(
    research_server: dict[str, Any], browser: Any
) -> None:
    base, person = research_server["url"], research_server["person"]
    page = _sign_in(browser, research_server, "olga", 1200)
    page.wait_for_url("**/studies")
    card = page.locator("[data-testid=study-study-sleep-2026]")
    assert "Sleep and strain" in card.inner_text()
    assert "24 of 24 persons grant research" in card.inner_text()
    assert "the mean of resting_heart_rate across persons" in card.inner_text()
    assert person.id not in page.content()
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    _shot(page, "studies")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, storage_state=page.context.storage_state()
    ).new_page()
    phone.goto(base + "/studies")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 380
    phone.context.close()
    page.context.close()

    page = _sign_in(browser, research_server, "ada", 375)
    page.wait_for_url(f"**/p/{person.id}")
    page.goto(f"{base}/p/{person.id}/privacy")
    research = page.locator("[data-testid=research]")
    text = research.inner_text()
    assert "ε 1 of 10 spent" in text
    assert "Sleep and strain" in text
    assert "from about" in text  # what the study released: the mean across persons
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    page.fill("#budget-epsilon", "0.5")
    page.click("text=Set my budget")
    assert "cannot be lowered" in page.locator(".flash").inner_text()
    page.fill("#budget-epsilon", "6")
    page.click("text=Set my budget")
    assert "Your privacy budget is now ε 6." in page.locator(".flash").inner_text()
    assert "ε 1 of 6 spent" in page.locator("[data-testid=research]").inner_text()
    page.goto(base + "/studies")
    assert "study operators" in page.content()  # a person may not see the studies page
    page.context.close()
