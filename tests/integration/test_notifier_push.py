"""Web Push end to end without the internet: a crew member signs in through the API, goes on
duty and subscribes with real keys; a task routed to the team reaches a real HTTP push service
on the loopback, signed with VAPID (checked against GET /push/key) and encrypted (decrypted
here with the subscription's private key). Off-duty members and signed-out devices get nothing,
and a restart sends nothing twice. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select
from sqlalchemy.pool import StaticPool

from dispatch.adapters.notify_config import NotifyConfig
from dispatch.adapters.orm import PushSubscriptionRow
from dispatch.audit.replay import replay
from dispatch.audit.verify import verify_log
from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import users
from dispatch.service_layer.notify_record import take_events
from dispatch.service_layer.services import Services
from tests.integration.notify_helpers import (
    Browser,
    Receiver,
    add_member,
    assign,
    caught_up,
    eventually,
    log_text,
    logged,
    notifier_running,
    on_duty_with_push,
    signed_in,
    verified_vapid_claims,
)
from tests.integration.spine_helpers import WUHAN, seed_teams, team

NOTIFICATIONS = ("notification.sent", "notification.delivered", "notification.failed")


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The VAPID key made in this test's own data directory; the log polled often."""
    return settings.model_copy(update={"data_dir": str(tmp_path), "notifier_poll_s": 0.02})


@pytest.fixture
def push_service() -> Iterator[Receiver]:
    with Receiver(default=201) as receiver:
        yield receiver


@pytest.fixture
def app_client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN, capacity=5)])
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as client:
        yield client


def crew_app(app_client: TestClient) -> TestClient:
    """Another browser on the same server: cookies of its own."""
    return TestClient(app_client.app)


def test_an_assignment_reaches_the_crew_by_web_push_signed_and_encrypted(
    app_client: TestClient, services: Services, settings: Settings, push_service: Receiver
) -> None:
    add_member(services, "crew.a", "team-a")
    csrf = signed_in(app_client, "crew.a")
    browser = Browser(push_service, "phone-1")
    subscription_id = on_duty_with_push(app_client, csrf, browser)
    public_key = app_client.get("/push/key").json()["public_key"]

    with notifier_running(services):
        task_id = assign(services, 1, address="解放大道1号")
        (push,) = push_service.wait_for(1)
        eventually(lambda: logged(services, "notification.delivered"))

    assert push.path == "/push/phone-1"
    assert push.headers["Content-Encoding"] == "aes128gcm"
    assert push.headers["Urgency"] == "high" and int(push.headers["TTL"]) > 0
    claims = verified_vapid_claims(push.headers["Authorization"], public_key)
    assert claims["aud"] == push_service.url
    assert claims["sub"] == settings.vapid_subject
    assert claims["exp"] > services.clock.now().timestamp()
    message = browser.decrypt(push.body)
    assert message["type"] == "team.assigned" and message["incident_id"] == task_id
    assert message["title"].startswith("新任务") and "解放大道1号" in message["body"]
    assert message["url"].endswith(task_id)

    attempts = logged(services, *NOTIFICATIONS)
    assert [(e["type"], e["payload"]["attempt"]) for e in attempts] == [
        ("notification.sent", 1),
        ("notification.delivered", 1),
    ]
    assert {e["payload"]["recipient"] for e in attempts} == {subscription_id}
    assert {e["payload"]["channel"] for e in attempts} == {"push"}
    assert browser.endpoint not in log_text(services)  # no endpoint in clear in the log


def test_the_board_shows_when_the_crew_was_notified_and_when_it_saw_the_task(
    app_client: TestClient, services: Services, push_service: Receiver
) -> None:
    add_member(services, "crew.a", "team-a")
    csrf = signed_in(app_client, "crew.a")
    on_duty_with_push(app_client, csrf, Browser(push_service, "phone-1"))
    with notifier_running(services):
        task_id = assign(services, 1)
        eventually(lambda: logged(services, "notification.delivered"))
    services.clock.advance(seconds=28)  # type: ignore[attr-defined]

    assert app_client.post(f"/tasks/{task_id}/seen", headers=csrf).status_code == 204
    assert app_client.post(f"/tasks/{task_id}/seen", headers=csrf).status_code == 204

    detail = app_client.get(f"/incidents/{task_id}").json()
    delivered = logged(services, "notification.delivered")[0]["occurred_at"]
    assert detail["notified_at"].replace("+00:00", "Z") == delivered
    (seen,) = logged(services, "task.seen")  # seen once, however often the app says so
    assert seen["payload"]["actor"] == "user:crew.a"
    assert detail["seen_at"].replace("+00:00", "Z") == seen["payload"]["seen_at"]
    assert detail["seen_at"] > detail["notified_at"]
    # the folds of the notifier's, the app's and the duty events: replay rebuilds the same rows
    target = create_engine("sqlite://", poolclass=StaticPool)
    with services.engine.connect() as live, live.begin():
        assert verify_log(live).ok
        result = replay(live, target)
    assert result.identical, (result.differences[:5], result.board.unprojected)
    assert result.written["task_notices"] == 1 and result.written["member_duty"] == 1


def test_an_off_duty_member_and_a_signed_out_phone_get_nothing(
    app_client: TestClient, services: Services, push_service: Receiver
) -> None:
    for name in ("crew.off", "crew.out", "crew.gone", "crew.on"):
        add_member(services, name, "team-a")
    phones = {name: crew_app(app_client) for name in ("crew.off", "crew.out", "crew.gone")}
    phones["crew.on"] = app_client
    csrf = {name: signed_in(client, name) for name, client in phones.items()}
    browsers = {name: Browser(push_service, name) for name in phones}
    for name, client in phones.items():
        on_duty_with_push(client, csrf[name], browsers[name])
    off = phones["crew.off"].put("/me/duty", json={"on_duty": False}, headers=csrf["crew.off"])
    assert off.json() == {"on_duty": False}
    assert phones["crew.out"].delete("/session", headers=csrf["crew.out"]).status_code == 204
    with services.sessions.begin() as session:
        users.disable_user(session, "crew.gone", services.clock.now())
        left = session.scalars(select(PushSubscriptionRow.username)).all()
    assert sorted(left) == ["crew.off", "crew.on"]  # signing out took the subscription along

    with notifier_running(services):
        assign(services, 1)
        push_service.wait_for(1)
        caught_up(services)
        eventually(lambda: logged(services, "notification.delivered"))

    assert [r.path for r in push_service.received] == ["/push/crew.on"]
    duty = logged(services, "member.duty_changed")
    assert [(e["payload"]["username"], e["payload"]["on_duty"]) for e in duty][-1] == (
        "crew.off",
        False,
    )
    assert duty[-1]["payload"]["actor"] == "user:crew.off"


def bodies(push_service: Receiver) -> list[bytes]:
    return [r.body for r in push_service.received]


def test_a_restart_sends_nothing_twice(
    app_client: TestClient, services: Services, push_service: Receiver
) -> None:
    add_member(services, "crew.a", "team-a")
    phone = Browser(push_service, "p")
    on_duty_with_push(app_client, signed_in(app_client, "crew.a"), phone)
    with notifier_running(services):
        assign(services, 1)
        push_service.wait_for(1)
        eventually(lambda: logged(services, "notification.delivered"))
    # killed after logging an attempt as sent, before making it: the next start fails it
    assign(services, 2)
    taken = take_events(services, NotifyConfig())  # the lane is idle: logged as leaving
    assert len(taken.jobs) == 1 and taken.leaving == {taken.jobs[0].delivery.delivery_id}

    with notifier_running(services):
        caught_up(services)
        eventually(lambda: logged(services, "notification.failed"))
        assign(services, 3)
        # task 3's push, and the escalation of task 2 told to the team that holds it
        push_service.wait_for(3)
        eventually(lambda: len(logged(services, "notification.delivered")) == 3 or None)

    told = sorted((m["incident_id"], m["type"]) for m in map(phone.decrypt, bodies(push_service)))
    assert told == [  # each once; task 2's interrupted attempt is not made again
        ("inc-00001", "team.assigned"),
        ("inc-00002", "incident.escalated"),
        ("inc-00003", "team.assigned"),
    ]
    (interrupted,) = logged(services, "notification.failed")
    assert interrupted["payload"]["incident_id"] == "inc-00002"
    assert interrupted["payload"]["final"] is True
    assert "interrupted" in interrupted["payload"]["reason"]
    (escalated,) = logged(services, "incident.escalated")  # the one attempt failed: raised
    assert escalated["payload"]["incident_id"] == "inc-00002"
    assert escalated["payload"]["actor"] == "notifier"
    with services.reads() as session:
        assert session.scalar(select(func.count()).select_from(PushSubscriptionRow)) == 1
