"""Reassigning by hand in a browser, against a real `everycall serve` with the Hubei registry: a
dispatcher opens an assigned incident, sees the teams nearest first (the one that has it
greyed), is told why when another dispatcher got there first, then hands it to another team
with a reason; the detail shows the new team and the log names the person and the reason."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

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

REASON = "就近支援 the nearer crew knows the feeder"


def radio_of(team_id: str) -> re.Pattern[str]:
    """A team's choice by its accessible name, which ends with the team id."""
    return re.compile(rf"{re.escape(team_id)}\s*$")


@pytest.mark.timeout(900)  # the first flow runs are slow on a busy machine
def test_a_dispatcher_reassigns_an_incident_by_hand_from_the_board(
    served: Served, browser: Browser
) -> None:
    people(served)
    dispatcher = served.token("dispatcher")
    report = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1], "address": "江汉路"}
    answer = httpx.post(f"{served.base_url}/incidents", json=report, headers=dispatcher)
    assert answer.status_code == 202, answer.text
    incident_id = answer.json()["id"]
    wait_until(
        lambda: incident_state(served, incident_id, dispatcher).get("state") == "assigned",
        STARTUP_TIMEOUT_S,
        "assignment",
        served,
    )
    routed_to = incident_state(served, incident_id, dispatcher)["team_id"]

    left: list[str] = []
    page = offline_page(browser, left)
    sign_in(page, served, "zhang.wei")
    incidents = page.get_by_test_id("incidents")
    incidents.get_by_role("button", name=incident_id).click(timeout=LIVE_WITHIN_MS)
    detail = page.get_by_test_id("detail")
    panel = detail.get_by_test_id("reassign")
    expect(panel.get_by_role("radio", name=radio_of(routed_to))).to_be_disabled()
    expect(panel).to_contain_text("正承担此工单")
    first = panel.get_by_role("radio", disabled=False).first
    taken = str(first.get_attribute("value"))

    # another dispatcher hands it to that team while this one is choosing: the answer says so
    def meanwhile(route: Route) -> None:
        body = {"team_id": taken, "reason": "faster on the phone"}
        url = f"{served.base_url}/incidents/{incident_id}/reassign"
        assert httpx.post(url, json=body, headers=dispatcher).status_code == 200
        route.continue_()

    page.route("**/reassign", meanwhile)
    first.check()
    panel.get_by_label("改派理由").fill(REASON)
    panel.get_by_role("button", name="改派").click()
    expect(panel.get_by_role("alert")).to_contain_text(f"不能改派给队伍 {taken}")
    page.unroute("**/reassign")

    expect(panel.get_by_role("radio", name=radio_of(taken))).to_be_disabled()  # live
    chosen = panel.get_by_role("radio", disabled=False).first
    new_team = str(chosen.get_attribute("value"))
    chosen.check()
    panel.get_by_label("改派理由").fill(REASON)
    panel.get_by_role("button", name="改派").click()
    expect(detail).to_contain_text(f"队伍 {new_team}")
    expect(detail.get_by_test_id("reason")).to_contain_text(f"user:zhang.wei: {REASON}")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "board-reassign.png"), full_page=True)

    timeline = incident_state(served, incident_id, dispatcher)["timeline"]
    by_hand = [e for e in timeline if e["type"] == "incident.reassigned"]
    assert [(e["details"]["from_team_id"], e["details"]["to_team_id"]) for e in by_hand] == [
        (routed_to, taken),
        (taken, new_team),
    ]
    assert (by_hand[-1]["actor"], by_hand[-1]["details"]["reason"]) == ("user:zhang.wei", REASON)
    assert incident_state(served, incident_id, dispatcher)["team_id"] == new_team
    assert left == [], f"the board asked the internet for {left}"
