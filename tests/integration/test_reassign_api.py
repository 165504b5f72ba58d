"""Reassigning by hand over HTTP, on both databases: a dispatcher signed in to the board picks
a team from the candidates and the log names them; who may read the candidates and who may
reassign; and every refusal is a 4xx that says why and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.deps import CSRF_HEADER
from dispatch.service_layer import tasks, users
from dispatch.service_layer.access import Role
from dispatch.service_layer.tokens import create_token
from tests.integration.test_lifecycle_support import crew, event_types
from tests.integration.test_reassign_by_hand import WHY, World, world

__all__ = ["world"]  # the fixture: six teams, a task with team-a, team-full full

PASSWORD = "长江大桥-2026-good"


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    services = world.services
    with services.sessions.begin() as session:
        users.add_user(session, "zhang.wei", Role.DISPATCHER, PASSWORD, at=services.clock.now())
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


def bearer(world: World, role: Role, team_id: str | None = None) -> dict[str, str]:
    with world.services.sessions.begin() as session:
        return {"Authorization": f"Bearer {create_token(session, role, team_id)}"}


def reassign_url(world: World) -> str:
    return f"/incidents/{world.task_id}/reassign"


def candidates_url(world: World) -> str:
    return f"/incidents/{world.task_id}/candidates"


def test_a_dispatcher_signed_in_reassigns_from_the_candidates_and_the_log_names_them(
    client: TestClient, world: World
) -> None:
    signed = client.post("/session", json={"username": "zhang.wei", "password": PASSWORD})
    csrf = {CSRF_HEADER: signed.json()["csrf_token"]}
    offered = client.get(candidates_url(world))
    assert offered.status_code == 200, offered.text
    first = offered.json()[0]
    assert (first["rank"], first["team_id"], first["eligible"]) == (1, "team-b", True)
    assert {"distance_km", "eta_min", "load", "capacity", "status", "has_skill"} <= set(first)
    body = {"team_id": first["team_id"], "reason": WHY}
    assert client.post(reassign_url(world), json=body).status_code == 403  # no CSRF token

    answer = client.post(reassign_url(world), json=body, headers=csrf)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert (view["state"], view["team_id"]) == ("assigned", "team-b")
    withdrawn = next(e for e in view["timeline"] if e["type"] == "incident.reassigned")
    assert withdrawn["actor"] == "user:zhang.wei" and withdrawn["details"]["reason"] == WHY
    assert view["explanation"][0]["by"] == "user:zhang.wei"


def test_any_reader_sees_the_candidates_but_not_a_team_or_a_stranger(
    client: TestClient, world: World
) -> None:
    for role in (Role.AUDITOR, Role.DISPATCHER, Role.ADMIN):
        answer = client.get(candidates_url(world), headers=bearer(world, role))
        assert answer.status_code == 200 and len(answer.json()) == 6, (role, answer.text)
    own_team = bearer(world, Role.TEAM, "team-a")
    assert client.get(candidates_url(world), headers=own_team).status_code == 403
    assert client.get(candidates_url(world)).status_code == 401
    auditor = bearer(world, Role.AUDITOR)
    assert client.get("/incidents/inc-nowhere/candidates", headers=auditor).status_code == 404
    for limit in (0, 1001, "many"):
        limited = client.get(candidates_url(world), params={"limit": limit}, headers=auditor)
        assert limited.status_code == 422, limit
    one = client.get(candidates_url(world), params={"limit": 1}, headers=auditor).json()
    assert [c["team_id"] for c in one] == ["team-b"]


def test_only_dispatchers_and_admins_reassign(client: TestClient, world: World) -> None:
    body = {"team_id": "team-b", "reason": WHY}
    before = event_types(world.services, world.task_id)
    for headers, status in [
        ({}, 401),
        (bearer(world, Role.AUDITOR), 403),
        (bearer(world, Role.TEAM, "team-a"), 403),
        (bearer(world, Role.TEAM, "team-b"), 403),
    ]:
        answer = client.post(reassign_url(world), json=body, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
    assert event_types(world.services, world.task_id) == before
    admin = client.post(reassign_url(world), json=body, headers=bearer(world, Role.ADMIN))
    assert admin.status_code == 200 and admin.json()["team_id"] == "team-b"


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"team_id": "team-a", "reason": WHY}, 409, "has the incident now"),
        ({"team_id": "team-full", "reason": WHY}, 409, "任务已满（1/1）"),
        ({"team_id": "team-busy", "reason": WHY}, 409, "not available (busy)"),
        ({"team_id": "team-relief", "reason": WHY}, 422, "lacks the skill repair"),
        ({"team_id": "team-nowhere", "reason": WHY}, 422, "no such team"),
        ({"team_id": "team-b"}, 422, "reason"),
        ({"team_id": "team-b", "reason": ""}, 422, "reason"),
        ({"team_id": "team-b", "reason": "长" * 501}, 422, "reason"),
        ({"team_id": "", "reason": WHY}, 422, "team_id"),
        ({"team_id": "x" * 65, "reason": WHY}, 422, "team_id"),
    ],
)
def test_every_refusal_is_a_4xx_saying_why_and_changes_nothing(
    client: TestClient, world: World, body: dict[str, Any], status: int, words: str
) -> None:
    before = event_types(world.services, world.task_id)
    answer = client.post(reassign_url(world), json=body, headers=bearer(world, Role.DISPATCHER))
    assert answer.status_code == status, answer.text
    assert words in answer.text
    if status == 422:  # shaped as every 422 is: a list of problems, each naming its field
        assert all(p["loc"][0] == "body" for p in answer.json()["detail"])
    assert event_types(world.services, world.task_id) == before


def test_an_unknown_incident_is_404_and_one_on_scene_is_409(
    client: TestClient, world: World
) -> None:
    dispatcher = bearer(world, Role.DISPATCHER)
    body = {"team_id": "team-b", "reason": WHY}
    missing = client.post("/incidents/inc-nowhere/reassign", json=body, headers=dispatcher)
    assert missing.status_code == 404
    for step in (tasks.acknowledge, tasks.mark_on_scene):
        step(world.services, world.task_id, crew("team-a"))
    on_scene = client.post(reassign_url(world), json=body, headers=dispatcher)
    assert on_scene.status_code == 409 and on_scene.json()["current_state"] == "on_scene"
