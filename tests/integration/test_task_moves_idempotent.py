"""A team's moves with an Idempotency-Key, as the crew's phone sends the taps it queued offline:
a replay gets the first answer and applies nothing twice, the same key with another move is
refused (422), and a move on a task the team lost says so (409). On SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import incidents
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.task_moves import Move, Step, take_step
from dispatch.service_layer.tokens import create_token
from dispatch.service_layer.watchdog import run_watchdog
from models.clock import ManualClock
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team
from tests.integration.test_lifecycle_support import DESK, crew, event_types, route


@dataclass
class Phone:
    """A team's token on the API, and the task routing gave the team."""

    client: TestClient
    services: Services
    task_id: str
    headers: dict[str, str]

    def tap(self, step: str, key: str | None, body: dict[str, str] | None = None) -> httpx.Response:
        headers = self.headers | ({"Idempotency-Key": key} if key else {})
        return self.client.post(f"/tasks/{self.task_id}/{step}", json=body, headers=headers)

    def logged(self) -> list[str]:
        return [t for t in event_types(self.services, self.task_id) if t.startswith("task.")]


def token(services: Services, role: Role, team_id: str | None = None) -> dict[str, str]:
    with services.sessions.begin() as session:
        made = create_token(session, role, team_id, pepper=services.settings.api_token_pepper)
    return {"Authorization": f"Bearer {made}"}


@pytest.fixture
def phone(services: Services) -> Iterator[Phone]:
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", WUHAN[0] + 0.3, WUHAN[1])])
    task = incident(1, *WUHAN, services.clock.now())
    route(services, [task])
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as client:
        yield Phone(client, services, task.id, token(services, Role.TEAM, "team-a"))


def test_a_replayed_tap_gets_the_first_answer_and_is_applied_once(phone: Phone) -> None:
    first = phone.tap("ack", "tap-1")
    assert first.status_code == 200, first.text
    again = phone.tap("ack", "tap-1")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    assert phone.logged() == ["task.acknowledged"]

    departed = phone.tap("en-route", "tap-2")
    assert phone.tap("on-scene", "tap-3").json()["state"] == "on_scene"
    # the answer was lost and the phone sends the tap again, after the next one went through
    late = phone.tap("en-route", "tap-2")
    assert late.status_code == 200
    assert late.json() == departed.json() and late.json()["state"] == "en_route"
    assert phone.logged() == ["task.acknowledged", "task.departed", "task.arrived"]


def test_the_same_key_with_another_move_is_refused(phone: Phone) -> None:
    assert phone.tap("ack", "tap-1").status_code == 200
    other = phone.tap("en-route", "tap-1")
    assert other.status_code == 422, other.text
    assert other.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    assert phone.logged() == ["task.acknowledged"]

    assert phone.tap("en-route", "tap-2").status_code == 200
    notes = phone.tap("resolve", "tap-3", {"notes": "fuse"})
    assert notes.status_code == 409  # not on scene yet: the key is not spent on a refusal
    assert phone.tap("on-scene", "tap-4").status_code == 200
    assert phone.tap("resolve", "tap-3", {"notes": "fuse"}).status_code == 200
    assert phone.tap("resolve", "tap-3", {"notes": "another note"}).status_code == 422


def test_a_key_a_report_used_is_refused_for_a_move(phone: Phone) -> None:
    desk = token(phone.services, Role.DISPATCHER)
    body = {"kind": "repair", "latitude": WUHAN[0] + 0.3, "longitude": WUHAN[1]}
    headers = desk | {"Idempotency-Key": "call-1"}
    assert phone.client.post("/incidents", json=body, headers=headers).status_code == 202
    assert phone.tap("ack", "call-1").status_code == 422
    assert phone.logged() == []


def test_another_teams_replay_of_a_key_gets_nothing(phone: Phone) -> None:
    assert phone.tap("ack", "tap-1").status_code == 200
    stranger = token(phone.services, Role.TEAM, "team-b")
    answer = phone.client.post(
        f"/tasks/{phone.task_id}/ack", headers=stranger | {"Idempotency-Key": "tap-1"}
    )
    assert answer.status_code == 422
    assert '"state"' not in answer.text and "team-a" not in answer.text  # not the first answer


def test_a_tap_on_a_task_withdrawn_from_the_team_is_409_and_says_so(
    phone: Phone, clock: ManualClock
) -> None:
    clock.advance(minutes=6)  # past the acknowledge deadline
    assert run_watchdog(phone.services).reassigned == 1

    answer = phone.tap("en-route", "tap-1")
    assert answer.status_code == 409, answer.text
    assert answer.json()["withdrawn"] is True
    assert "withdrawn" in answer.json()["detail"]
    assert phone.logged() == ["task.reassigned"]  # the watchdog's, nothing of the phone's
    stranger = token(phone.services, Role.TEAM, "team-b")
    never = phone.client.post(f"/tasks/{phone.task_id}/ack", headers=stranger)
    assert never.status_code == 404  # a team that never had it learns nothing of it


def test_a_tap_on_a_cancelled_task_is_409_naming_the_state(phone: Phone) -> None:
    incidents.cancel(phone.services, phone.task_id, DESK, "duplicate call")
    answer = phone.tap("ack", "tap-1")
    assert answer.status_code == 409
    assert answer.json()["current_state"] == "cancelled"
    assert phone.logged() == []


def test_twin_taps_sent_at_once_are_applied_once(phone: Phone) -> None:
    answers: list[str] = []

    def send() -> None:
        move = Move(Step.ACKNOWLEDGE, phone.task_id)
        answers.append(take_step(phone.services, move, crew("team-a"), "twin").state)

    twins = [threading.Thread(target=send) for _ in range(2)]
    for thread in twins:
        thread.start()
    for thread in twins:
        thread.join(timeout=60)
    assert answers == ["acknowledged", "acknowledged"]
    assert phone.logged() == ["task.acknowledged"]
