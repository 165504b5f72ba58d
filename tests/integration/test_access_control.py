"""Who may do what, checked route by route from the OpenAPI schema itself, so a route added
later is covered (or fails here): no token 401, another team's task 403/404 and never its
data, auditors change nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dispatch.adapters.orm import IncidentRow, OutboxRow
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token, issue_token, revoke_token
from events import topics
from events.kafka import Record
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team

PUBLIC = {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/teams/{team_id}")}
# a person's own sign-in and sign-out, open to everyone: tests/integration/test_people_sign_in.py
OWN_SESSION = {("POST", "/session"), ("GET", "/session"), ("DELETE", "/session")}
# a person's push subscriptions and duty, on their own session: tests/integration/test_notify_api.py
OWN_SESSION |= {
    ("GET", "/push/key"),
    ("POST", "/push/subscriptions"),
    ("DELETE", "/push/subscriptions/{subscription_id}"),
    ("GET", "/me/duty"),
    ("PUT", "/me/duty"),
}
# signed by the SMS gateway, not a caller's token: tests/integration/test_sms_replies.py
GATEWAY_SIGNED = {("POST", "/webhooks/sms")}
# a team hears only its own team's events on the stream: tests/integration/test_team_stream.py
LISTENED = {("GET", "/events/stream")}
SECRET = f"Secret Lane {uuid.uuid4().hex[:8]}"  # team A's task address: B must never see it
REPORT = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1]}
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/incidents"): REPORT,
    ("POST", "/incidents/{incident_id}/cancel"): {"reason": "test"},
    ("POST", "/incidents/{incident_id}/priority"): {"priority": "critical"},
    ("POST", "/tasks/{incident_id}/decline"): {"reason": "test"},
    ("POST", "/tasks/{incident_id}/resolve"): {"notes": "test"},
}


@dataclass
class World:
    client: TestClient
    services: Services
    task_id: str  # assigned to team-a
    tokens: dict[str, str]

    def call(self, method: str, path: str, who: str | None) -> httpx.Response:
        url = path.format(incident_id=self.task_id, team_id="team-a", division="wuhan")
        headers = {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}
        body = BODIES.get((method, path))
        return self.client.request(method, url, headers=headers, json=body)

    def footprint(self) -> tuple[int, int, str]:
        """What a change would move: the log head, the outbox, the task's state."""
        with self.services.reads() as session:
            head = self.services.event_log.head(session)[0]
            outbox = session.scalar(select(func.count()).select_from(OutboxRow)) or 0
            state = session.scalar(select(IncidentRow.state).where(IncidentRow.id == self.task_id))
        return head, outbox, str(state)


@pytest.fixture
def world(services: Services) -> Iterator[World]:
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", WUHAN[0] + 0.3, WUHAN[1])])
    task = incident(1, *WUHAN, services.clock.now()).model_copy(update={"address": SECRET})
    envelope = envelope_for(
        IncidentReported(**task.model_dump()), producer="test", key="wuhan", at=task.reported_at
    )
    handle_incident_records(services, [Record(topics.INCIDENTS, 0, 0, b"w", envelope.to_bytes())])
    tokens = {}
    with services.sessions.begin() as session:
        for who, role, team_id in [
            ("team-a", Role.TEAM, "team-a"),
            ("team-b", Role.TEAM, "team-b"),
            ("auditor", Role.AUDITOR, None),
        ]:
            tokens[who] = create_token(session, role, team_id)
        revoked_id, tokens["revoked"] = issue_token(session, Role.DISPATCHER)
        revoke_token(session, revoked_id)
    tokens["forged"] = "ec_000000000000_" + uuid.uuid4().hex
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as client:
        world = World(client, services, task.id, tokens)
        assert world.footprint()[2] == "assigned"
        yield world


def operations(client: TestClient) -> list[tuple[str, str]]:
    """Every route of the dispatch data: all but a person's own session."""
    paths = client.get("/openapi.json").json()["paths"]
    found = {(method.upper(), path) for path, item in paths.items() for method in item}
    return sorted(found - OWN_SESSION - GATEWAY_SIGNED)


def test_every_route_but_the_public_ones_refuses_a_caller_without_a_valid_token(
    world: World,
) -> None:
    guarded = [op for op in operations(world.client) if op not in PUBLIC]
    assert len(guarded) >= 14
    for method, path in guarded:
        for who in (None, "revoked", "forged"):
            answer = world.call(method, path, who)
            assert answer.status_code == 401, (method, path, who, answer.text)
            assert answer.headers.get("WWW-Authenticate") == "Bearer"
    for method, path in PUBLIC:
        assert world.call(method, path, None).status_code == 200, (method, path)


def test_a_team_gets_nothing_of_another_teams_task_on_any_route(world: World) -> None:
    # the owner sees it: the check below can fail
    mine = world.call("GET", "/incidents/{incident_id}", "team-a")
    assert mine.status_code == 200 and SECRET in mine.text
    before = world.footprint()
    for method, path in operations(world.client):
        if (method, path) in PUBLIC | LISTENED:
            continue
        answer = world.call(method, path, "team-b")
        assert answer.status_code in (403, 404), (method, path, answer.status_code, answer.text)
        # not the address, not the state, not even whose task it is
        leaked = [word for word in (SECRET, '"state"', "team-a") if word in answer.text]
        assert not leaked, (method, path, answer.text)
    assert world.footprint() == before


def test_auditors_read_everything_and_change_nothing(world: World) -> None:
    assert world.call("GET", "/incidents/{incident_id}", "auditor").status_code == 200
    assert world.call("GET", "/incidents", "auditor").status_code == 200
    before = world.footprint()
    changing = [(m, p) for m, p in operations(world.client) if m not in ("GET", "HEAD")]
    assert len(changing) >= 9
    for method, path in changing:
        answer = world.call(method, path, "auditor")
        assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
    assert world.footprint() == before


def test_a_team_cannot_report_or_run_the_center(world: World) -> None:
    before = world.footprint()
    for method, path in [
        ("POST", "/incidents"),
        ("GET", "/incidents"),
        ("GET", "/queue"),
        ("GET", "/sla/summary"),
        ("POST", "/incidents/{incident_id}/cancel"),
    ]:
        assert world.call(method, path, "team-a").status_code == 403, (method, path)
    assert world.footprint() == before
