"""The audit pages in a browser, as an auditor uses them, against a real `everycall serve` with
every request beyond 127.0.0.1 blocked: an incident's timeline, the board as it stood between
two reports, the log verified against the digest `everycall audit digest` printed (and a
changed one refused), exports downloaded and read, and nothing on the page that changes
anything. Screenshot: out/audit.png."""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.test_board_browser import SHOTS, browser, offline_page, people, sign_in
from tests.e2e.test_serve import (
    STARTUP_TIMEOUT_S,
    WUHAN,
    Served,
    incident_state,
    served,
    wait_until,
)

__all__ = ["browser", "served"]  # the fixtures, shared with the board's tests

GREEN, RED = "rgb(223, 243, 228)", "rgb(253, 226, 225)"  # the verdicts' backgrounds


def reported_and_routed(served: Served, dispatcher: dict[str, str], n: int) -> str:
    """A report through the API, waited for until the dispatcher has assigned it."""
    report = {
        "kind": "repair",
        "latitude": WUHAN[0] + 0.01 * n,
        "longitude": WUHAN[1],
        "address": f"武昌区中北路{n}号",
    }
    answer = httpx.post(f"{served.base_url}/incidents", json=report, headers=dispatcher, timeout=10)
    assert answer.status_code == 202, answer.text
    incident_id = str(answer.json()["id"])
    wait_until(
        lambda: incident_state(served, incident_id, dispatcher).get("state") == "assigned",
        STARTUP_TIMEOUT_S,
        f"assignment of report {n}",
        served,
    )
    return incident_id


def shanghai_local(moment: datetime) -> str:
    """What a datetime-local input holds for `moment` read in Asia/Shanghai, to the second."""
    return (moment.astimezone(UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%S")


def downloaded(page: Page, link: Locator) -> tuple[str, str]:
    """Click an export link; the file's suggested name and its text."""
    with page.expect_download() as started:
        link.click()
    download = started.value
    return download.suggested_filename, Path(download.path()).read_text(encoding="utf-8-sig")


def replay_at(page: Page, board: Locator, moment: datetime) -> None:
    board.get_by_label("时刻（北京时间）").fill(shanghai_local(moment))
    with page.expect_response(lambda r: "/audit/board/progress" in r.url) as streamed:
        board.get_by_role("button", name="回放看板").click()
    assert streamed.value.status == 200
    assert streamed.value.headers["content-type"].startswith("text/event-stream")


@pytest.mark.timeout(900)
def test_an_auditor_reads_the_history_checks_the_log_and_exports_it(
    served: Served, browser: Browser
) -> None:
    people(served)
    dispatcher = served.token("dispatcher")
    first = reported_and_routed(served, dispatcher, 1)
    between = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    while datetime.now(UTC) < between + timedelta(seconds=1):  # the second comes after it
        time.sleep(0.1)
    second = reported_and_routed(served, dispatcher, 2)

    left: list[str] = []
    page = offline_page(browser, left)
    sign_in(page, served, "li.na")
    page.get_by_role("link", name="审计").click()
    audit = page.get_by_test_id("audit")
    expect(audit).to_contain_text("审计页面只读")

    # an incident's timeline, times on the Shanghai clock, and its CSV
    part = audit.get_by_test_id("audit-timeline")
    part.get_by_label("工单编号").fill(first)
    part.get_by_role("button", name="查看时间线").click()
    events = part.get_by_test_id("audit-timeline-events")
    expect(events).to_contain_text("incident.reported.v1")
    expect(events).to_contain_text("team.assigned")
    expect(events).to_contain_text("武昌区中北路1号")
    auditor = served.token("auditor")
    logged = httpx.get(
        f"{served.base_url}/audit/incidents/{first}/timeline", headers=auditor, timeout=10
    ).json()["events"]
    reported_at = datetime.fromisoformat(logged[0]["at"]) + timedelta(hours=8)
    expect(events.locator("tbody tr").first).to_contain_text(reported_at.strftime("%H:%M:%S"))
    name, text = downloaded(page, part.get_by_role("link", name="导出 CSV"))
    assert name == f"everycall-timeline-{first}.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["type"] == "incident.reported" and "武昌区中北路1号" in rows[0]["what"]
    assert rows[0]["occurred_at_shanghai"].endswith("+08:00")

    # the board between the two reports: one open incident; now: both
    board = audit.get_by_test_id("audit-board")
    replay_at(page, board, between)
    expect(board.get_by_test_id("audit-open-count")).to_have_text("处理中的工单: 1")
    expect(board.get_by_test_id("audit-open")).to_contain_text(first)
    expect(board.get_by_test_id("audit-open")).not_to_contain_text(second)
    expect(board.get_by_test_id("audit-cost")).to_contain_text("已回放事件")
    name, text = downloaded(page, board.get_by_role("link", name="导出 CSV"))
    assert name == f"everycall-board-at-{between.strftime('%Y%m%dT%H%M%SZ')}.csv"
    listed = [(r["list"], r["id"]) for r in csv.DictReader(io.StringIO(text))]
    assert ("open_incident", first) in listed and ("open_incident", second) not in listed
    replay_at(page, board, datetime.now(UTC) + timedelta(seconds=2))
    expect(board.get_by_test_id("audit-open-count")).to_have_text("处理中的工单: 2")
    name, text = downloaded(page, board.get_by_role("link", name="导出 JSON"))
    assert name.startswith("everycall-board-at-") and name.endswith(".json")
    assert [i["id"] for i in json.loads(text)["open_incidents"]] == [first, second]

    # the chain, and the digest the CLI printed, pasted as it comes (with its newline)
    verify = audit.get_by_test_id("audit-verify")
    chain = verify.get_by_test_id("audit-chain")
    expect(chain).to_contain_text("哈希链完整")
    expect(chain).to_have_css("background-color", GREEN)
    digest = served.cli("audit", "digest").stdout.strip().splitlines()[-1]
    pasted = verify.get_by_label("摘要（粘贴 everycall audit digest 的输出）")
    pasted.fill(digest + "\n")
    verify.get_by_role("button", name="核验摘要").click()
    verdict = verify.get_by_test_id("audit-digest")
    expect(verdict).to_contain_text("摘要一致")
    expect(verdict).to_have_css("background-color", GREEN)
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)

    seq, hashed = digest.split(":")
    pasted.fill(f"{seq}:{hashed[:-1]}{'0' if hashed[-1] != '0' else '1'}")
    verify.get_by_role("button", name="核验摘要").click()
    expect(verdict).to_contain_text("摘要不一致")
    expect(verdict).to_contain_text(f"does not match at seq {seq}")
    expect(verdict).to_have_css("background-color", RED)
    pasted.fill("not a digest")
    verify.get_by_role("button", name="核验摘要").click()
    expect(verify.get_by_role("alert")).to_contain_text("格式不对")

    # the log's export re-reads as the chain it is
    name, text = downloaded(page, verify.get_by_role("link", name="导出事件日志（JSONL）"))
    assert name == "everycall-log-1-end.jsonl"
    entries = [json.loads(line) for line in text.splitlines()]
    assert [e["seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert f"{entries[int(seq) - 1]['seq']}:{entries[int(seq) - 1]['hash']}" == digest

    # reading only: the buttons ask, fetch and verify; the page's own are language and sign-out
    assert sorted(audit.get_by_role("button").all_inner_texts()) == sorted(
        ["查看时间线", "回放看板", "核验摘要"]
    )
    assert sorted(page.get_by_role("button").all_inner_texts()) == sorted(
        ["查看时间线", "回放看板", "核验摘要", "English", "退出"]
    )
    assert left == [], f"the audit pages asked the internet for {left}"
