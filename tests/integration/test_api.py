"""The HTTP API on real parts: the app with its outbox relay, the real broker, both databases.

Reports go in over HTTP, the relay publishes them to Kafka, the routing service consumes them
from Kafka and assigns a team; teams then act on their tasks over HTTP.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dispatch.adapters.orm import ApiTokenRow, IncidentRow, OutboxRow
from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.registry import report_location
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token, hash_token, revoke_token, token_id_of
from events import topics
from events.broker import free_port
from models.clock import ManualClock
from tests.integration.spine_helpers import WUHAN, read_topic, seed_teams, team

REPORT = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1], "address": "No. 1 Road"}
TEAM_ACTIONS = ["ack", "decline", "en-route", "on-scene", "resolve"]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with a pepper for token hashes and storm grouping, as in production
    (each test here routes one report, or groups two on purpose)."""
    return settings.model_copy(
        update={"api_token_pepper": "pepper-for-tests", "storm_radius_m": 200.0}
    )


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", WUHAN[0] + 0.2, WUHAN[1])])
    with TestClient(create_app(lambda: nullcontext(services))) as test_client:
        yield test_client


def bearer(services: Services, role: Role, team_id: str | None = None) -> dict[str, str]:
    with services.sessions.begin() as session:
        token = create_token(session, role, team_id, pepper=services.settings.api_token_pepper)
    return {"Authorization": f"Bearer {token}"}


def report(client: TestClient, services: Services, **changes: Any) -> str:
    answer = client.post(
        "/incidents", json=REPORT | changes, headers=bearer(services, Role.DISPATCHER)
    )
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def route_published(services: Services, count: int) -> None:
    """What the dispatcher does: consume the relayed reports from Kafka and route them."""
    records = read_topic(services, topics.INCIDENTS, expected=count)
    assert len(records) == count
    handle_incident_records(services, records)


def assigned_task(client: TestClient, services: Services) -> tuple[str, str, str]:
    """A reported, relayed, routed incident: (incident id, its team, the other team)."""
    incident_id = report(client, services)
    route_published(services, 1)
    view = client.get(f"/incidents/{incident_id}", headers=bearer(services, Role.DISPATCHER))
    assert view.json()["state"] == "assigned", view.text
    owner = view.json()["team_id"]
    return incident_id, owner, "team-b" if owner == "team-a" else "team-a"


def act(
    client: TestClient,
    services: Services,
    incident_id: str,
    action: str,
    team_id: str,
    body: dict[str, str] | None = None,
) -> Any:
    return client.post(
        f"/tasks/{incident_id}/{action}",
        json=body if body is not None else _body_of(action),
        headers=bearer(services, Role.TEAM, team_id),
    )


def _body_of(action: str) -> dict[str, str] | None:
    return {"decline": {"reason": "crew at another fault"}, "resolve": {"notes": "fuse"}}.get(
        action
    )


# Reporting ------------------------------------------------------------------------------------


def test_report_is_accepted_with_its_id_then_published_and_routed(
    client: TestClient, services: Services
) -> None:
    answer = client.post("/incidents", json=REPORT, headers=bearer(services, Role.DISPATCHER))

    assert answer.status_code == 202
    incident_id = answer.json()["id"]
    assert answer.headers["location"] == f"/incidents/{incident_id}"
    records = read_topic(services, topics.INCIDENTS, expected=1)  # the relay published it
    envelope = json.loads(records[0].value or b"{}")
    assert envelope["type"] == "incident.reported"
    assert envelope["payload"]["id"] == incident_id
    assert envelope["payload"]["region"] == "wuhan"  # derived from the place
    assert envelope["payload"]["reported_at"] == services.clock.now().isoformat().replace(
        "+00:00", "Z"
    )
    handle_incident_records(services, records)
    view = client.get(f"/incidents/{incident_id}", headers=bearer(services, Role.DISPATCHER))
    assert view.status_code == 200
    assert view.json()["state"] == "assigned"
    assert view.json()["team_id"] in ("team-a", "team-b")
    assert view.json()["address"] == "No. 1 Road"


def test_same_idempotency_key_gives_the_same_id_and_stages_nothing_new(
    services: Services,
) -> None:
    headers = bearer(services, Role.DISPATCHER) | {"Idempotency-Key": "call-7781"}
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as client:
        first = client.post("/incidents", json=REPORT, headers=headers)
        again = client.post("/incidents", json=REPORT, headers=headers)
        other = client.post("/incidents", json=REPORT | {"latitude": 30.7}, headers=headers)
        fresh = client.post("/incidents", json=REPORT, headers=bearer(services, Role.DISPATCHER))

    assert first.status_code == again.status_code == fresh.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert fresh.json()["id"] != first.json()["id"]
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "idempotency-key"]
    assert "Idempotency-Key" in other.json()["detail"][0]["msg"]
    with services.reads() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"latitude": 95.0}, "latitude"),
        ({"longitude": -181}, "longitude"),
        ({"latitude": 0.0}, "latitude"),  # a real place, but not in Hubei
        ({"latitude": "north"}, "latitude"),
        ({"kind": "alien_landing"}, "kind"),
        ({"priority": "asap"}, "priority"),
        ({"region": "atlantis"}, "region"),
        ({"address": "x" * 501}, "address"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_report_is_422_naming_the_field(
    client: TestClient, services: Services, change: dict[str, Any], field: str
) -> None:
    answer = client.post(
        "/incidents", json=REPORT | change, headers=bearer(services, Role.DISPATCHER)
    )

    assert answer.status_code == 422
    assert [problem["loc"] for problem in answer.json()["detail"]] == [["body", field]]


def test_report_without_coordinates_is_422_naming_them(
    client: TestClient, services: Services
) -> None:
    answer = client.post(
        "/incidents", json={"kind": "repair"}, headers=bearer(services, Role.DISPATCHER)
    )

    assert answer.status_code == 422
    assert {tuple(p["loc"]) for p in answer.json()["detail"]} == {
        ("body", "latitude"),
        ("body", "longitude"),
    }


def test_oversized_body_is_413_whether_declared_or_streamed(
    client: TestClient, services: Services
) -> None:
    limit = services.settings.api_body_limit_bytes
    huge = json.dumps(REPORT | {"address": "x" * limit}).encode()
    headers = bearer(services, Role.DISPATCHER) | {"Content-Type": "application/json"}

    declared = client.post("/incidents", content=huge, headers=headers)
    streamed = client.post("/incidents", content=iter([huge[:1000], huge[1000:]]), headers=headers)

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert str(limit) in declared.json()["detail"]
    with services.reads() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == 0


# Tokens and roles -----------------------------------------------------------------------------


def test_requests_without_a_valid_token_are_401(client: TestClient, services: Services) -> None:
    dispatcher = bearer(services, Role.DISPATCHER)
    token = dispatcher["Authorization"].removeprefix("Bearer ")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with services.sessions.begin() as session:
        revoked = create_token(session, Role.DISPATCHER)
        revoke_token(session, str(token_id_of(revoked)))

    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": f"Bearer {tampered}"},
        {"Authorization": f"Bearer {revoked}"},
    ):
        assert client.get("/incidents", headers=headers).status_code == 401
        answer = client.post("/incidents", json=REPORT, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["www-authenticate"] == "Bearer"
    assert client.get("/incidents", headers=dispatcher).status_code == 200


def test_tokens_are_stored_only_as_keyed_hashes(services: Services) -> None:
    headers = bearer(services, Role.AUDITOR)
    token = headers["Authorization"].removeprefix("Bearer ")
    with services.reads() as session:
        rows = session.scalars(select(ApiTokenRow)).all()

    assert len(rows) == 1
    assert rows[0].token_hash == hash_token(token, services.settings.api_token_pepper)
    assert rows[0].token_hash != hashlib.sha256(token.encode()).hexdigest()  # keyed: peppered
    assert token not in {str(v) for v in rows[0].__dict__.values()}


def test_auditor_reads_everything_and_changes_nothing(
    client: TestClient, services: Services
) -> None:
    incident_id, owner, _ = assigned_task(client, services)
    auditor = bearer(services, Role.AUDITOR)

    for path in (
        f"/incidents/{incident_id}",
        "/incidents",
        "/sla/summary",
        "/queue",
        f"/teams/{owner}/tasks",
    ):
        assert client.get(path, headers=auditor).status_code == 200, path
    paths = client.get("/openapi.json").json()["paths"]
    # signing in and out is a person's own session, open to every role (test_people_sign_in)
    own_session = {("post", "/session"), ("delete", "/session")}
    # a person's push subscriptions and duty (test_notify_api); the SMS gateway's signed replies
    own_session |= {("post", "/push/subscriptions"), ("put", "/me/duty"), ("post", "/webhooks/sms")}
    own_session |= {("delete", "/push/subscriptions/{subscription_id}")}
    changing = [
        (m, p)
        for p, ops in paths.items()
        for m in ops
        if m not in ("get", "head") and (m, p) not in own_session
    ]
    assert len(changing) >= 6
    for method, path in changing:
        url = path.replace("{incident_id}", incident_id)
        answer = client.request(method, url, json=REPORT | {"reason": "r"}, headers=auditor)
        assert answer.status_code == 403, (path, answer.text)
    view = client.get(f"/incidents/{incident_id}", headers=auditor).json()
    assert view["state"] == "assigned"
    with services.reads() as session:
        assert session.scalar(select(func.count()).select_from(IncidentRow)) == 1


def test_teams_cannot_use_the_dispatch_center_endpoints(
    client: TestClient, services: Services
) -> None:
    team_a = bearer(services, Role.TEAM, "team-a")

    assert client.post("/incidents", json=REPORT, headers=team_a).status_code == 403
    for path in ("/incidents", "/sla/summary", "/queue"):
        assert client.get(path, headers=team_a).status_code == 403, path


def test_dispatch_center_records_a_teams_progress_under_its_own_name(
    client: TestClient, services: Services
) -> None:
    incident_id, _, _ = assigned_task(client, services)
    with services.sessions.begin() as session:
        token = create_token(
            session, Role.DISPATCHER, name="desk 3", pepper=services.settings.api_token_pepper
        )

    answer = client.post(f"/tasks/{incident_id}/ack", headers={"Authorization": f"Bearer {token}"})

    assert answer.status_code == 200
    acknowledged = [e for e in answer.json()["timeline"] if e["type"] == "task.acknowledged"]
    assert [e["actor"] for e in acknowledged] == ["desk 3"]


def test_dispatch_center_cancels_and_reprioritises(client: TestClient, services: Services) -> None:
    incident_id, owner, _ = assigned_task(client, services)
    dispatcher = bearer(services, Role.DISPATCHER)
    cancel = f"/incidents/{incident_id}/cancel"

    by_team = client.post(cancel, json={"reason": "x"}, headers=bearer(services, Role.TEAM, owner))
    no_reason = client.post(cancel, json={}, headers=dispatcher)
    urgent = client.post(
        f"/incidents/{incident_id}/priority", json={"priority": "critical"}, headers=dispatcher
    )
    cancelled = client.post(cancel, json={"reason": "false alarm"}, headers=dispatcher)
    again = client.post(cancel, json={"reason": "false alarm"}, headers=dispatcher)

    assert by_team.status_code == 403
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["loc"] == [
        "body",
        "reason",
    ]
    assert urgent.status_code == 200 and urgent.json()["priority"] == "critical"
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert again.status_code == 409 and "cancelled" in again.json()["detail"]


def test_dispatch_center_unlinks_a_grouped_duplicate(
    client: TestClient, services: Services, clock: ManualClock
) -> None:
    first = report(client, services)
    clock.advance(minutes=3)  # a second caller, same street
    duplicate = report(client, services, address="same street, second caller")
    route_published(services, 2)
    dispatcher = bearer(services, Role.DISPATCHER)
    grouped = client.get(f"/incidents/{duplicate}", headers=dispatcher).json()
    assert (grouped["state"], grouped["master_id"]) == ("merged", first)

    unlinked = client.post(f"/incidents/{duplicate}/unlink", headers=dispatcher)

    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["master_id"] is None
    assert unlinked.json()["state"] in ("queued", "assigned")
    assert "incident.unlinked" in [e["type"] for e in unlinked.json()["timeline"]]


# Teams ----------------------------------------------------------------------------------------


def test_team_takes_its_task_from_acknowledged_to_resolved(
    client: TestClient, services: Services
) -> None:
    incident_id, owner, _ = assigned_task(client, services)
    tasks = client.get(f"/teams/{owner}/tasks", headers=bearer(services, Role.TEAM, owner))
    assert [t["id"] for t in tasks.json()] == [incident_id]

    states = []
    for action in ("ack", "en-route", "on-scene", "resolve"):
        answer = act(client, services, incident_id, action, owner)
        assert answer.status_code == 200, answer.text
        states.append(answer.json()["state"])

    assert states == ["acknowledged", "en_route", "on_scene", "resolved"]
    view = client.get(f"/incidents/{incident_id}", headers=bearer(services, Role.DISPATCHER))
    types = [entry["type"] for entry in view.json()["timeline"]]
    assert types[0] == "incident.reported"
    for expected in ("team.assigned", "task.acknowledged", "task.resolved"):
        assert expected in types
    assert types.index("task.acknowledged") < types.index("task.resolved")
    resolved = next(e for e in view.json()["timeline"] if e["type"] == "task.resolved")
    assert resolved["details"]["notes"] == "fuse"
    left = client.get(f"/teams/{owner}/tasks", headers=bearer(services, Role.TEAM, owner))
    assert left.json() == []


def test_team_declines_with_a_reason_and_the_task_leaves_it(
    client: TestClient, services: Services
) -> None:
    incident_id, owner, _ = assigned_task(client, services)

    no_reason = act(client, services, incident_id, "decline", owner, body={})
    declined = act(client, services, incident_id, "decline", owner)

    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    assert declined.status_code == 200, declined.text
    assert declined.json()["team_id"] != owner
    view = client.get(f"/incidents/{incident_id}", headers=bearer(services, Role.DISPATCHER))
    assert "task.declined" in [e["type"] for e in view.json()["timeline"]]
    # it is no longer this team's: a move says so (the crew's phone tells a queued tap why it
    # was not applied), and nothing more of it is shown
    again = act(client, services, incident_id, "ack", owner)
    assert again.status_code == 409 and again.json()["withdrawn"] is True
    assert '"state"' not in again.text
    mine = client.get(f"/incidents/{incident_id}", headers=bearer(services, Role.TEAM, owner))
    assert mine.status_code == 404


def test_invalid_transition_is_409_naming_the_current_state(
    client: TestClient, services: Services
) -> None:
    incident_id, owner, _ = assigned_task(client, services)

    too_early = act(client, services, incident_id, "resolve", owner)
    assert act(client, services, incident_id, "ack", owner).status_code == 200
    twice = act(client, services, incident_id, "ack", owner)

    assert too_early.status_code == 409
    assert "assigned" in too_early.json()["detail"]
    assert too_early.json()["current_state"] == "assigned"
    assert twice.status_code == 409
    assert "acknowledged" in twice.json()["detail"]


@pytest.mark.parametrize("stage", ["assigned", "acknowledged", "on_scene"])
def test_another_team_gets_neither_data_nor_effect_on_any_team_endpoint(
    client: TestClient, services: Services, stage: str
) -> None:
    incident_id, owner, intruder = assigned_task(client, services)
    steps = {"assigned": [], "acknowledged": ["ack"], "on_scene": ["ack", "on-scene"]}[stage]
    for action in steps:
        assert act(client, services, incident_id, action, owner).status_code == 200
    intruder_headers = bearer(services, Role.TEAM, intruder)
    secrets = (owner, "No. 1 Road", str(WUHAN[0]))

    answers = [act(client, services, incident_id, a, intruder) for a in TEAM_ACTIONS]
    answers.append(client.get(f"/incidents/{incident_id}", headers=intruder_headers))
    answers.append(client.get(f"/teams/{owner}/tasks", headers=intruder_headers))

    for answer in answers:
        assert answer.status_code in (403, 404), (answer.request.url, answer.text)
        assert not any(secret in answer.text for secret in secrets), answer.text
    view = client.get(f"/incidents/{incident_id}", headers=bearer(services, Role.DISPATCHER))
    assert view.json()["state"] == stage
    assert view.json()["team_id"] == owner


def test_unknown_task_is_404(client: TestClient, services: Services) -> None:
    answer = act(client, services, "inc-does-not-exist", "ack", "team-a")

    assert answer.status_code == 404


def test_team_profile_is_public_as_json_and_as_a_page(
    client: TestClient, services: Services
) -> None:
    profile = client.get("/teams/team-a")
    page = client.get("/teams/team-a", headers={"Accept": "text/html"})

    assert profile.status_code == 200
    assert profile.json()["name"] == "Team team-a"
    assert profile.json()["registration_code"].startswith("EC-HB-")
    assert "有呼必应" in profile.json()["service_promise"]
    assert "home" not in profile.json()  # where the crew sleeps is not public
    assert page.headers["content-type"].startswith("text/html")
    assert profile.json()["registration_code"] in page.text
    assert client.get("/teams/no-such-team").status_code == 404


# Board ----------------------------------------------------------------------------------------


def test_board_lists_filters_and_summarises(client: TestClient, services: Services) -> None:
    incident_id, _, _ = assigned_task(client, services)
    dispatcher = bearer(services, Role.DISPATCHER)

    assigned = client.get("/incidents?state=assigned&region=wuhan", headers=dispatcher)
    resolved = client.get("/incidents?state=resolved", headers=dispatcher)
    breached = client.get("/incidents?breached=true", headers=dispatcher)
    bad = client.get("/incidents?state=lost", headers=dispatcher)
    summary = client.get("/sla/summary", headers=dispatcher)
    queue = client.get("/queue", headers=dispatcher)

    assert [v["id"] for v in assigned.json()] == [incident_id]
    assert resolved.json() == [] and breached.json() == []
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "state"]
    assert summary.status_code == 200 and summary.json()["with_team"] == 1
    assert queue.status_code == 200 and queue.json() == []


# Health and docs ------------------------------------------------------------------------------


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_not_ready_without_a_broker(services: Services) -> None:
    no_broker = replace(services, bootstrap_servers=f"127.0.0.1:{free_port()}")
    with TestClient(create_app(lambda: nullcontext(no_broker), run_relay=False)) as client:
        ready = client.get("/readyz")
        alive = client.get("/healthz")

    assert ready.status_code == 503
    assert ready.json()["checks"] == {"database": "ok", "broker": "unreachable"}
    assert alive.status_code == 200


def test_openapi_documents_every_route_in_one_line(client: TestClient) -> None:
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    operations = [op for item in schema["paths"].values() for op in item.values()]

    assert {
        "/incidents",
        "/incidents/{incident_id}",
        "/tasks/{incident_id}/resolve",
        "/teams/{team_id}",
        "/readyz",
    } <= set(schema["paths"])
    for operation in operations:
        assert operation["description"] and "\n" not in operation["description"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]


def test_the_board_sees_each_team_where_it_is_and_how_loaded(
    client: TestClient, services: Services
) -> None:
    _, owner, other = assigned_task(client, services)
    report_location(services, other, WUHAN[0] + 0.05, WUHAN[1])
    answer = client.get("/teams", headers=bearer(services, Role.AUDITOR))
    assert answer.status_code == 200
    teams = {t["id"]: t for t in answer.json()}
    assert (teams[owner]["active_tasks"], teams[other]["active_tasks"]) == (1, 0)
    assert teams[owner]["located_at"] is None  # no fix yet: drawn at its base
    assert teams[other]["located_at"] is not None
    assert teams[other]["latitude"] == pytest.approx(WUHAN[0] + 0.05)
    assert client.get("/teams", headers=bearer(services, Role.TEAM, owner)).status_code == 403
