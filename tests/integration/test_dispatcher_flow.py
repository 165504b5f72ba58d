"""The whole route on real parts: Kafka in, a Prefect flow per batch, database, Kafka out."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import KafkaBatchConsumer, KafkaPublisher, OutgoingMessage
from events.log import LoggedEvent
from flows.dispatcher import run_dispatcher
from tests.integration.spine_helpers import (
    incident,
    payload_types,
    read_topic,
    report,
    seed_teams,
    team,
)

pytestmark = pytest.mark.usefixtures("prefect_server")

BAD_RECORDS = [
    b"this is not json",
    b'{"event_id":"e1","type":"incident.exploded","version":1,"occurred_at":"2026-07-01T08:00:00Z",'
    b'"producer":"x","key":"k","payload":{}}',
    b'{"event_id":"e2","type":"incident.reported","version":1,"occurred_at":"2026-07-01T08:00:00Z",'
    b'"producer":"x","key":"k","payload":{"kind":"repair"}}',
    b'{"event_id":"e3","type":"incident.reported","version":1,"occurred_at":"2026-07-01T08:00:00Z",'
    b'"producer":"x","key":"k","payload":{"kind":"repair","latitude":95,"longitude":114,'
    b'"reported_at":"2026-07-01T08:00:00Z"}}',
]


def assigned_count(services: Services) -> int:
    with services.reads() as session:
        return int(session.scalar(select(func.count()).where(IncidentRow.state == "assigned")) or 0)


def dispatch_until(services: Services, done: Callable[[], bool], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    asyncio.run(run_dispatcher(services, stop=lambda: done() or time.monotonic() > deadline))


def test_reported_incidents_are_routed_and_announced(services: Services) -> None:
    seed_teams(services, [team(f"t{i}", 30.5 + i / 50, 114.3, capacity=10) for i in range(10)])
    now = services.clock.now()
    report(services, [incident(i, 30.5 + (i % 10) / 50, 114.31, now) for i in range(60)])

    dispatch_until(services, lambda: assigned_count(services) >= 60)

    assert assigned_count(services) == 60
    announced = read_topic(services, topics.ASSIGNMENTS, expected=60)
    assert payload_types(announced).count("team.assigned") == 60
    assert "sla.clocks_started" not in payload_types(announced)  # logged, not announced
    with services.reads() as session:
        clock_entries = select(func.count()).where(LoggedEvent.type == "sla.clocks_started")
        assert session.scalar(clock_entries) == 120  # each incident's arrive and acknowledge


def test_bad_records_go_to_dead_letter_and_do_not_stop_routing(services: Services) -> None:
    seed_teams(services, [team("t1", 30.6, 114.3, capacity=10)])
    publisher = KafkaPublisher(services.bootstrap_servers)
    publisher.publish(OutgoingMessage(topics.INCIDENTS, "k", raw) for raw in BAD_RECORDS)
    report(services, [incident(1, 30.6, 114.3, services.clock.now())])

    dispatch_until(services, lambda: assigned_count(services) >= 1)

    assert assigned_count(services) == 1
    letters = [json.loads(r.value or b"") for r in read_topic(services, topics.DEAD_LETTER, 4)]
    reasons = sorted(letter["reason"] for letter in letters)
    assert len(reasons) == 4
    assert any("invalid envelope" in r for r in reasons)
    assert any("unknown event type 'incident.exploded'" in r for r in reasons)
    assert any("latitude" in r for r in reasons)
    assert any("longitude" in r or "latitude" in r for r in reasons)


def test_offsets_are_committed_after_the_batch_is_stored(services: Services) -> None:
    seed_teams(services, [team("t1", 30.6, 114.3, capacity=10)])
    report(services, [incident(i, 30.6, 114.3, services.clock.now()) for i in range(5)])
    dispatch_until(services, lambda: assigned_count(services) >= 5)
    same_group = KafkaBatchConsumer(
        services.bootstrap_servers,
        [topics.INCIDENTS],
        services.settings.consumer_group,
        max_poll_interval_ms=3000,
    )
    leftovers = sum(len(same_group.poll_batch(300, 100)) for _ in range(10))
    same_group.close()
    assert leftovers == 0
