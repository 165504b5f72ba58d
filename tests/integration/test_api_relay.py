"""The API's outbox relay: reports are accepted while the broker is down, and published once it
is back. Nothing in a request waits for Kafka."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dispatch.adapters.orm import OutboxRow
from dispatch.bootstrap import running
from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from events import topics
from events.broker import EmbeddedBroker
from events.kafka import ensure_topics
from models.clock import ManualClock
from tests.integration.spine_helpers import WUHAN, read_topic

REPORT = {"kind": "outage", "latitude": WUHAN[0], "longitude": WUHAN[1]}


@pytest.fixture
def own_broker() -> Iterator[EmbeddedBroker]:
    """A broker this test may stop and start again (on the same port)."""
    broker = EmbeddedBroker().start()
    ensure_topics(broker.bootstrap_servers)
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def services(database_url: str, own_broker: EmbeddedBroker) -> Iterator[Services]:
    settings = Settings(
        database_url=database_url, kafka_bootstrap_servers=own_broker.bootstrap_servers
    )
    with running(settings, clock=ManualClock()) as wired:
        yield wired


def pending(services: Services) -> int:
    with services.reads() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_reports_are_accepted_while_the_broker_is_down_and_published_when_it_is_back(
    services: Services, own_broker: EmbeddedBroker
) -> None:
    with services.sessions.begin() as session:
        headers = {"Authorization": f"Bearer {create_token(session, Role.DISPATCHER)}"}
    with TestClient(create_app(lambda: nullcontext(services))) as client:
        relay = client.app.state.relay  # type: ignore[attr-defined]
        own_broker.stop()

        slowest, ids = 0.0, []
        for _ in range(5):
            started = time.monotonic()
            answer = client.post("/incidents", json=REPORT, headers=headers)
            slowest = max(slowest, time.monotonic() - started)
            assert answer.status_code == 202
            ids.append(answer.json()["id"])
        ready = client.get("/readyz")
        assert wait_for(lambda: relay.failures > 0, 120), "the relay should notice the outage"
        assert pending(services) == 5

        own_broker.start()  # same port, empty: a restarted development broker keeps nothing
        ensure_topics(own_broker.bootstrap_servers)
        assert wait_for(lambda: pending(services) == 0, 180), relay.last_error

        published = read_topic(services, topics.INCIDENTS, expected=5, timeout_s=30)
        assert client.get("/readyz").status_code == 200

    assert slowest < 2.0, f"a report waited {slowest:.1f}s: something in the request hit Kafka"
    assert ready.status_code == 503 and ready.json()["checks"]["broker"] == "unreachable"
    payload_ids = [json.loads(r.value or b"{}")["payload"]["id"] for r in published]
    assert sorted(set(payload_ids)) == sorted(ids)
