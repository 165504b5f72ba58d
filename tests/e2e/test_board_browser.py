"""The board in a browser, as the dispatch center and the auditors use it: Debian's Chromium
driven by Playwright against a real `everycall serve`, with every request that leaves
127.0.0.1 blocked (a dispatch network has no internet). Screenshots go to out/."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Request,
    Route,
    expect,
    sync_playwright,
)

from tests.e2e.test_serve import WUHAN, Served, served

__all__ = ["served"]  # the fixture, shared with test_serve.py

PASSWORD = "长江大桥-2026-good"
SHOTS = Path(__file__).resolve().parents[2] / "out"
LIVE_WITHIN_MS = 30_000  # first flow runs are slow on a busy machine; the bench measures speed


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make debian-packages` installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield launched
        launched.close()


def people(served: Served) -> None:
    """A dispatcher, an auditor and a team member, added as an admin adds them."""
    for username, role, extra in (
        ("zhang.wei", "dispatcher", ["--display-name", "张伟"]),
        ("li.na", "auditor", ["--display-name", "李娜"]),
        ("crew.1", "team", ["--team", "HB-WH-001"]),
    ):
        command = ["users", "add", username, "--role", role, *extra, "--password-stdin"]
        done = subprocess.run(
            [sys.executable, "-m", "dispatch.entrypoints.cli.main", *command],
            env=served.env,
            cwd=served.cwd,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def keep_local(context: BrowserContext, left: list[str]) -> None:
    """Block every request of `context` beyond 127.0.0.1, remembering it in `left`."""

    def only_local(route: Route, request: Request) -> None:
        if urlparse(request.url).hostname in ("127.0.0.1", "localhost"):
            route.continue_()
        else:
            left.append(request.url)
            route.abort()

    context.route("**/*", only_local)


def offline_page(browser: Browser, left: list[str]) -> Page:
    """A fresh browser profile whose requests beyond 127.0.0.1 are blocked and remembered."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    keep_local(context, left)
    return context.new_page()


def team_of(served: Served, incident_id: str, headers: dict[str, str]) -> str:
    answer = httpx.get(f"{served.base_url}/incidents/{incident_id}", headers=headers, timeout=10)
    return str(answer.json()["team_id"])


def sign_in(page: Page, served: Served, username: str) -> None:
    page.goto(served.base_url)
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


@pytest.mark.timeout(900)
def test_a_dispatcher_sees_reports_from_the_form_and_the_api_live(
    served: Served, browser: Browser
) -> None:
    people(served)
    left: list[str] = []
    page = offline_page(browser, left)
    sign_in(page, served, "zhang.wei")
    expect(page.get_by_test_id("who")).to_contain_text("张伟")
    expect(page.get_by_test_id("live")).to_have_text("实时", timeout=LIVE_WITHIN_MS)

    form = page.get_by_test_id("report")
    form.get_by_label("地址").fill("武昌区中北路1号")
    form.get_by_role("button", name="提交").click()
    accepted = page.get_by_test_id("accepted")
    expect(accepted).to_contain_text("已受理")
    from_form = accepted.inner_text().split(":")[-1].strip()
    incidents = page.get_by_test_id("incidents")
    expect(incidents.get_by_text(from_form)).to_be_visible(timeout=LIVE_WITHIN_MS)

    dispatcher = served.token("dispatcher")
    report = {
        "kind": "outage",
        "latitude": WUHAN[0] + 0.01,
        "longitude": WUHAN[1],
        "address": "api",
    }
    answer = httpx.post(f"{served.base_url}/incidents", json=report, headers=dispatcher, timeout=10)
    assert answer.status_code == 202, answer.text
    # no reload: the row arrives over the live stream
    expect(incidents.get_by_text(answer.json()["id"])).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(page.get_by_test_id("map").locator("g.mark")).to_have_count(2)
    # each team's acknowledge clock counts down, from the clocks the events carried
    for cell in incidents.get_by_test_id("sla").all():
        expect(cell).to_contain_text("acknowledge", timeout=LIVE_WITHIN_MS)
    teams = page.get_by_test_id("teams")
    expect(teams.locator("rect")).to_have_count(310)  # the Hubei registry
    booked = {team_of(served, i, dispatcher) for i in (from_form, answer.json()["id"])}
    expect(teams.locator("rect.busy, rect.full")).to_have_count(len(booked))  # live loads
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "board.png"), full_page=True)
    filters = page.get_by_test_id("filters")
    filters.get_by_label("类型").select_option("outage")  # the one posted through the API
    expect(incidents.locator("tbody tr")).to_have_count(1)
    expect(page.get_by_test_id("map").locator("g.mark")).to_have_count(1)
    filters.get_by_label("类型").select_option("")

    # the detail: why this team, the timeline; then the dispatcher cancels it, by name
    incidents.get_by_role("button", name=from_form).click()
    detail = page.get_by_test_id("detail")
    expect(detail.get_by_test_id("timeline")).to_contain_text("team.assigned")
    expect(detail.get_by_test_id("reason")).not_to_be_empty()
    page.screenshot(path=str(SHOTS / "board-detail.png"), full_page=True)
    detail.get_by_label("原因").fill("误报 false alarm")
    detail.get_by_role("button", name="取消工单").click()
    expect(detail).to_contain_text("已取消")
    shown = httpx.get(f"{served.base_url}/incidents/{from_form}", headers=dispatcher, timeout=10)
    last = shown.json()["timeline"][-1]
    assert (last["type"], last["actor"]) == ("incident.cancelled", "user:zhang.wei")
    expect(page.get_by_test_id("map").locator("g.mark")).to_have_count(1)  # live: it left

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto(f"{served.base_url}/docs")  # the API's docs render offline too
    expect(page.locator(".swagger-ui .title")).to_contain_text("everycall")
    assert left == [], f"the board asked the internet for {left}"


def test_an_auditor_reads_the_board_and_a_team_member_cannot_open_it(
    served: Served, browser: Browser
) -> None:
    people(served)
    left: list[str] = []
    auditor = offline_page(browser, left)
    sign_in(auditor, served, "li.na")
    expect(auditor.get_by_text("审计只读")).to_be_visible()
    expect(auditor.get_by_test_id("queue")).to_be_visible()
    assert auditor.get_by_test_id("report").count() == 0
    refused = auditor.evaluate(
        "fetch('/incidents', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({kind: 'repair', latitude: 30.6, longitude: 114.3})})"
        ".then(r => r.status)"
    )
    assert refused == 403

    crew = offline_page(browser, left)
    sign_in(crew, served, "crew.1")
    expect(crew.get_by_test_id("team")).to_have_text("HB-WH-001")  # the crew's app instead
    assert crew.get_by_test_id("queue").count() == 0
    assert left == []
