"""The reports API on both databases, over a month of real work done through the service layer:
the ledger as JSON, CSV and .xlsx (a declined and a withdrawn task on the team that had them),
who may read which ledger, 422 for a bad month, and the SLA figures the page draws equal to
`everycall sla report --json` on the same database."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import tasks
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.reassignment import reassign
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.service_layer.watchdog import run_watchdog
from models.clock import ManualClock
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import crew, incident_row, route

TEAMS = [team("near", 30.60, 114.30), team("mid", 30.70, 114.30), team("far", 30.90, 114.30)]
MONTH = "2026-07"  # the manual clock starts on 1 July 2026, 16:00 in Shanghai
DECLINE_REASON = "车辆故障 vehicle broke down"


def finish(services: Services, incident_id: str, team_id: str) -> None:
    assert incident_row(services, incident_id).team_id == team_id
    tasks.acknowledge(services, incident_id, crew(team_id))
    tasks.mark_on_scene(services, incident_id, crew(team_id))
    tasks.resolve(services, incident_id, crew(team_id), "换保险丝 replaced the fuse")


def a_month_of_work(services: Services, clock: ManualClock) -> None:
    """inc-1 resolved by near; inc-2 declined by near, resolved by mid; inc-3 withdrawn from
    near (no acknowledgement), resolved by mid. Every clock ends decided."""
    seed_teams(services, TEAMS)
    one, two, three = (incident(n, 30.601, 114.301, clock.now()) for n in (1, 2, 3))
    route(services, [one])
    finish(services, one.id, "near")
    route(services, [two])
    assert incident_row(services, two.id).team_id == "near"
    tasks.decline(services, two.id, crew("near"), DECLINE_REASON)
    route(services)
    finish(services, two.id, "mid")
    route(services, [three])
    assert incident_row(services, three.id).team_id == "near"
    clock.advance(minutes=5)
    assert run_watchdog(services).reassigned == 1
    route(services)
    finish(services, three.id, "mid")


def bearer(services: Services, role: Role, team_id: str | None = None) -> dict[str, str]:
    with services.sessions.begin() as session:
        token = create_token(session, role, team_id, pepper=services.settings.api_token_pepper)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(services: Services, clock: ManualClock) -> Iterator[TestClient]:
    a_month_of_work(services, clock)
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as test_client:
        test_client.headers.update(bearer(services, Role.DISPATCHER))
        yield test_client


def ledger(client: TestClient, **params: str) -> Any:
    answer = client.get("/reports/ledger", params={"month": MONTH, **params})
    assert answer.status_code == 200, answer.text
    return answer


def test_the_ledger_keeps_a_declined_and_a_withdrawn_task_on_the_team_that_had_them(
    client: TestClient,
) -> None:
    body = ledger(client, team_id="near").json()

    outcomes = [(r["incident_id"], r["outcome"], r["reason"]) for r in body["rows"]]
    assert outcomes == [
        ("inc-00001", "resolved", ""),
        ("inc-00002", "declined", DECLINE_REASON),
        ("inc-00003", "withdrawn", "no acknowledgement within 5 min"),
    ]
    resolved, declined, withdrawn = body["rows"]
    assert resolved["assigned_at"].endswith("+08:00")  # shown in Shanghai
    assert resolved["ack_minutes"] == 0.0 and resolved["sla"] == "met"
    assert declined["sla"] == "pending"  # a decline stops its clock without a verdict
    assert withdrawn["sla"] == "breached" and withdrawn["clocks_breached"] == 1
    (summary,) = body["summary"]
    assert (summary["tasks"], summary["resolved"], summary["declined"]) == (3, 1, 1)
    assert (summary["withdrawn"], summary["reassigned"]) == (1, 0)
    everyone = ledger(client).json()
    assert [(s["team_id"], s["tasks"], s["resolved"]) for s in everyone["summary"]] == [
        ("mid", 2, 2),
        ("near", 3, 1),
    ]
    assert ledger(client, month="2026-06").json()["rows"] == []


def test_the_ledger_summary_has_the_sla_reports_team_figures(client: TestClient) -> None:
    report = client.get("/reports/sla").json()
    summary = {s["team_id"]: s for s in ledger(client).json()["summary"]}

    for line in report["teams"]:
        if line["received"]:
            mine = summary[line["name"]]
            assert mine["tasks"] == line["received"]
            assert mine["sla_compliance"] == line["sla_compliance"]
            assert mine["declined"] == line["declined"]
            assert mine["withdrawn"] == line["missed"]
            assert mine["reassigned"] == line["reassigned"]
    assert report["target"] == 0.95


def test_a_task_waiting_for_its_acknowledgement_is_unanswered_and_still_open(
    client: TestClient, services: Services, clock: ManualClock
) -> None:
    route(services, [incident(4, 30.601, 114.301, clock.now())])
    holder = incident_row(services, "inc-00004").team_id
    assert holder is not None

    report = client.get("/reports/sla")
    assert report.status_code == 200, report.text
    lines = {line["name"]: line for line in report.json()["teams"]}
    assert lines[holder]["unanswered"] == 1
    (row,) = [r for r in ledger(client).json()["rows"] if r["incident_id"] == "inc-00004"]
    assert (row["team_id"], row["outcome"], row["sla"]) == (holder, "open", "pending")


def test_a_task_reassigned_by_hand_counts_on_the_team_that_lost_it_as_reassigned(
    client: TestClient, services: Services, clock: ManualClock
) -> None:
    route(services, [incident(5, 30.601, 114.301, clock.now())])
    assert incident_row(services, "inc-00005").team_id == "near"
    dispatcher = Caller(Role.DISPATCHER, name="user:zhang.wei")
    reassign(services, "inc-00005", dispatcher, "far", "近的队伍在另一处抢修 near is busy")

    lines = {line["name"]: line for line in client.get("/reports/sla").json()["teams"]}
    near, far = lines["near"], lines["far"]
    assert (near["reassigned"], near["unanswered"], near["missed"]) == (1, 0, 1)
    assert (far["received"], far["unanswered"]) == (1, 1)
    summary = {s["team_id"]: s for s in ledger(client).json()["summary"]}
    assert summary["near"]["reassigned"] == near["reassigned"]


def test_the_xlsx_download_reads_back_with_openpyxl(client: TestClient) -> None:
    answer = ledger(client, team_id="mid", format="xlsx")

    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    disposition = answer.headers["content-disposition"]
    assert disposition == 'attachment; filename="ledger-2026-07-mid.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content))["台账 ledger"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(2)]
    assert [r["工单号 incident"] for r in rows] == ["inc-00002", "inc-00003"]
    assert all(r["结果 outcome"] == "已办结 resolved" for r in rows)
    assert rows[0]["办结时间 resolved"].year == 2026  # a real datetime, not text


def test_the_csv_download_parses_with_its_bom(client: TestClient) -> None:
    answer = ledger(client, format="csv")

    assert answer.headers["content-type"].startswith("text/csv")
    assert 'filename="ledger-2026-07.csv"' in answer.headers["content-disposition"]
    assert answer.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert [(r["队伍 team"], r["结果 outcome"]) for r in rows] == [
        ("mid", "已办结 resolved"),
        ("mid", "已办结 resolved"),
        ("near", "已办结 resolved"),
        ("near", "拒单 declined"),
        ("near", "超时收回 withdrawn"),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"month": "2026-13"}, "month"),
        ({"month": "2026-7"}, "month"),
        ({"month": "0999-01"}, "month"),
        ({}, "month"),
        ({"month": MONTH, "format": "pdf"}, "format"),
    ],
)
def test_a_bad_month_or_format_is_422_naming_it(
    client: TestClient, query: dict[str, str], field: str
) -> None:
    answer = client.get("/reports/ledger", params=query)
    assert answer.status_code == 422, answer.text
    assert [d["loc"] for d in answer.json()["detail"]] == [["query", field]]


def test_an_unknown_team_is_404(client: TestClient) -> None:
    answer = client.get("/reports/ledger", params={"month": MONTH, "team_id": "nobody"})
    assert answer.status_code == 404


def test_a_team_member_reads_its_own_ledger_only(client: TestClient, services: Services) -> None:
    near = bearer(services, Role.TEAM, "near")
    own = client.get("/reports/ledger", params={"month": MONTH, "team_id": "near"}, headers=near)
    assert own.status_code == 200
    assert {r["team_id"] for r in own.json()["rows"]} == {"near"}
    for params in ({"team_id": "mid"}, {}, {"team_id": "mid", "format": "xlsx"}):
        answer = client.get("/reports/ledger", params={"month": MONTH, **params}, headers=near)
        assert answer.status_code == 403, (params, answer.text)
        assert "inc-0000" not in answer.text
    assert client.get("/reports/sla", headers=near).status_code == 403


def test_an_auditor_reads_the_reports(client: TestClient, services: Services) -> None:
    auditor = bearer(services, Role.AUDITOR)
    assert client.get("/reports/sla", headers=auditor).status_code == 200
    answer = client.get("/reports/ledger", params={"month": MONTH}, headers=auditor)
    assert answer.status_code == 200 and len(answer.json()["rows"]) == 5


def test_the_page_figures_equal_the_cli_reports_json(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    written = tmp_path / "sla.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERYCALL_")}
    env["EVERYCALL_DATABASE_URL"] = services.settings.database_url
    command = ["sla", "report", "--json", str(written), "--chart", str(tmp_path / "sla.png")]
    done = subprocess.run(
        [sys.executable, "-m", "dispatch.entrypoints.cli.main", *command],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    from_cli = json.loads(written.read_text())
    page = client.get("/reports/sla").json()

    # the moment differs (the CLI reads the wall clock); every clock here is decided
    assert page.pop("target") == 0.95
    assert {k: v for k, v in page.items() if k != "at"} == {
        k: v for k, v in from_cli.items() if k != "at"
    }
    assert page["totals"]["received"] == 3 and len(page["over_time"]) > 0


def test_the_reports_target_is_the_sla_policys_compliance(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    policy = tmp_path / "sla.toml"
    policy.write_text("compliance = 0.9\n", encoding="utf-8")
    settings = services.settings.model_copy(update={"sla_policy_path": str(policy)})
    app = create_app(lambda: nullcontext(replace(services, settings=settings)), run_relay=False)
    with TestClient(app, headers=dict(client.headers)) as other:
        report = other.get("/reports/sla")

    assert report.status_code == 200, report.text
    assert report.json()["target"] == 0.9
