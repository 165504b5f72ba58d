"""The crew app's notification routes as its engineer relies on them: the VAPID key for any
signed-in person, push subscriptions for team members on their own session (https endpoints and
real keys only), duty set by the member and logged under their name. On both databases."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.adapters.push_crypto import b64url_decode, parse_public_point
from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import users
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from tests.integration.notify_helpers import (
    PASSWORD,
    Browser,
    Receiver,
    add_member,
    logged,
    signed_in,
)
from tests.integration.spine_helpers import WUHAN, seed_teams, team


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    return settings.model_copy(update={"data_dir": str(tmp_path)})


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN)])
    add_member(services, "crew.a", "team-a")
    add_member(services, "crew.b", "team-a")
    with services.sessions.begin() as session:
        users.add_user(session, "desk", Role.DISPATCHER, PASSWORD, at=services.clock.now())
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


@pytest.fixture
def push_service() -> Iterator[Receiver]:
    with Receiver() as receiver:
        yield receiver


def test_the_push_key_is_a_p256_point_kept_for_every_process(
    client: TestClient, services: Services
) -> None:
    assert client.get("/push/key").status_code == 401
    signed_in(client, "desk")  # any signed-in person
    key = client.get("/push/key").json()["public_key"]
    assert parse_public_point(b64url_decode(key))
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as other:
        signed_in(other, "crew.a")
        assert other.get("/push/key").json()["public_key"] == key  # the key file's, not new


def test_a_subscription_needs_an_https_endpoint_real_keys_and_a_team_member(
    client: TestClient, push_service: Receiver
) -> None:
    browser = Browser(push_service, "p")
    good = browser.subscription()
    desk = signed_in(client, "desk")
    assert client.post("/push/subscriptions", json=good, headers=desk).status_code == 403
    crew = signed_in(client, "crew.a")
    assert client.post("/push/subscriptions", json=good).status_code == 403  # no CSRF token
    for bad in (
        good | {"endpoint": "http://push.example.com/x"},
        good | {"endpoint": "ftp://127.0.0.1/x"},
        good | {"keys": {**good["keys"], "p256dh": "BAAA"}},
        good | {"keys": {**good["keys"], "auth": "c2hvcnQ"}},
    ):
        answer = client.post("/push/subscriptions", json=bad, headers=crew)
        assert answer.status_code == 422, (bad, answer.text)
    made = client.post("/push/subscriptions", json=good, headers=crew)
    again = client.post("/push/subscriptions", json=good, headers=crew)
    assert made.status_code == again.status_code == 201
    assert made.json()["id"] == again.json()["id"]  # a renewed subscription replaces itself


def test_a_member_deletes_only_their_own_subscription(
    client: TestClient, push_service: Receiver
) -> None:
    crew_b = TestClient(client.app)
    b_csrf = signed_in(crew_b, "crew.b")
    theirs = crew_b.post(
        "/push/subscriptions", json=Browser(push_service, "b").subscription(), headers=b_csrf
    ).json()["id"]
    a_csrf = signed_in(client, "crew.a")
    assert client.delete(f"/push/subscriptions/{theirs}", headers=a_csrf).status_code == 404
    assert crew_b.delete(f"/push/subscriptions/{theirs}", headers=b_csrf).status_code == 204
    assert crew_b.delete(f"/push/subscriptions/{theirs}", headers=b_csrf).status_code == 404


def test_duty_is_the_members_own_and_each_change_names_them(
    client: TestClient, services: Services
) -> None:
    desk = signed_in(client, "desk")
    assert client.get("/me/duty").status_code == 403
    assert client.put("/me/duty", json={"on_duty": True}, headers=desk).status_code == 403
    crew = signed_in(client, "crew.a")
    assert client.get("/me/duty").json() == {"on_duty": False}
    assert client.put("/me/duty", json={"on_duty": "yes"}, headers=crew).status_code == 422
    for on_duty in (True, True, False):
        assert client.put("/me/duty", json={"on_duty": on_duty}, headers=crew).status_code == 200
    assert client.get("/me/duty").json() == {"on_duty": False}
    changes = logged(services, "member.duty_changed")
    assert [e["payload"]["on_duty"] for e in changes] == [True, False]  # no event for no change
    assert {e["payload"]["actor"] for e in changes} == {"user:crew.a"}
    assert {e["payload"]["team_id"] for e in changes} == {"team-a"}
