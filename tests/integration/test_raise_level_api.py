"""Raising an incident's level over HTTP, on both databases: a dispatcher signed in to the
board asks for one more team and the new support task joins the incident's tasks, logged in
their name and shown on the board's first read; only dispatchers and admins may; a closed
incident, one at the ceiling, an unknown one and a bad body are refused saying why, and
nothing is logged."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any

import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.deps import CSRF_HEADER
from dispatch.service_layer import incidents, users
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.views.open_board import INCIDENT_FIELDS
from tests.integration.test_lifecycle_support import event_types, payloads, route
from tests.integration.test_support_tasks import ZHANG, call, relief

__all__ = ["relief"]  # the fixture: three relief teams and a repair team nearer than them

PASSWORD = "长江大桥-2026-good"
WHY = "两条街被淹 two streets flooded"
LEAD, SUPPORT = "call-1", "call-1.1"  # a critical disaster relief call: two teams at once


@pytest.fixture
def client(relief: Services) -> Iterator[TestClient]:
    with relief.sessions.begin() as session:
        users.add_user(session, "zhang.wei", Role.DISPATCHER, PASSWORD, at=relief.clock.now())
    route(relief, [call(1, relief.clock.now())])
    with TestClient(create_app(lambda: nullcontext(relief), run_relay=False)) as test_client:
        yield test_client


def bearer(services: Services, role: Role, team_id: str | None = None) -> dict[str, str]:
    with services.sessions.begin() as session:
        return {"Authorization": f"Bearer {create_token(session, role, team_id)}"}


def raise_url(incident_id: str = LEAD) -> str:
    return f"/incidents/{incident_id}/raise-level"


def logged(services: Services) -> dict[str, list[str]]:
    """The events about each task of the incident, to show a refusal changed nothing."""
    return {i: event_types(services, i) for i in (LEAD, SUPPORT, "call-1.2")}


def test_a_dispatcher_signed_in_raises_the_level_and_the_new_task_joins_the_group(
    client: TestClient, relief: Services
) -> None:
    signed = client.post("/session", json={"username": "zhang.wei", "password": PASSWORD})
    csrf = {CSRF_HEADER: signed.json()["csrf_token"]}
    before = client.get(f"/incidents/{LEAD}").json()
    assert [(t["incident_id"], t["lead"]) for t in before["group"]] == [
        (LEAD, True),
        (SUPPORT, False),
    ]
    body = {"reason": WHY}
    assert client.post(raise_url(), json=body).status_code == 403  # no CSRF token

    answer = client.post(raise_url(), json=body, headers=csrf)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["id"] == LEAD and view["lead_id"] is None
    tasks = [(t["incident_id"], t["lead"], t["team_id"], t["state"]) for t in view["group"]]
    assert tasks == [
        (LEAD, True, "relief-1", "assigned"),
        (SUPPORT, False, "relief-2", "assigned"),
        ("call-1.2", False, None, "queued"),  # waits for the next routing pass
    ]
    (requested,) = payloads(relief, "call-1.2", "incident.support_requested")
    assert (requested["lead_id"], requested["actor"], requested["reason"]) == (
        LEAD,
        "user:zhang.wei",
        WHY,
    )
    assert requested["teams_wanted"] == 3
    support = client.get("/incidents/call-1.2").json()
    assert support["lead_id"] == LEAD and support["group"] == view["group"]
    # the board's first read marks the support tasks by their lead
    board = client.get("/board/open").json()
    leads = {
        row[0]: dict(zip(INCIDENT_FIELDS, row, strict=True))["lead_id"]
        for row in board["incidents"]
    }
    assert leads == {LEAD: None, SUPPORT: LEAD, "call-1.2": LEAD}


def test_raised_through_a_support_task_the_lead_gains_one(
    client: TestClient, relief: Services
) -> None:
    answer = client.post(
        raise_url(SUPPORT), json={"reason": WHY}, headers=bearer(relief, Role.ADMIN)
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == SUPPORT and answer.json()["lead_id"] == LEAD
    assert [t["incident_id"] for t in answer.json()["group"]] == [LEAD, SUPPORT, "call-1.2"]


def test_only_dispatchers_and_admins_raise_the_level(client: TestClient, relief: Services) -> None:
    before = logged(relief)
    for headers, status in [
        ({}, 401),
        (bearer(relief, Role.AUDITOR), 403),
        (bearer(relief, Role.TEAM, "relief-1"), 403),  # the lead's own team
        (bearer(relief, Role.TEAM, "relief-3"), 403),
    ]:
        answer = client.post(raise_url(), json={"reason": WHY}, headers=headers)
        assert answer.status_code == status, (headers, answer.text)
    assert logged(relief) == before
    admin = client.post(raise_url(), json={"reason": WHY}, headers=bearer(relief, Role.ADMIN))
    assert admin.status_code == 200 and len(admin.json()["group"]) == 3


def test_a_closed_incident_is_409_naming_its_state(client: TestClient, relief: Services) -> None:
    incidents.cancel(relief, LEAD, ZHANG, "false alarm 误报")
    before = logged(relief)
    answer = client.post(raise_url(), json={"reason": WHY}, headers=bearer(relief, Role.DISPATCHER))
    assert answer.status_code == 409, answer.text
    assert answer.json()["current_state"] == "cancelled"
    assert "raise the level of incident call-1" in answer.json()["detail"]
    assert logged(relief) == before


def test_at_the_ceiling_it_is_409_saying_how_many_teams_it_has(
    client: TestClient, relief: Services
) -> None:
    dispatcher = bearer(relief, Role.DISPATCHER)
    for _ in range(3):  # two teams by its plan, five at the built-in ceiling
        assert client.post(raise_url(), json={"reason": WHY}, headers=dispatcher).status_code == 200
    before = event_types(relief, LEAD)
    answer = client.post(raise_url(), json={"reason": WHY}, headers=dispatcher)
    assert answer.status_code == 409, answer.text
    detail = answer.json()["detail"]
    assert "has 5 tasks open, the most a level may ask for" in detail
    assert "已达最多 5 支队伍" in detail
    assert event_types(relief, LEAD) == before
    assert event_types(relief, "call-1.5") == []


def test_an_unknown_incident_is_404(client: TestClient, relief: Services) -> None:
    answer = client.post(
        raise_url("inc-nowhere"), json={"reason": WHY}, headers=bearer(relief, Role.DISPATCHER)
    )
    assert answer.status_code == 404 and "inc-nowhere" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [{}, {"reason": ""}, {"reason": "长" * 501}, {"reason": 5}, {"reason": None}],
)
def test_a_bad_reason_is_422_naming_it_and_changes_nothing(
    client: TestClient, relief: Services, body: dict[str, Any]
) -> None:
    before = logged(relief)
    answer = client.post(raise_url(), json=body, headers=bearer(relief, Role.DISPATCHER))
    assert answer.status_code == 422, answer.text
    assert [p["loc"] for p in answer.json()["detail"]] == [["body", "reason"]]
    assert logged(relief) == before


def test_a_retry_with_the_same_idempotency_key_asks_for_no_more_teams(
    client: TestClient, relief: Services
) -> None:
    dispatcher = bearer(relief, Role.DISPATCHER) | {"Idempotency-Key": "raise-call-1-a"}
    first = client.post(raise_url(), json={"reason": WHY}, headers=dispatcher)
    again = client.post(raise_url(), json={"reason": WHY}, headers=dispatcher)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert event_types(relief, "call-1.2").count("incident.support_requested") == 1
    assert event_types(relief, "call-1.3") == []
    other = client.post(raise_url(), json={"reason": "another"}, headers=dispatcher)
    assert other.status_code == 422 and "Idempotency-Key" in other.text
    assert event_types(relief, "call-1.3") == []
