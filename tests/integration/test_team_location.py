"""A crew member's phone shares the team's position (`POST /teams/{team_id}/location`): the
fix is stored for routing and logged as team.located naming the member; only the team's own
members may report it; bad coordinates and wrong clocks are a 422. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from dispatch.adapters.orm import TeamRow
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from events.log import LoggedEvent
from tests.integration.spine_helpers import WUHAN, seed_teams, team


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", WUHAN[0] + 0.3, WUHAN[1])])
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


def bearer(
    services: Services, role: Role, team_id: str | None = None, name: str = ""
) -> dict[str, str]:
    with services.sessions.begin() as session:
        made = create_token(
            session, role, team_id, name=name, pepper=services.settings.api_token_pepper
        )
    return {"Authorization": f"Bearer {made}"}


def fix(at: datetime, **changes: Any) -> dict[str, Any]:
    return {
        "latitude": 30.61,
        "longitude": 114.32,
        "accuracy_m": 12.5,
        "located_at": at.isoformat(),
    } | changes


def located(services: Services) -> list[dict[str, Any]]:
    with services.reads() as session:
        rows = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == "team.located")
        )
        return [json.loads(row) for row in rows]


def test_a_member_shares_the_teams_position_and_the_log_names_them(
    client: TestClient, services: Services
) -> None:
    member = bearer(services, Role.TEAM, "team-a", name="user:crew.1")
    taken = services.clock.now() - timedelta(seconds=20)
    answer = client.post("/teams/team-a/location", json=fix(taken), headers=member)
    assert answer.status_code == 200, answer.text
    assert answer.json()["recorded"] is True

    with services.reads() as session:
        row = session.get(TeamRow, "team-a")
        assert row is not None
        assert (row.fix_lat, row.fix_lon, row.fix_at) == (30.61, 114.32, taken)
    [event] = located(services)
    assert event["version"] == 2
    assert event["payload"]["actor"] == "user:crew.1"
    assert event["payload"]["accuracy_m"] == 12.5


def test_an_older_fix_than_the_last_is_not_recorded(client: TestClient, services: Services) -> None:
    member = bearer(services, Role.TEAM, "team-a")
    now = services.clock.now()
    assert client.post("/teams/team-a/location", json=fix(now), headers=member).json()["recorded"]
    late = client.post(
        "/teams/team-a/location",
        json=fix(now - timedelta(minutes=3), latitude=30.7),
        headers=member,
    )
    assert late.status_code == 200 and late.json()["recorded"] is False
    assert len(located(services)) == 1


def test_only_the_teams_own_members_share_its_position(
    client: TestClient, services: Services
) -> None:
    body = fix(services.clock.now())
    for who in (
        bearer(services, Role.TEAM, "team-b"),
        bearer(services, Role.DISPATCHER),
        bearer(services, Role.ADMIN),
    ):
        answer = client.post("/teams/team-a/location", json=body, headers=who)
        assert answer.status_code == 403, answer.text
    assert client.post("/teams/team-a/location", json=body).status_code == 401
    # refused before the body is read: a stranger's empty body is still a 403
    assert (
        client.post(
            "/teams/team-a/location", headers=bearer(services, Role.TEAM, "team-b")
        ).status_code
        == 403
    )
    assert located(services) == []


@pytest.mark.parametrize(
    "changes",
    [
        {"latitude": 90.5},
        {"latitude": -91},
        {"longitude": 180.01},
        {"longitude": "east"},
        {"accuracy_m": -1},
        {"located_at": "2026-07-01T08:00:00"},  # no zone: not a moment
        {"located_at": None},
        {"speed": 3},  # not a field of a fix
    ],
)
def test_bad_fixes_are_422(client: TestClient, services: Services, changes: dict[str, Any]) -> None:
    member = bearer(services, Role.TEAM, "team-a")
    answer = client.post(
        "/teams/team-a/location", json=fix(services.clock.now(), **changes), headers=member
    )
    assert answer.status_code == 422, answer.text
    assert located(services) == []


def test_a_fix_from_a_wrong_clock_is_422(client: TestClient, services: Services) -> None:
    member = bearer(services, Role.TEAM, "team-a")
    now = services.clock.now()
    for at in (now + timedelta(minutes=6), now - timedelta(hours=13)):
        answer = client.post("/teams/team-a/location", json=fix(at), headers=member)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["body", "located_at"]
    ahead = client.post(
        "/teams/team-a/location", json=fix(now + timedelta(minutes=2)), headers=member
    )
    assert ahead.status_code == 200
    assert ahead.json()["located_at"] == now.isoformat().replace("+00:00", "Z")  # taken as now
    assert located(services)[0]["payload"]["located_at"].startswith(now.strftime("%Y-%m-%dT%H:%M"))


def test_a_member_of_a_team_retired_from_the_registry_gets_404(
    client: TestClient, services: Services
) -> None:
    member = bearer(services, Role.TEAM, "team-b")
    seed_teams(services, [team("team-a", *WUHAN)])  # a new registry without team-b
    answer = client.post("/teams/team-b/location", json=fix(services.clock.now()), headers=member)
    assert answer.status_code == 404, answer.text
    assert located(services) == []
