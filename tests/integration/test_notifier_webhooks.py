"""Outbound webhooks to real HTTP receivers on the loopback: every body signed (HMAC-SHA256 of
the timestamp and the body), retried with growing waits after the receiver fails, each attempt
an event, and one recipient's messages kept in order. A task that no channel could deliver is
escalated at once, with the clock standing still. On SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.adapters.notify_config import normal_phone
from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.services import Services
from tests.integration.notify_helpers import (
    Browser,
    Received,
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
)
from tests.integration.spine_helpers import WUHAN, seed_teams, team

BOT_SECRET = "bot-secret-长江"
SMS_SECRET = "gateway-secret-汉口"
PHONE = "+86 138-0013-8000"
NOTIFICATIONS = ("notification.sent", "notification.delivered", "notification.failed")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver(default=200) as server:
        yield server


@pytest.fixture
def push_service() -> Iterator[Receiver]:
    with Receiver(default=201) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, receiver: Receiver) -> Settings:
    """A JSON receiver standing for a group bot and an SMS gateway, both on `receiver`."""
    config = tmp_path / "notify.toml"
    config.write_text(
        f"""
retry_base_s = 0.2
retry_max_s = 1.0

[phones]
"crew.a" = "{PHONE}"

[[webhooks]]
name = "ops"
kind = "json"
url = "{receiver.url}/bot"
secret = "{BOT_SECRET}"
events = ["team.assigned"]
max_attempts = 4

[[webhooks]]
name = "gateway"
kind = "sms"
url = "{receiver.url}/sms"
secret_env = "TEST_SMS_SECRET"
max_attempts = 2
""",
        encoding="utf-8",
    )
    return settings.model_copy(
        update={
            "data_dir": str(tmp_path),
            "notifier_poll_s": 0.02,
            "notify_config_path": str(config),
        }
    )


@pytest.fixture(autouse=True)
def sms_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_SMS_SECRET", SMS_SECRET)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN, capacity=5)])
    add_member(services, "crew.a", "team-a")
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


def signature_holds(request: Received, secret: str) -> bool:
    timestamp = request.headers["X-Everycall-Timestamp"]
    signed = timestamp.encode() + b"." + request.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request.headers["X-Everycall-Signature"])


def test_webhooks_are_signed_retried_after_failures_and_kept_in_order(
    client: TestClient, services: Services, receiver: Receiver
) -> None:
    csrf = signed_in(client, "crew.a")
    assert client.put("/me/duty", json={"on_duty": True}, headers=csrf).status_code == 200
    receiver.script("/bot", 500, 500)  # the bot's first two answers: it is down

    with notifier_running(services):
        first, second = assign(services, 1), assign(services, 2)
        eventually(lambda: len(logged(services, "notification.delivered")) == 4 or None)

    bot = [r for r in receiver.received if r.path == "/bot"]
    texts = [r for r in receiver.received if r.path == "/sms"]
    assert all(signature_holds(r, BOT_SECRET) for r in bot)
    assert all(signature_holds(r, SMS_SECRET) for r in texts)
    # one recipient, one lane: the second task waits for the first's third attempt
    assert [(r.json()["incident_id"], r.headers["X-Everycall-Attempt"]) for r in bot] == [
        (first, "1"),
        (first, "2"),
        (first, "3"),
        (second, "1"),
    ]
    assert bot[1].at - bot[0].at >= 0.18 and bot[2].at - bot[1].at >= 0.36  # waits double
    assert {r.json()["to"] for r in texts} == {normal_phone(PHONE)}
    assert all("回复1接单" in r.json()["text"] for r in texts)

    about_first = [
        (e["type"], e["payload"]["attempt"])
        for e in logged(services, *NOTIFICATIONS)
        if e["payload"]["channel"] == "json:ops" and e["payload"]["incident_id"] == first
    ]
    assert about_first == [
        ("notification.sent", 1),
        ("notification.failed", 1),
        ("notification.sent", 2),
        ("notification.failed", 2),
        ("notification.sent", 3),
        ("notification.delivered", 3),
    ]
    failures = logged(services, "notification.failed")
    assert {(e["payload"]["reason"], e["payload"]["final"]) for e in failures} == {
        ("HTTP 500", False)
    }
    sms_recipients = {
        e["payload"]["recipient"]
        for e in logged(services, "notification.sent")
        if e["payload"]["channel"] == "sms:gateway"
    }
    assert len(sms_recipients) == 1 and next(iter(sms_recipients)).startswith("sms:")
    text = log_text(services)
    assert normal_phone(PHONE) not in text and "13800138000" not in text  # no phone in clear


def test_a_busy_lane_logs_the_deliveries_waiting_in_it_at_once_and_sends_them_in_order(
    client: TestClient, services: Services, receiver: Receiver
) -> None:
    """Four tasks queue behind one the bot is slow to take. Once it answers, the four are
    logged as sent together, before the next goes out (not one database round trip each),
    and they go out in order, each once."""

    def bot_sent() -> int:
        sent = logged(services, "notification.sent")
        return sum(e["payload"]["channel"] == "json:ops" for e in sent)

    release = receiver.hold("/bot")
    receiver.probe = bot_sent
    with notifier_running(services):
        first = assign(services, 1)
        eventually(lambda: bot_sent() == 1)
        queued = [assign(services, n) for n in range(2, 6)]  # the team's capacity is 5
        caught_up(services)  # the notifier holds the four, behind the first
        release.set()
        eventually(lambda: len(logged(services, "notification.delivered")) == 5 or None)

    bot = [r for r in receiver.received if r.path == "/bot"]
    assert [r.json()["incident_id"] for r in bot] == [first, *queued]
    assert [r.probed for r in bot] == [1, 5, 5, 5, 5]
    assert all(r.headers["X-Everycall-Attempt"] == "1" for r in bot)


def test_a_task_no_channel_could_deliver_is_escalated_at_once(
    client: TestClient, services: Services, receiver: Receiver, push_service: Receiver
) -> None:
    csrf = signed_in(client, "crew.a")
    on_duty_with_push(client, csrf, Browser(push_service, "phone"))
    receiver.default, push_service.default = 400, 400  # every endpoint refuses, for good
    before = services.clock.now()

    with notifier_running(services):
        task_id = assign(services, 1)
        (escalated,) = eventually(lambda: logged(services, "incident.escalated"))

    assert escalated["payload"]["incident_id"] == task_id
    assert escalated["payload"]["actor"] == "notifier"
    assert services.clock.now() == before  # no clock ran out: the notifier raised it
    finals = {
        e["payload"]["channel"]
        for e in logged(services, "notification.failed")
        if e["payload"]["final"]
    }
    assert finals == {"push", "json:ops", "sms:gateway"}
    assert logged(services, "notification.delivered") == []
    detail = client.get(f"/incidents/{task_id}").json()
    assert detail["escalated"] is True and detail["notified_at"] is None
