"""People sign in to the board: accounts with argon2 hashes, an HttpOnly SameSite cookie, the
CSRF token on every change, a rate limit on sign-in, and the person named in the event log.
On both databases, with the real broker behind the app."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select

from dispatch.adapters.orm import OutboxRow, UserRow
from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.deps import CSRF_HEADER, SESSION_COOKIE
from dispatch.service_layer import users
from dispatch.service_layer.access import Role
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import Record
from events.log import LoggedEvent
from tests.integration.spine_helpers import WUHAN, seed_teams, team

PASSWORD = "长江大桥-2026-good"
REPORT = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1], "address": "解放大道1号"}


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN)])
    with services.sessions.begin() as session:
        now = services.clock.now()
        users.add_user(session, "zhang.wei", Role.DISPATCHER, PASSWORD, at=now, display_name="张伟")
        users.add_user(session, "li.na", Role.AUDITOR, PASSWORD, at=now, display_name="李娜")
        users.add_user(session, "crew.a", Role.TEAM, PASSWORD, at=now, team_id="team-a")
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    answer = client.post("/session", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["csrf_token"])


def test_a_password_is_kept_only_as_an_argon2_hash(client: TestClient, services: Services) -> None:
    with services.reads() as session:
        stored = session.scalars(select(UserRow.password_hash)).all()
    assert all(h.startswith("$argon2id$") for h in stored)
    assert not any(PASSWORD in h for h in stored)


def test_the_session_cookie_is_http_only_and_same_site_strict(client: TestClient) -> None:
    answer = client.post("/session", json={"username": "zhang.wei", "password": PASSWORD})
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    who = client.get("/session").json()
    assert (who["username"], who["display_name"], who["role"]) == (
        "zhang.wei",
        "张伟",
        "dispatcher",
    )


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(client: TestClient) -> None:
    wrong = client.post("/session", json={"username": "zhang.wei", "password": "not-it-at-all"})
    unknown = client.post("/session", json={"username": "nobody", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert client.get("/session").status_code == 401


def route_the_outbox(services: Services) -> None:
    """Route what the API staged, as the dispatcher would after the relay published it."""
    with services.sessions.begin() as session:
        staged = session.scalars(select(OutboxRow).order_by(OutboxRow.id)).all()
        records = [Record(topics.INCIDENTS, 0, n, b"k", row.value) for n, row in enumerate(staged)]
        session.execute(delete(OutboxRow))
    handle_incident_records(services, records)


def test_a_change_without_the_csrf_token_is_refused_and_with_it_is_logged_by_name(
    client: TestClient, services: Services
) -> None:
    csrf = sign_in(client, "zhang.wei")
    refused = client.post("/incidents", json=REPORT)
    assert refused.status_code == 403 and CSRF_HEADER in refused.json()["detail"]
    forged = client.post("/incidents", json=REPORT, headers={CSRF_HEADER: "guessed"})
    assert forged.status_code == 403
    accepted = client.post("/incidents", json=REPORT, headers={CSRF_HEADER: csrf})
    assert accepted.status_code == 202, accepted.text
    incident_id = accepted.json()["id"]
    route_the_outbox(services)
    cancelled = client.post(
        f"/incidents/{incident_id}/cancel",
        json={"reason": "误报 false alarm"},
        headers={CSRF_HEADER: csrf},
    )
    assert cancelled.status_code == 200, cancelled.text
    with services.reads() as session:
        logged = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == "incident.cancelled")
        ).all()
    assert [json.loads(e)["payload"]["actor"] for e in logged] == ["user:zhang.wei"]


def test_an_auditor_reads_and_signs_out_but_changes_nothing(client: TestClient) -> None:
    csrf = sign_in(client, "li.na")
    assert client.get("/sla/summary").status_code == 200
    answer = client.post("/incidents", json=REPORT, headers={CSRF_HEADER: csrf})
    assert answer.status_code == 403
    assert client.delete("/session").status_code == 403  # without the CSRF token
    assert client.delete("/session", headers={CSRF_HEADER: csrf}).status_code == 204
    assert client.get("/sla/summary").status_code == 401


def test_a_team_member_cannot_use_the_dispatch_routes(client: TestClient) -> None:
    csrf = sign_in(client, "crew.a")
    assert client.get("/queue").status_code == 403
    assert client.get("/teams/team-a/tasks").status_code == 200
    assert client.post("/incidents", json=REPORT, headers={CSRF_HEADER: csrf}).status_code == 403


def test_signing_out_ends_the_session_even_for_a_copied_cookie(client: TestClient) -> None:
    csrf = sign_in(client, "zhang.wei")
    copied = client.cookies.get(SESSION_COOKIE)
    assert client.delete("/session", headers={CSRF_HEADER: csrf}).status_code == 204
    client.cookies.set(SESSION_COOKIE, str(copied))
    assert client.get("/session").status_code == 401


def test_disabling_an_account_ends_its_sessions(client: TestClient, services: Services) -> None:
    sign_in(client, "zhang.wei")
    with services.sessions.begin() as session:
        users.disable_user(session, "zhang.wei", services.clock.now())
    assert client.get("/session").status_code == 401
    again = client.post("/session", json={"username": "zhang.wei", "password": PASSWORD})
    assert again.status_code == 401


def test_sign_in_attempts_are_rate_limited_per_account(client: TestClient) -> None:
    answers = [
        client.post("/session", json={"username": "li.na", "password": f"guess-{n:04d}-x"})
        for n in range(8)
    ]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [401] * 5
    assert codes[5:] == [429] * 3
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert json.loads(answers[-1].text)["detail"].startswith("too many sign-in attempts")


def test_accounts_refuse_weak_passwords_unknown_teams_and_odd_names(services: Services) -> None:
    seed_teams(services, [team("team-a", *WUHAN)])
    now = services.clock.now()
    cases = [
        ("short.pw", Role.DISPATCHER, "short", None, "at least"),
        ("ok.name", Role.TEAM, PASSWORD, "no-such-team", "no team"),
        ("ok.name", Role.TEAM, PASSWORD, None, "needs a team"),
        ("ok.name", Role.AUDITOR, PASSWORD, "team-a", "only team members"),
        ("Bad Name", Role.ADMIN, PASSWORD, None, "username"),
    ]
    for username, role, password, team_id, message in cases:
        with services.sessions.begin() as session, pytest.raises(users.AccountError) as error:
            users.add_user(session, username, role, password, at=now, team_id=team_id)
        assert message in str(error.value)
