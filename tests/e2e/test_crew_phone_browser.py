"""The crew's phone, as a team member uses it: Debian's Chromium in mobile emulation (a phone's
screen, touch, a position) driven by Playwright against a real `everycall serve`, every request
leaving 127.0.0.1 blocked. A task assigned through the API appears live and is taken with one
tap; taps made offline are sent in order when the network returns and count once each; a task
cancelled meanwhile is reported as withdrawn, not applied. Screenshot: out/crew-phone.png."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.e2e.test_board_browser import (
    LIVE_WITHIN_MS,
    SHOTS,
    browser,
    keep_local,
    offline_page,
    people,
    sign_in,
)
from tests.e2e.test_serve import STARTUP_TIMEOUT_S, Served, served

__all__ = ["browser", "served"]  # the fixtures, shared with the board's tests

TEAM = "HB-WH-001"  # crew.1's team (people()); its grid cell holds both reports below
BASE = (30.69395, 114.36851)  # the team's home in the Hubei registry
ELSEWHERE = (30.6975, 114.3720)  # 500 m away: beyond the storm radius, so not merged
MOVES = {"task.acknowledged", "task.declined", "task.departed", "task.arrived", "task.resolved"}
PHONE: dict[str, Any] = {  # a Pixel-sized Android phone
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 3,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}


def phone_page(browser: Browser, left: list[str]) -> tuple[BrowserContext, Page]:
    """A phone at the team's base that allows location and notifications, cut off from
    everything beyond 127.0.0.1."""
    context = browser.new_context(
        **PHONE,
        geolocation={"latitude": BASE[0] + 0.01, "longitude": BASE[1], "accuracy": 15},
        permissions=["geolocation", "notifications"],
    )
    keep_local(context, left)
    return context, context.new_page()


def report(served: Served, desk: dict[str, str], where: tuple[float, float], address: str) -> str:
    body = {"kind": "repair", "latitude": where[0], "longitude": where[1], "address": address}
    answer = httpx.post(f"{served.base_url}/incidents", json=body, headers=desk, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def shown(served: Served, incident_id: str, desk: dict[str, str]) -> dict[str, Any]:
    answer = httpx.get(f"{served.base_url}/incidents/{incident_id}", headers=desk, timeout=10)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def team_moves(served: Served, incident_id: str, desk: dict[str, str]) -> list[tuple[str, str]]:
    """The team's moves in the event log, in order, with who made each."""
    timeline = shown(served, incident_id, desk)["timeline"]
    return [(e["type"], e["actor"]) for e in timeline if e["type"] in MOVES]


def located_at(served: Served, desk: dict[str, str]) -> str | None:
    teams = httpx.get(f"{served.base_url}/teams", headers=desk, timeout=10).json()
    return next(t["located_at"] for t in teams if t["id"] == TEAM)


def wait_on(page: Page, check: Callable[[], bool], what: str, served: Served) -> None:
    """Wait up to a minute for `check`, through Playwright: its sync API runs the route handler
    (only_local) only inside its own calls, so a plain sleep would hold the phone's requests."""
    for _ in range(240):
        if check():
            return
        page.wait_for_timeout(250)
    pytest.fail(f"{what} not within a minute:\n{served.output()}")


def state_becomes(
    page: Page, served: Served, incident_id: str, desk: dict[str, str], state: str
) -> None:
    check = lambda: shown(served, incident_id, desk)["state"] == state  # noqa: E731
    wait_on(page, check, f"{incident_id} {state}", served)


def card(page: Page, address: str) -> Locator:
    return page.get_by_role("article", name=address)


def check_the_app_is_served_to_install(served: Served) -> None:
    """The manifest, the worker (from /, so its scope is the whole app) and the icons, each as
    the browser needs it to install the app."""
    for path, kind in [
        ("/manifest.webmanifest", "application/manifest+json"),
        ("/sw.js", "javascript"),
        ("/icons/crew-192.png", "image/png"),
        ("/icons/crew-512.png", "image/png"),
        ("/icons/crew.svg", "image/svg+xml"),
    ]:
        answer = httpx.get(f"{served.base_url}{path}", timeout=10)
        assert answer.status_code == 200, path
        assert kind in answer.headers["content-type"], (path, answer.headers["content-type"])
    manifest = httpx.get(f"{served.base_url}/manifest.webmanifest", timeout=10).json()
    assert manifest["name"] == "班组应用" and manifest["start_url"] == "/"
    assert {icon["sizes"] for icon in manifest["icons"]} >= {"192x192", "512x512"}


@pytest.mark.timeout(900)
def test_a_crew_takes_a_task_with_one_tap_and_its_offline_taps_count_once_in_order(
    served: Served, browser: Browser
) -> None:
    check_the_app_is_served_to_install(served)
    people(served)
    desk = served.token("dispatcher")
    left: list[str] = []
    context, page = phone_page(browser, left)
    sign_in(page, served, "crew.1")
    expect(page.get_by_test_id("team")).to_have_text(TEAM)
    assert page.get_by_test_id("queue").count() == 0  # the crew's screens, not the board's

    # on duty, the phone shares where it is
    duty = page.get_by_role("switch", name="在岗")
    duty.tap()
    expect(duty).to_have_attribute("aria-checked", "true")
    wait_on(page, lambda: located_at(served, desk) is not None, "the phone's fix", served)
    # Debian's Chromium has no push service: the app says so and works on, live
    expect(page.get_by_test_id("push")).to_have_text(
        re.compile("通知已开启|无法接收推送"), timeout=LIVE_WITHIN_MS
    )
    expect(page.get_by_test_id("crew-live")).to_have_text("实时", timeout=LIVE_WITHIN_MS)

    # a task assigned through the API appears without a reload and is taken with one tap
    first = report(served, desk, BASE, "武昌区中北路1号")
    task = card(page, "武昌区中北路1号")
    expect(task).to_be_visible(timeout=STARTUP_TIMEOUT_S * 1000)
    assert shown(served, first, desk)["team_id"] == TEAM
    expect(task.get_by_test_id("sla")).to_contain_text("接单时限")  # the acknowledge clock
    expect(task.get_by_test_id("distance")).to_contain_text("公里")
    amap = task.get_by_role("link", name="高德地图").get_attribute("href") or ""
    assert amap.startswith("amapuri://route/plan/?")
    assert (task.get_by_role("link", name="系统地图").get_attribute("href") or "").startswith(
        f"geo:{BASE[0]:.6f},{BASE[1]:.6f}"
    )
    task.get_by_role("button", name="接单").tap()
    state_becomes(page, served, first, desk, "acknowledged")
    expect(task.get_by_test_id("task-state")).to_have_text("已接单")

    second = report(served, desk, ELSEWHERE, "江岸区解放大道2号")
    other = card(page, "江岸区解放大道2号")
    expect(other).to_be_visible(timeout=LIVE_WITHIN_MS)
    other.get_by_role("button", name="接单").tap()
    state_becomes(page, served, second, desk, "acknowledged")
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "crew-phone.png"), full_page=True)

    # no signal: the taps wait on the phone, in order, and the task shows where it will stand
    context.set_offline(True)
    expect(page.get_by_test_id("crew-live")).to_contain_text("离线")
    task.get_by_role("button", name="出发").tap()
    task.get_by_role("button", name="到场").tap()
    other.get_by_role("button", name="出发").tap()
    expect(page.get_by_test_id("queue-count")).to_contain_text("3")
    expect(task.get_by_test_id("task-state")).to_have_text("到场")
    assert shown(served, first, desk)["state"] == "acknowledged"  # nothing left the phone

    # the app opens with no network: the shell from the worker, the taps from IndexedDB
    assert page.evaluate("caches.has('everycall-shell-v1')")
    page.reload()
    expect(page.get_by_test_id("queue-count")).to_contain_text("3", timeout=LIVE_WITHIN_MS)
    task, other = card(page, "武昌区中北路1号"), card(page, "江岸区解放大道2号")
    expect(task.get_by_test_id("task-state")).to_have_text("到场")

    # meanwhile the dispatch center cancels the second task
    cancelled = httpx.post(
        f"{served.base_url}/incidents/{second}/cancel",
        json={"reason": "用户来电撤销 the caller withdrew"},
        headers=desk,
        timeout=10,
    )
    assert cancelled.status_code == 200, cancelled.text

    # the signal returns: the queue is sent in order; the withdrawn task is said, not applied
    context.set_offline(False)
    state_becomes(page, served, first, desk, "on_scene")
    notices = page.get_by_test_id("notices")
    expect(notices).to_contain_text("此任务已被撤回", timeout=LIVE_WITHIN_MS)
    expect(notices).to_contain_text("江岸区解放大道2号")
    expect(page.get_by_test_id("queue-count")).to_have_count(0)
    expect(other).to_have_count(0)

    # the board's record: both moves, in order, once each, named for the crew member
    crew = "user:crew.1"
    assert team_moves(served, first, desk) == [
        ("task.acknowledged", crew),
        ("task.departed", crew),
        ("task.arrived", crew),
    ]
    assert team_moves(served, second, desk) == [("task.acknowledged", crew)]
    assert shown(served, second, desk)["state"] == "cancelled"
    fix = httpx.get(f"{served.base_url}/teams", headers=desk, timeout=10).json()
    mine = next(t for t in fix if t["id"] == TEAM)
    assert abs(mine["latitude"] - (BASE[0] + 0.01)) < 1e-6  # the phone's position, not the base
    # the dispatch center reads when the crew's phone first showed the task
    desk_page = offline_page(browser, left)
    sign_in(desk_page, served, "zhang.wei")
    desk_page.get_by_test_id("incidents").get_by_role("button", name=first).click()
    notice = desk_page.get_by_test_id("detail").get_by_test_id("notice")
    expect(notice).to_contain_text(re.compile(r"已查看 \d{2}:\d{2}:\d{2}"))
    seen_at = shown(served, first, desk)["seen_at"]
    assert seen_at is not None
    assert left == [], f"the phone asked the internet for {left}"
