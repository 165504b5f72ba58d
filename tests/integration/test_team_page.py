"""The public team page a QR code opens, on both databases: Chinese first and English at the
same address, the three parts 亮身份、亮职责、亮承诺, this month's record equal to the work
ledger's, stories an admin adds (and only an admin), no personal phone number anywhere."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dispatch.adapters.orm import make_engine
from dispatch.audit.replay import replay
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import tasks
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.service_layer.watchdog import run_watchdog
from dispatch.views.ledger import Month, read_ledger
from dispatch.views.team_record import read_team_record, record_of
from events.log import LoggedEvent
from models.clock import ManualClock
from models.grid import cells_near
from models.story import phone_numbers_in
from models.team import Team
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import crew, incident_row, route

LEADER_PHONE = "13907161234"  # typed into the registry by mistake: the page must not show it
NEAR = Team.model_validate(
    team("near", 30.60, 114.30).model_dump()
    | {
        "name": "光满服务队",
        "name_en": "Guangman Service Team",
        "leader": f"左光满 {LEADER_PHONE}",
        "leader_en": "Zuo Guangman",
        "roles": [
            {"role": "队长", "role_en": "Leader", "count": 1},
            {"role": "队员", "role_en": "Member", "count": 4},
        ],
        "grid_cells": sorted(cells_near(30.60, 114.30, 4.0))[:5],
        "branch": "光满服务队党支部",
        "branch_en": "Guangman team Party branch",
        "intro": "扎根社区二十年，<b>随叫随到</b>。",
        "intro_en": "Twenty years in the community, on call.",
    }
)
TEAMS = [NEAR, team("mid", 30.70, 114.30)]
HTML = {"Accept": "text/html"}
STORY = {"title": "冒雨抢修", "body": "暴雨夜里，队员们两小时恢复了全村供电。"}


def bearer(services: Services, role: Role, team_id: str | None = None) -> dict[str, str]:
    with services.sessions.begin() as session:
        token = create_token(session, role, team_id, pepper=services.settings.api_token_pepper)
    return {"Authorization": f"Bearer {token}"}


def a_month_for_near(services: Services, clock: ManualClock) -> None:
    """near: inc-1 acknowledged after 2 min, on site after 10; inc-2 after 4 and 20; inc-3 never
    acknowledged (withdrawn by the watchdog). Medians: 3 min to acknowledge, 15 to the site."""
    seed_teams(services, TEAMS)
    for n, (ack, arrive) in enumerate([(2, 10), (4, 20)], start=1):
        route(services, [incident(n, 30.601, 114.301, clock.now())])
        assert incident_row(services, f"inc-{n:05d}").team_id == "near"
        clock.advance(minutes=ack)
        tasks.acknowledge(services, f"inc-{n:05d}", crew("near"))
        clock.advance(minutes=arrive - ack)
        tasks.mark_on_scene(services, f"inc-{n:05d}", crew("near"))
        tasks.resolve(services, f"inc-{n:05d}", crew("near"), "修好了 fixed")
    route(services, [incident(3, 30.601, 114.301, clock.now())])
    assert incident_row(services, "inc-00003").team_id == "near"
    clock.advance(minutes=5)
    assert run_watchdog(services).reassigned == 1


@pytest.fixture
def client(services: Services, clock: ManualClock) -> Iterator[TestClient]:
    a_month_for_near(services, clock)
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as test_client:
        yield test_client


def page(client: TestClient, **headers: str) -> str:
    answer = client.get("/teams/near", headers=HTML | headers)
    assert answer.status_code == 200, answer.text
    assert "Accept-Language" in answer.headers["vary"]
    return str(answer.text)


def test_the_page_speaks_chinese_first_with_the_three_parts_and_a_map(
    client: TestClient,
) -> None:
    shown = page(client)
    assert '<html lang="zh-CN">' in shown
    for words in ("光满服务队", "左光满", "亮身份", "亮职责", "亮承诺", "有呼必应、有难必帮"):
        assert words in shown, words
    assert "武汉市" in shown and "供电抢修" in shown and "队员 5 名，其中党员 4 名" in shown
    assert "<li>队长：1</li><li>队员：4</li>" in shown
    assert "一队一支部：光满服务队党支部" in shown
    assert "&lt;b&gt;随叫随到&lt;/b&gt;" in shown  # registry text is escaped too
    assert "5 个网格，一名队员包一格（武汉市）" in shown
    assert '<path class="cells" d="M' in shown
    assert '<a class="call" href="tel:95598">拨打 95598</a>' in shown
    assert re.search(r'<svg role="img"[^>]*>.*<path class="division" d="M', shown, re.S)
    assert '<circle class="home"' in shown
    assert "http://" not in shown.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in shown  # no CDN, no web font: a dispatch network has no internet


@pytest.mark.parametrize(
    ("accept_language", "query", "expected"),
    [
        ("en-US,en;q=0.9,zh-CN;q=0.8", "", "en"),
        ("zh-CN,zh;q=0.9,en;q=0.8", "", "zh-CN"),
        ("fr-FR,en;q=0.5", "", "en"),
        ("zh;q=0.2,en;q=0.9", "", "en"),
        ("de", "", "zh-CN"),
        ("en", "?lang=zh", "zh-CN"),
        ("zh-CN", "?lang=en", "en"),
    ],
)
def test_the_same_address_speaks_english_when_the_reader_asks_for_it(
    client: TestClient, accept_language: str, query: str, expected: str
) -> None:
    answer = client.get(f"/teams/near{query}", headers=HTML | {"Accept-Language": accept_language})
    assert answer.status_code == 200
    assert f'<html lang="{expected}">' in answer.text
    assert answer.headers["content-language"] == expected
    if expected == "en":
        assert "Who we are" in answer.text and "Call 95598" in answer.text
        assert "<h1>Guangman Service Team</h1>" in answer.text and "Zuo Guangman" in answer.text
        assert "<li>Leader：1</li>" in answer.text and "Wuhan" in answer.text
        assert "Guangman team Party branch" in answer.text
        assert 'href="?lang=zh"' in answer.text
        assert "Every call answered, every difficulty helped" in answer.text
    else:
        assert 'href="?lang=en"' in answer.text


def test_the_json_profile_also_varies_by_what_the_reader_accepts(client: TestClient) -> None:
    answer = client.get("/teams/near")
    assert answer.status_code == 200 and answer.json()["name"] == "光满服务队"
    assert answer.headers["vary"] == "Accept, Accept-Language"  # caches keep page and JSON apart


def test_a_language_the_page_does_not_have_is_refused_with_422(client: TestClient) -> None:
    assert client.get("/teams/near?lang=fr", headers=HTML).status_code == 422
    assert client.get("/teams/nobody", headers=HTML).status_code == 404


def test_the_record_is_this_months_ledger_with_medians(
    client: TestClient, services: Services
) -> None:
    ledger = client.get(
        "/reports/ledger",
        params={"month": "2026-07", "team_id": "near"},
        headers=bearer(services, Role.DISPATCHER),
    )
    assert ledger.status_code == 200, ledger.text
    rows = ledger.json()["rows"]  # the ledger the branch reads: the same tasks, the same times
    assert len(rows) == 3 and sum(r["outcome"] == "resolved" for r in rows) == 2
    assert sorted(r["ack_minutes"] for r in rows if r["ack_minutes"] is not None) == [2.0, 4.0]
    assert sorted(r["arrive_minutes"] for r in rows if r["arrive_minutes"] is not None) == [
        10.0,
        20.0,
    ]
    zh, en = page(client), page(client, **{"Accept-Language": "en"})
    assert "本月服务记录（2026-07）" in zh
    assert "接到任务 3 次，已响应 2 次，已办结 2 次。" in zh
    assert "响应用时中位数：3 分钟" in zh and "到达现场用时中位数：15 分钟" in zh
    assert "3 tasks given, 2 acknowledged, 2 resolved." in en
    assert "Median time to acknowledge: 3 min" in en
    assert "Median time to reach the site: 15 min" in en
    now = services.clock.now()
    with services.reads() as session:  # read by the team's incidents alone, equal to the ledger
        for team_id in ("near", "mid"):
            whole = read_ledger(session, Month.of(now), team_id, now)
            assert read_team_record(session, team_id, now) == record_of(Month.of(now), whole.rows)
    mid = client.get("/teams/mid", headers=HTML).text  # nothing acknowledged yet
    assert "响应用时中位数：本月暂无" in mid and "到达现场用时中位数：本月暂无" in mid


def test_only_an_admin_adds_a_story_and_it_shows_newest_first_escaped(
    client: TestClient, services: Services, clock: ManualClock
) -> None:
    url = "/teams/near/stories"
    for role, team_id in ((Role.DISPATCHER, None), (Role.TEAM, "near"), (Role.AUDITOR, None)):
        refused = client.post(url, json=STORY, headers=bearer(services, role, team_id))
        assert refused.status_code == 403, (role, refused.text)
    admin = bearer(services, Role.ADMIN)
    first = client.post(url, json=STORY, headers=admin)
    assert first.status_code == 201, first.text
    clock.advance(minutes=30)
    second = {"title": "<script>alert(1)</script>", "body": "a & b", "title_en": "In the rain"}
    assert client.post(url, json=second, headers=admin).status_code == 201

    shown = page(client)
    assert "<script>alert" not in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
    assert shown.index("&lt;script&gt;") < shown.index("冒雨抢修")  # newest first
    assert "2026-07-01" in shown  # added at 08:xx UTC, shown in Asia/Shanghai
    assert "In the rain" in page(client, **{"Accept-Language": "en"})
    read = client.get(url, headers=bearer(services, Role.AUDITOR))
    assert read.status_code == 200
    assert [s["title"] for s in read.json()] == [second["title"], STORY["title"]]
    assert client.get(url, headers=bearer(services, Role.TEAM, "near")).status_code == 403

    with services.reads() as session:
        logged = session.scalars(
            select(LoggedEvent).where(LoggedEvent.type == "team.story_added")
        ).all()
    payloads = [json.loads(e.envelope)["payload"] for e in logged]
    # who added them: the admin's token, by its id
    assert [p["actor"].split("/")[0] for p in payloads] == ["admin", "admin"]


@pytest.mark.parametrize(
    "body",
    [
        {"title": "", "body": "x"},
        {"title": "x"},
        {"title": "x" * 201, "body": "x"},
        {"title": "x", "body": "请拨打 138 1234 5678 联系队长"},
        {"title": "x", "body": "x", "body_en": "call 027-87654321"},
        {"title": "x", "body": "x", "author": "someone"},
    ],
)
def test_a_bad_story_is_refused_with_422(
    client: TestClient, services: Services, body: dict[str, str]
) -> None:
    answer = client.post("/teams/near/stories", json=body, headers=bearer(services, Role.ADMIN))
    assert answer.status_code == 422, answer.text


def test_a_story_for_an_unknown_team_is_404(client: TestClient, services: Services) -> None:
    admin = bearer(services, Role.ADMIN)
    assert client.post("/teams/nobody/stories", json=STORY, headers=admin).status_code == 404
    assert client.get("/teams/nobody/stories", headers=admin).status_code == 404


def test_no_personal_phone_number_is_on_the_page_only_the_hotline(client: TestClient) -> None:
    for language in ("zh", "en"):
        shown = client.get(f"/teams/near?lang={language}", headers=HTML).text
        assert LEADER_PHONE not in shown
        assert phone_numbers_in(shown) == []
        assert re.findall(r'href="tel:([^"]*)"', shown) == ["95598"]


def test_a_replay_of_the_log_rebuilds_the_stories_as_they_are(
    client: TestClient, services: Services, tmp_path: Path
) -> None:
    admin = bearer(services, Role.ADMIN)
    for title in ("第一篇", "第二篇"):
        story = STORY | {"title": title}
        assert client.post("/teams/near/stories", json=story, headers=admin).status_code == 201
    target = make_engine(f"sqlite:///{tmp_path / 'replayed.db'}")
    try:
        with services.engine.connect() as live, live.begin():
            result = replay(live, target)
        assert result.written["team_stories"] == 2
        assert result.identical, result.differences  # every projected table, stories too
    finally:
        target.dispose()
