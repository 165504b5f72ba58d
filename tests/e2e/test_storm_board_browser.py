"""Storm mode on the board, in Debian's Chromium against a real `everycall serve`: an orange
rainstorm warning's proposal arrives live, an auditor reads it without a button, a dispatcher
declares it from the board, and storm mode declared through the API shows as a banner without
a reload. Screenshot: out/storm-board.png."""

from __future__ import annotations

from pathlib import Path

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
from tests.e2e.test_serve import Served, served

__all__ = ["browser", "served"]  # the fixtures, shared with test_board_browser.py

ORANGE = Path(__file__).resolve().parents[1] / "data" / "cap" / "orange-rainstorm-proposes.xml"
CAP = {"Content-Type": "application/cap+xml"}


@pytest.mark.timeout(900)
def test_storm_mode_shows_live_and_only_a_dispatcher_may_declare_it(
    served: Served, browser: Browser
) -> None:
    people(served)
    left: list[str] = []
    board = offline_page(browser, left)
    sign_in(board, served, "zhang.wei")
    expect(board.get_by_test_id("live")).to_have_text("实时", timeout=LIVE_WITHIN_MS)
    auditor = offline_page(browser, left)
    sign_in(auditor, served, "li.na")
    expect(auditor.get_by_test_id("live")).to_have_text("实时", timeout=LIVE_WITHIN_MS)
    assert board.get_by_test_id("storm-banner").count() == 0  # an ordinary day: no banner

    dispatcher = served.token("dispatcher")
    posted = httpx.post(
        f"{served.base_url}/alerts/cap",
        content=ORANGE.read_bytes(),
        headers=dispatcher | CAP,
        timeout=30,
    )
    assert posted.status_code == 202, posted.text
    declare = board.get_by_test_id("storm-proposals").get_by_role("button", name="启动 Declare")
    expect(declare).to_be_visible(timeout=LIVE_WITHIN_MS)  # from the stream, no reload
    proposals = auditor.get_by_test_id("storm-proposals")
    expect(proposals).to_contain_text("孝感市", timeout=LIVE_WITHIN_MS)
    expect(proposals.get_by_role("button")).to_have_count(0)  # auditors only read
    assert axe_violations(board) == [], "the board with a proposal"

    declare.click()
    banner = board.get_by_test_id("storm-banner")
    expect(banner.locator('[data-division="xiaogan"]')).to_contain_text(
        "孝感市 Xiaogan · 防汛应急状态 Storm mode", timeout=LIVE_WITHIN_MS
    )
    expect(banner).to_contain_text("user:zhang.wei")
    expect(board.get_by_test_id("storm-proposals")).to_have_count(0)  # settled
    chosen = httpx.get(f"{served.base_url}/storm", headers=dispatcher, timeout=10).json()
    assert [(s["division"], s["active"]) for s in chosen] == [("xiaogan", True)]
    alerts = httpx.get(f"{served.base_url}/alerts", headers=dispatcher, timeout=10).json()
    assert chosen[0]["reason"] == alerts["proposals"][0]["payload"]["reason"]  # the alert's words

    # declared through the API: both boards show it without a reload
    answer = httpx.post(
        f"{served.base_url}/storm/jingzhou",
        json={"reason": "暴雨红色预警 red rainstorm warning"},
        headers=dispatcher,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    for page in (board, auditor):
        expect(
            page.get_by_test_id("storm-banner").locator('[data-division="jingzhou"]')
        ).to_contain_text("荆州市 Jingzhou · 防汛应急状态 Storm mode", timeout=LIVE_WITHIN_MS)
    expect(auditor.get_by_test_id("storm-banner")).to_contain_text("暴雨红色预警")

    duty = board.get_by_test_id("duty")
    duty.locator("summary").click()
    expect(duty.locator('tr[data-division="jingzhou"]')).to_contain_text("荆州市")
    assert axe_violations(board) == [], "the board in storm mode, the duty panel open"
    SHOTS.mkdir(exist_ok=True)
    board.screenshot(path=str(SHOTS / "storm-board.png"), full_page=True)

    ended = httpx.delete(
        f"{served.base_url}/storm/jingzhou",
        params={"reason": "预警解除"},
        headers=dispatcher,
        timeout=10,
    )
    assert ended.status_code == 200, ended.text
    expect(
        board.get_by_test_id("storm-banner").locator('[data-division="jingzhou"]')
    ).to_have_count(0, timeout=LIVE_WITHIN_MS)
    assert left == [], f"the board asked the internet for {left}"
