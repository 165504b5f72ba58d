"""Accessibility basics of the board in a browser: axe-core (from web/node_modules, nothing
downloaded) finds no violation of the WCAG 2.1 A and AA rules on the sign-in page, the board
and the incident detail, in both languages; and a dispatcher signs in, opens an incident and
closes it again with the keyboard alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.test_board_browser import PASSWORD, browser, offline_page, people, sign_in
from tests.e2e.test_serve import WUHAN, Served, served

__all__ = ["browser", "served"]  # the fixtures, shared with the other browser tests

AXE = Path(__file__).resolve().parents[2] / "web" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# the rules the brief names, checked to be among those axe ran, so none is silently skipped
NAMED_RULES = [
    "label",
    "color-contrast",
    "button-name",
    "image-alt",
    "svg-img-alt",
    "html-has-lang",
    "document-title",
    "aria-allowed-attr",
    "aria-required-attr",
    "aria-valid-attr",
    "aria-valid-attr-value",
    "aria-roles",
    "aria-command-name",
]
LIVE_WITHIN_MS = 60_000  # the first flow runs are slow on a busy machine


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """What axe-core finds against WCAG 2.1 A and AA on the page as it is now."""
    assert AXE.exists(), "axe-core is missing: `make web` installs web/node_modules"
    page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = page.evaluate(
        """async (tags) => {
          const options = { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] };
          const found = await axe.run(document, options);
          const ran = [found.passes, found.violations, found.incomplete, found.inapplicable]
            .flat().map((r) => r.id);
          const where = (n) => n.target.join(" ") + ": " + n.failureSummary;
          return { ran, violations: found.violations.map((v) => ({
            id: v.id, help: v.help, nodes: v.nodes.slice(0, 5).map(where) })) };
        }""",
        WCAG_AA,
    )
    missing = [rule for rule in NAMED_RULES if rule not in result["ran"]]
    assert not missing, f"axe did not run {missing}"
    return list(result["violations"])


def report_and_wait(served: Served, address: str, north_km: float = 0.0) -> str:
    """An incident reported through the API (`north_km` north of central Wuhan)."""
    dispatcher = served.token("dispatcher")
    latitude = WUHAN[0] + north_km / 111.2
    report = {"kind": "repair", "latitude": latitude, "longitude": WUHAN[1], "address": address}
    answer = httpx.post(f"{served.base_url}/incidents", json=report, headers=dispatcher, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


@pytest.mark.timeout(900)
def test_sign_in_board_and_detail_have_no_wcag_violations(served: Served, browser: Browser) -> None:
    people(served)
    left: list[str] = []
    page = offline_page(browser, left)
    page.goto(served.base_url)
    expect(page.get_by_label("用户名")).to_be_visible()
    assert axe_violations(page) == [], "sign-in page"

    sign_in(page, served, "zhang.wei")
    expect(page.get_by_test_id("live")).to_have_text("实时", timeout=LIVE_WITHIN_MS)
    incident_id = report_and_wait(served, "武昌区中北路1号")
    incidents = page.get_by_test_id("incidents")
    expect(incidents.get_by_text(incident_id)).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(incidents.get_by_test_id("sla")).to_contain_text("acknowledge", timeout=LIVE_WITHIN_MS)
    assert axe_violations(page) == [], "the board"

    incidents.get_by_role("button", name=incident_id).click()
    detail = page.get_by_test_id("detail")
    expect(detail.get_by_test_id("timeline")).to_contain_text("team.assigned")
    assert axe_violations(page) == [], "the incident detail"

    page.get_by_role("button", name="English").click()
    expect(detail.get_by_role("button", name="Close")).to_be_visible()
    assert axe_violations(page) == [], "the board in English"
    assert left == [], f"the board asked the internet for {left}"


def tab_to(page: Page, target: Locator, *, backwards: bool = False, most: int = 60) -> int:
    """Press Tab (or Shift+Tab) until `target` has the focus; returns how many presses."""
    for presses in range(1, most + 1):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        if target.evaluate("(element) => element === document.activeElement"):
            return presses
    pytest.fail(f"{target} not reached with {most} presses of Tab")


@pytest.mark.timeout(900)
def test_a_dispatcher_signs_in_opens_an_incident_and_closes_it_by_keyboard(
    served: Served, browser: Browser
) -> None:
    people(served)
    incident_id = report_and_wait(served, "汉阳区鹦鹉大道2号")
    page = offline_page(browser, [])
    page.goto(served.base_url)

    assert tab_to(page, page.get_by_label("用户名")) <= 3
    page.keyboard.type("zhang.wei")
    page.keyboard.press("Tab")
    expect(page.get_by_label("密码")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("who")).to_contain_text("张伟")

    row = page.get_by_test_id("incidents").get_by_role("button", name=incident_id)
    expect(row).to_be_visible(timeout=LIVE_WITHIN_MS)
    tab_to(page, row)
    expect(row).to_have_accessible_name(incident_id)
    page.keyboard.press("Enter")
    detail = page.get_by_test_id("detail")
    expect(detail).to_contain_text(incident_id)
    expect(detail.get_by_role("heading", name=incident_id)).to_be_focused()  # the focus moved in

    page.keyboard.press("Escape")
    expect(detail).to_be_hidden()
    expect(row).to_be_focused()  # and back to where it was

    page.keyboard.press("Enter")  # again, then by its close button
    expect(detail.get_by_role("heading", name=incident_id)).to_be_focused()
    tab_to(page, detail.get_by_role("button", name="关闭"))
    page.keyboard.press("Enter")
    expect(detail).to_be_hidden()
    expect(row).to_be_focused()

    # The map's marks are one tab stop: Tab passes the whole set at once, the arrows move in it.
    other_id = report_and_wait(served, "黄陂区前川街4号", north_km=25)  # too far to be grouped
    map_marks = page.get_by_test_id("map").locator(".incidents .mark")
    expect(map_marks.nth(1)).to_be_attached(timeout=LIVE_WITHIN_MS)
    assert map_marks.evaluate_all("(ms) => ms.filter((m) => m.tabIndex === 0).length") == 1
    first = map_marks.and_(page.locator("[tabindex='0']"))
    tab_to(page, first)
    first_name = first.get_attribute("aria-label") or ""
    page.keyboard.press("ArrowRight")
    focused = page.locator("#app .incidents .mark:focus")
    expect(focused).to_have_count(1)
    assert focused.get_attribute("aria-label") != first_name
    page.keyboard.press("Enter")
    chosen = other_id if other_id in (focused.get_attribute("aria-label") or "") else incident_id
    expect(detail.get_by_role("heading", name=chosen)).to_be_visible()
