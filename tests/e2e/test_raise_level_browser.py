"""Raising an incident's level in a browser, against a real `everycall serve` with the Hubei
registry: a dispatcher opens a critical disaster relief call, sees its two tasks (the lead and
a support, marked on the list), raises the level with a reason and sees a third; each task's
detail links to the others; at the ceiling the refusal is said in the page; the log names the
dispatcher; the page has no WCAG 2.1 AA violation. An auditor sees the tasks but no way to
raise."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.test_board_accessibility import axe_violations
from tests.e2e.test_board_browser import (
    LIVE_WITHIN_MS,
    SHOTS,
    browser,
    offline_page,
    people,
    sign_in,
)
from tests.e2e.test_serve import (
    STARTUP_TIMEOUT_S,
    WUHAN,
    Served,
    incident_state,
    served,
    wait_until,
)

__all__ = ["browser", "served"]  # the fixtures, shared with test_board_browser.py

REASON = "两条街被淹，再派一队 two streets flooded"


@pytest.mark.timeout(900)  # the first flow runs are slow on a busy machine
def test_a_dispatcher_raises_the_level_of_a_critical_relief_call_from_the_board(
    served: Served, browser: Browser
) -> None:
    people(served)
    dispatcher = served.token("dispatcher")
    report = {
        "kind": "disaster_relief",
        "priority": "critical",
        "latitude": WUHAN[0],
        "longitude": WUHAN[1],
        "address": "江汉路",
    }
    answer = httpx.post(f"{served.base_url}/incidents", json=report, headers=dispatcher)
    assert answer.status_code == 202, answer.text
    lead = answer.json()["id"]
    first, raised = f"{lead}.1", f"{lead}.2"
    wait_until(
        lambda: len(incident_state(served, lead, dispatcher).get("group", [])) == 2,
        STARTUP_TIMEOUT_S,
        "the response plan's support task",
        served,
    )

    left: list[str] = []
    page = offline_page(browser, left)
    sign_in(page, served, "zhang.wei")
    incidents = page.get_by_test_id("incidents")
    support_row = incidents.get_by_role("row").filter(
        has=page.get_by_role("button", name=first, exact=True)
    )
    expect(support_row).to_contain_text("支援", timeout=LIVE_WITHIN_MS)  # marked on the list
    incidents.get_by_role("button", name=lead, exact=True).click()
    detail = page.get_by_test_id("detail")
    tasks = detail.get_by_test_id("tasks")
    expect(tasks.get_by_role("row")).to_have_count(3)  # the header, the lead, its support
    expect(tasks.get_by_role("row").nth(1)).to_contain_text("牵头")
    expect(tasks.get_by_role("row").nth(2)).to_contain_text("支援")

    panel = detail.get_by_test_id("raise-level")
    panel.get_by_label("增派理由").fill(REASON)
    panel.get_by_role("button", name="提级增派").click()
    expect(tasks.get_by_role("row")).to_have_count(4)
    expect(tasks.get_by_role("button", name=raised, exact=True)).to_be_visible()
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "board-raise-level.png"), full_page=True)

    # each task's detail links to the others: the new support to its lead, and back
    tasks.get_by_role("button", name=raised, exact=True).click()
    expect(detail.get_by_role("heading", level=2)).to_contain_text(raised)
    expect(detail.get_by_test_id("lead")).to_contain_text(f"支援任务，牵头工单 {lead}")
    detail.get_by_test_id("lead").get_by_role("button", name=lead, exact=True).click()
    expect(detail.get_by_role("heading", level=2)).to_contain_text(lead)

    # two more from another desk reach the ceiling (five teams); the page follows live and
    # says plainly why a sixth is refused
    url = f"{served.base_url}/incidents/{lead}/raise-level"
    for _ in range(2):
        more = httpx.post(url, json={"reason": "另一调度台 another desk"}, headers=dispatcher)
        assert more.status_code == 200, more.text
    expect(tasks.get_by_role("row")).to_have_count(6, timeout=LIVE_WITHIN_MS)
    panel.get_by_label("增派理由").fill("再来一队 one more")
    panel.get_by_role("button", name="提级增派").click()
    expect(panel.get_by_role("alert")).to_contain_text("未能提级增派")
    expect(panel.get_by_role("alert")).to_contain_text("已达最多 5 支队伍")
    assert axe_violations(page) == [], "the detail with its tasks and a refusal"

    timeline = incident_state(served, lead, dispatcher)["timeline"]
    asked = [
        e
        for e in timeline
        if e["type"] == "incident.support_requested" and e["details"]["id"] == raised
    ]
    assert [(e["actor"], e["details"]["reason"]) for e in asked] == [("user:zhang.wei", REASON)]
    assert incident_state(served, raised, dispatcher)["lead_id"] == lead

    auditor = offline_page(browser, left)
    sign_in(auditor, served, "li.na")
    auditor.get_by_test_id("incidents").get_by_role("button", name=lead, exact=True).click(
        timeout=LIVE_WITHIN_MS
    )
    audited = auditor.get_by_test_id("detail")
    expect(audited.get_by_test_id("tasks").get_by_role("row")).to_have_count(6)
    expect(audited.get_by_test_id("raise-level")).to_have_count(0)
    assert left == [], f"the board asked the internet for {left}"
