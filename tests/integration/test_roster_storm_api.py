"""The roster's and storm mode's routes as the board uses them: the dispatch center writes,
auditors read, bad input gets a 4xx that says why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from tests.integration.spine_helpers import seed_teams, team


@pytest.fixture
def api(services: Services) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    seed_teams(services, [team("team-a", 30.6, 114.3), team("team-b", 30.7, 114.3)])
    with services.sessions.begin() as session:
        tokens = {
            who: {"Authorization": f"Bearer {create_token(session, role, None)}"}
            for who, role in [("dispatcher", Role.DISPATCHER), ("auditor", Role.AUDITOR)]
        }
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as client:
        yield client, tokens


def test_shifts_posted_by_the_center_show_on_the_duty_board(
    api: tuple[TestClient, dict[str, dict[str, str]]], services: Services
) -> None:
    client, who = api
    now = services.clock.now()
    shift = {
        "team_id": "team-a",
        "starts_at": (now + timedelta(hours=1)).isoformat(),
        "minutes": 480,
    }
    posted = client.post("/roster/shifts", json={"shifts": [shift]}, headers=who["dispatcher"])
    assert posted.status_code == 200 and posted.json() == {"imported": 1}
    board = client.get("/roster/now", headers=who["auditor"])
    assert board.status_code == 200
    teams = {t["team_id"]: t for t in board.json()["teams"]}
    assert teams["team-a"]["on_duty"] is False and teams["team-a"]["next"] is not None
    assert teams["team-b"]["on_duty"] is True and board.json()["off_duty"] == 1


@pytest.mark.parametrize(
    ("shift", "status", "said"),
    [
        ({"team_id": "ghost"}, 404, "ghost"),
        ({"minutes": 0}, 422, "greater than or equal to 1"),
        ({"minutes": 0.5}, 422, "valid integer"),
        ({"starts_at": "0001-01-01T00:00:00+01:00"}, 422, "out of range"),
        ({"starts_at": "9999-12-31T23:00:00+00:00"}, 422, "out of range"),
        ({"starts_at": "2026-07-01T07:00:00"}, 422, "timezone"),
    ],
)
def test_a_bad_shift_is_refused_saying_why(
    api: tuple[TestClient, dict[str, dict[str, str]]],
    shift: dict[str, object],
    status: int,
    said: str,
) -> None:
    client, who = api
    body: dict[str, object] = {"team_id": "team-a", "starts_at": "2026-07-01T08:00:00+00:00"}
    body |= {"minutes": 480} | shift
    answer = client.post("/roster/shifts", json={"shifts": [body]}, headers=who["dispatcher"])
    assert answer.status_code == status, answer.text
    assert said in answer.text


def test_storm_mode_is_declared_shown_and_ended_by_the_center_and_only_read_by_auditors(
    api: tuple[TestClient, dict[str, dict[str, str]]],
) -> None:
    client, who = api
    body = {"reason": "暴雨红色预警"}
    assert client.post("/storm/wuhan", json=body, headers=who["auditor"]).status_code == 403
    declared = client.post("/storm/wuhan", json=body, headers=who["dispatcher"])
    assert declared.status_code == 200 and declared.json()["active"] is True
    assert client.post("/storm/wuhan", json=body, headers=who["dispatcher"]).status_code == 409
    assert client.post("/storm/atlantis", json=body, headers=who["dispatcher"]).status_code == 404
    shown = client.get("/storm", headers=who["auditor"])
    assert shown.status_code == 200 and [s["division"] for s in shown.json()] == ["wuhan"]
    assert client.delete("/storm/wuhan", headers=who["auditor"]).status_code == 403
    ended = client.delete("/storm/wuhan", params={"reason": "lifted"}, headers=who["dispatcher"])
    assert ended.status_code == 200 and ended.json()["active"] is False
    assert client.delete("/storm/wuhan", headers=who["dispatcher"]).status_code == 409
    assert (
        client.post("/storm/Not A Division", json=body, headers=who["dispatcher"]).status_code
        == 422
    )
