"""The reports page in a browser, as the dispatch centre uses it: Debian's Chromium driven by
Playwright against a real `everycall serve` with the internet blocked. A dispatcher opens
#/reports, sees the compliance charts with the regions and the same figures as
`everycall sla report --json`, chooses a month and a team, and downloads the team's ledger as
.xlsx, which is read back with openpyxl. Screenshot: out/reports.png."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_board_browser import (
    LIVE_WITHIN_MS,
    SHOTS,
    browser,
    offline_page,
    people,
    sign_in,
)
from tests.e2e.test_serve import STARTUP_TIMEOUT_S, WUHAN, Served, served, wait_until

__all__ = ["browser", "served"]  # the fixtures, shared with the board's tests

DECLINE_REASON = "车辆故障 vehicle broke down"


def assigned_team(served: Served, incident_id: str, headers: dict[str, str]) -> str:
    """The team the dispatcher loop gives the incident to, once it has."""
    found: dict[str, Any] = {}

    def assigned() -> bool:
        answer = httpx.get(f"{served.base_url}/incidents/{incident_id}", headers=headers)
        found.update(answer.json() if answer.status_code == 200 else {})
        return found.get("state") == "assigned"

    wait_until(assigned, STARTUP_TIMEOUT_S, f"{incident_id} assigned", served)
    return str(found["team_id"])


def act(served: Served, incident_id: str, team: str, *steps: tuple[str, Any]) -> None:
    headers = served.token("team", team)
    for action, body in steps:
        url = f"{served.base_url}/tasks/{incident_id}/{action}"
        answer = httpx.post(url, json=body, headers=headers, timeout=10)
        assert answer.status_code == 200, (action, answer.text)


def a_days_work(served: Served) -> dict[str, str]:
    """One report resolved by its team; another declined by its first team, then taken by the
    next (which acknowledges it, so the figures stay put while the page is read)."""
    dispatcher = served.token("dispatcher")
    ids = []
    # apart, and of different kinds, so that storm grouping does not merge them
    for kind, north, address in (
        ("repair", 0, "武昌区中北路1号"),
        ("outage", 0.03, "汉口解放大道2号"),
    ):
        place = {"latitude": WUHAN[0] + north, "longitude": WUHAN[1]}
        report = {"kind": kind, **place, "address": address}
        answer = httpx.post(f"{served.base_url}/incidents", json=report, headers=dispatcher)
        assert answer.status_code == 202, answer.text
        ids.append(answer.json()["id"])
    resolved, declined = ids
    resolver = assigned_team(served, resolved, dispatcher)
    act(served, resolved, resolver, ("ack", None), ("on-scene", None), ("resolve", {"notes": "ok"}))
    decliner = assigned_team(served, declined, dispatcher)
    act(served, declined, decliner, ("decline", {"reason": DECLINE_REASON}))
    act(served, declined, assigned_team(served, declined, dispatcher), ("ack", None))
    return {"resolved": resolved, "declined": declined, "resolver": resolver, "decliner": decliner}


def cli_report(served: Served, tmp_path: Path) -> dict[str, Any]:
    written = tmp_path / "sla.json"
    served.cli("sla", "report", "--json", str(written), "--chart", str(tmp_path / "sla.png"))
    return dict(json.loads(written.read_text()))


def cells(page: Page, testid: str, name: str) -> list[str]:
    """The figures of one table row (region or team), as the page shows them."""
    row = page.get_by_test_id(testid).locator(f'tr[data-name="{name}"]')
    return [text.strip() for text in row.locator("td").all_inner_texts()]


@pytest.mark.timeout(900)  # Prefect's first flow runs are slow on a busy machine
def test_a_dispatcher_reads_the_charts_and_downloads_a_teams_ledger(
    served: Served, browser: Browser, tmp_path: Path
) -> None:
    people(served)
    work = a_days_work(served)
    from_cli = cli_report(served, tmp_path)
    left: list[str] = []
    page = offline_page(browser, left)
    sign_in(page, served, "zhang.wei")
    page.get_by_role("link", name="报表与台账").click()
    expect(page).to_have_url(f"{served.base_url}/#/reports")

    regions = page.get_by_role("img", name="各地区时限达标率（从报修算起，最差在前）")
    expect(regions).to_contain_text("武汉市 Wuhan", timeout=LIVE_WITHIN_MS)
    expect(regions).to_contain_text("目标 95.0%")
    expect(
        page.get_by_role("img", name="各队伍时限达标率（从派单算起，最差在前）")
    ).to_contain_text(work["resolver"])
    expect(page.get_by_role("img", name="时限达标率随时间变化")).to_be_visible()
    # the page's figures are the CLI's: calls received, answered, unanswered, the ack median
    wuhan = next(line for line in from_cli["regions"] if line["name"] == "wuhan")
    received, answered, unanswered, ack_median = cells(page, "by-region", "wuhan")[:4]
    assert [int(received), int(answered), int(unanswered)] == [
        wuhan["received"],
        wuhan["answered"],
        wuhan["unanswered"],
    ]
    assert float(ack_median) == wuhan["ack_min_median"]
    received_total = page.get_by_test_id("sla-totals").locator("div", has_text="受理")
    expect(received_total.locator("dd")).to_have_text(str(from_cli["totals"]["received"]))
    team_line = next(line for line in from_cli["teams"] if line["name"] == work["decliner"])
    assert cells(page, "by-team", work["decliner"])[-1] == str(team_line["declined"])

    month = datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m")
    ledger = page.get_by_test_id("ledger")
    ledger.get_by_label("月份").fill(month)
    ledger.get_by_label("队伍").select_option(work["decliner"])
    declined_row = ledger.get_by_test_id("ledger-rows").locator('tr[data-outcome="declined"]')
    expect(declined_row).to_contain_text(DECLINE_REASON)
    ledger.get_by_label("队伍").select_option(work["resolver"])
    rows = ledger.get_by_test_id("ledger-rows")
    expect(rows).to_contain_text(work["resolved"])
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "reports.png"), full_page=True)

    with page.expect_download() as download:
        ledger.get_by_role("link", name="下载 .xlsx").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == f"ledger-{month}-{work['resolver']}.xlsx"
    sheet = openpyxl.load_workbook(saved)["台账 ledger"]
    header = [c.value for c in sheet[1]]
    lines = [dict(zip(header, (c.value for c in r), strict=True)) for r in sheet.iter_rows(2)]
    mine = next(line for line in lines if line["工单号 incident"] == work["resolved"])
    assert mine["队伍 team"] == work["resolver"]
    assert mine["结果 outcome"] == "已办结 resolved"
    assert mine["地址 address"] == "武昌区中北路1号"
    assert isinstance(mine["办结时间 resolved"], datetime)
    assert left == [], f"the reports page asked the internet for {left}"
