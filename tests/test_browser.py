"""The dashboard in a real browser: Debian's chromium driven by Playwright, against the
real service (uvicorn on loopback) on a real store with the demo person.

One journey, as a person would take it: sign in with MFA, import a real Dexcom Clarity
export and watch it finish, see the new readings on a chart, revoke a consent and see
the forecast disappear, download an export, erase everything. Screenshots of each main
page go to docs/screenshots/ (set LIFETWIN_SCREENSHOTS=0 to skip writing them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from browsing import require_chromium, serving
from conftest import PASSWORD, totp_code
from lifetwin.services.accounts import Accounts, Role
from lifetwin.services.demo import create_demo
from lifetwin.services.home import init_home

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "docs" / "screenshots"
CLARITY = (
    ROOT / "tests" / "fixtures" / "realdata" / "cgm" / "cgmquantify_dexcom_clarity_test_file.csv"
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    require_chromium()

    home = tmp_path_factory.mktemp("browser-home")
    store = init_home(home)
    summary = create_demo(store, days=4, seed=3, end=datetime.now(UTC))
    Accounts(store).create("alex", PASSWORD, Role.PERSON, summary.person.id)
    with serving(store, home / "uploads") as url:
        yield {"url": url, "store": store, "person": summary.person}


def _shot(page: Any, name: str) -> None:
    if os.environ.get("LIFETWIN_SCREENSHOTS", "1") != "0":
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _labelled(page: Any) -> list[str]:
    """Visible form controls without an accessible name."""
    result: list[str] = page.evaluate(
        """() => [...document.querySelectorAll(
                'input:not([type=hidden]), select, button, textarea')]
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !(el.textContent || '').trim())
            .map(el => el.outerHTML)"""
    )
    return result


CONTRAST_JS = """() => {
  const rgb = (c) => (c.match(/[0-9.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('svg, .js-plotly-plot')) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !el.getClientRects().length) continue;
    const style = getComputedStyle(el);
    const a = lum(rgb(style.color)), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    const size = parseFloat(style.fontSize), heavy = Number(style.fontWeight) >= 700;
    const large = size >= 24 || (heavy && size >= 18.66);
    const text = el.textContent.trim().slice(0, 30);
    if (ratio < (large ? 3 : 4.5)) bad.push(`${el.tagName} "${text}" ${ratio.toFixed(2)}`);
  }
  return bad;
}"""


def _low_contrast(page: Any) -> list[str]:
    """Text below WCAG AA contrast (4.5:1, or 3:1 for large text), charts aside."""
    result: list[str] = page.evaluate(CONTRAST_JS)
    return result


def test_a_person_signs_in_imports_sees_revokes_exports_and_erases(
    server: dict[str, Any], browser: Any
) -> None:
    base, person = server["url"], server["person"]
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1200, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Sign in with password and TOTP; a replayed code is refused.
    page.goto(base + "/")
    assert page.url.endswith("/login")
    _shot(page, "login")
    assert _labelled(page) == []
    code = totp_code(server["store"], "alex")
    page.fill("#name", "alex")
    page.fill("#password", PASSWORD)
    page.fill("#code", code)
    page.click("#sign-in")
    page.wait_for_url(f"**/p/{person.id}")
    assert page.locator("h1").inner_text() == f"{person.name}'s twin"
    assert page.locator("table tbody tr").count() >= 8
    _shot(page, "overview")
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    replay = browser.new_context().new_page()
    replay.goto(base + "/login")
    replay.fill("#name", "alex")
    replay.fill("#password", PASSWORD)
    replay.fill("#code", code)
    replay.click("#sign-in")
    assert "password or code is wrong" in replay.locator(".error").inner_text()
    replay.context.close()

    # A metric's timeline with the baseline band drawn by the bundled plotly.
    page.goto(f"{base}/p/{person.id}/metric/heart_rate?days=7")
    page.wait_for_selector("#timeline[data-drawn=true] .main-svg")
    _shot(page, "timeline")

    # Import the real Clarity sample and watch it finish.
    page.goto(f"{base}/p/{person.id}/import")
    page.set_input_files("#file", str(CLARITY))
    page.click("#import-submit")
    page.wait_for_selector("#job[data-state=done]", timeout=60_000)
    summary = page.locator("#job-summary").inner_text()
    assert "dexcom_clarity" in summary
    assert "stored" in summary
    _shot(page, "import")

    # The new readings are on the glucose chart (the sample is from 2016).
    page.goto(f"{base}/p/{person.id}/metric/glucose?days=4000")
    page.wait_for_selector("#timeline[data-drawn=true] .main-svg")
    chart = json.loads(page.locator("#chart-timeline").text_content() or "{}")
    years = {x[:4] for trace in chart["data"] for x in trace["x"]}
    assert "2016" in years, years

    # The CGM page has a forecast while forecasting is allowed ...
    page.goto(f"{base}/p/{person.id}/cgm")
    page.wait_for_selector("#agp[data-drawn=true] .main-svg")
    assert page.locator("#forecast-list li").count() == 3
    assert _low_contrast(page) == []
    _shot(page, "cgm")

    # ... and loses it when the person turns metabolic data off for forecasting.
    page.goto(f"{base}/p/{person.id}/privacy")
    _shot(page, "privacy")
    assert _labelled(page) == []
    assert _low_contrast(page) == []
    toggle = page.locator("[data-testid=consent-metabolic-forecasting]")
    assert toggle.get_attribute("aria-checked") == "true"
    toggle.click()
    page.wait_for_selector(".flash")
    assert "no longer used for forecasting" in page.locator(".flash").inner_text()
    assert (
        page.locator("[data-testid=consent-metabolic-forecasting]").get_attribute("aria-checked")
        == "false"
    )
    assert (
        page.locator("[data-testid=consent-vitals-forecasting]").get_attribute("aria-checked")
        == "true"
    )
    assert "withdrew" in page.locator("ol.log").inner_text()
    page.goto(f"{base}/p/{person.id}/cgm")
    assert page.locator("#no-forecast").is_visible()

    # The other main pages render, and the overview fits a phone.
    for name in ("risk", "insights"):
        page.goto(f"{base}/p/{person.id}/{name}")
        assert page.locator("h1").is_visible()
        _shot(page, name)
    phone = browser.new_context(
        viewport={"width": 375, "height": 740}, storage_state=context.storage_state()
    ).new_page()
    phone.goto(f"{base}/p/{person.id}")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 380, width
    _shot(phone, "overview-phone")
    phone.context.close()

    # Keyboard: the first Tab reaches the skip link.
    page.goto(f"{base}/p/{person.id}")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"

    # Export: the FHIR download is a Bundle with the person's data.
    page.goto(f"{base}/p/{person.id}/privacy")
    with page.expect_download() as download:
        page.click("text=FHIR bundle (JSON)")
    bundle = json.loads(Path(download.value.path()).read_text())
    assert bundle["resourceType"] == "Bundle"
    assert len(bundle["entry"]) > 1000

    # Erase, with a confirmation that must match.
    page.fill("#confirm", "someone else")
    page.click("button.danger")
    assert "Nothing was erased" in page.locator(".flash").inner_text()
    page.fill("#confirm", person.name)
    page.click("button.danger")
    assert page.locator("h1").inner_text() == "Your data is erased"
    assert server["store"].persons() == []
    page.goto(base + "/")
    assert page.url.endswith("/login")
    assert errors == [], errors
    context.close()
