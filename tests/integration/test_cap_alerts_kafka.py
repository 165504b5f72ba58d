"""Weather alerts through Kafka, with the real embedded broker, on SQLite and PostgreSQL: CAP
XML records on everycall.alerts are ingested as the API ingests them, a bad one becomes a dead
letter with its reason, and offsets are committed after the work (nothing comes twice)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from dispatch.adapters.orm import DeadLetterRow, StormModeRow
from dispatch.entrypoints.alert_consumer import (
    ALERT_FEED,
    alerts_beside,
    alerts_consumer,
    alerts_loop,
    consume_alerts_once,
)
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import KafkaBatchConsumer, KafkaPublisher, OutgoingMessage
from events.log import LoggedEvent
from tests.integration.spine_helpers import seed_teams, team
from tests.integration.test_cap_alerts_api import sample

FEED = [
    "red-rainstorm-geocode.xml",
    "invalid-schema.xml",
    "orange-rainstorm-proposes.xml",
    "xxe.xml",
    "red-rainstorm-geocode.xml",  # the feed sent it again
]


@pytest.fixture
def published(services: Services) -> Iterator[KafkaBatchConsumer]:
    homes = {"wuhan": (30.59, 114.30), "ezhou": (30.39, 114.89), "xiaogan": (30.92, 113.92)}
    seed_teams(
        services,
        [
            team(f"{d}-1", lat, lon).model_copy(update={"region": d})
            for d, (lat, lon) in homes.items()
        ],
    )
    publisher = KafkaPublisher(services.bootstrap_servers)
    publisher.publish(OutgoingMessage(topics.ALERTS, "cma", sample(name)) for name in FEED)
    publisher.close()
    consumer = alerts_consumer(services)
    yield consumer
    consumer.close()


def consume(services: Services, consumer: KafkaBatchConsumer, expected: int) -> int:
    seen = 0
    for _ in range(60):
        seen += consume_alerts_once(services, consumer)
        if seen >= expected:
            break
    return seen


def test_alerts_on_the_topic_declare_propose_and_dead_letter(
    services: Services, published: KafkaBatchConsumer
) -> None:
    assert consume(services, published, len(FEED)) == len(FEED)
    with services.reads() as session:
        on = set(session.scalars(select(StormModeRow.division).where(StormModeRow.active)))
        dead = session.scalars(select(DeadLetterRow).order_by(DeadLetterRow.offset)).all()
        received = [
            json.loads(text)["payload"]
            for text in session.scalars(
                select(LoggedEvent.envelope).where(LoggedEvent.type == "alert.received")
            )
        ]
        proposed = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == "storm.proposed")
        ).all()
    assert on == {"wuhan", "ezhou"}
    assert [(d.topic, d.offset) for d in dead] == [(topics.ALERTS, 1), (topics.ALERTS, 3)]
    assert "not CAP 1.2" in dead[0].reason and "DTD or entity" in dead[1].reason
    assert dead[1].value == sample("xxe.xml")
    assert [r["origin"] for r in received] == ["everycall.alerts/0@0", "everycall.alerts/0@2"]
    assert {r["actor"] for r in received} == {ALERT_FEED.actor}
    assert len(proposed) == 1 and "xiaogan" in proposed[0]


def test_offsets_are_committed_after_each_record(
    services: Services, published: KafkaBatchConsumer
) -> None:
    assert consume(services, published, len(FEED)) == len(FEED)
    published.close()
    publisher = KafkaPublisher(services.bootstrap_servers)
    publisher.publish([OutgoingMessage(topics.ALERTS, "cma", sample("red-rainstorm-polygon.xml"))])
    publisher.close()
    again = alerts_consumer(services)  # the same group: it resumes after the last commit
    try:
        assert consume(services, again, 1) == 1
        assert sum(consume_alerts_once(services, again) for _ in range(2)) == 0
    finally:
        again.close()
    with services.reads() as session:
        origins = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == "alert.received")
        ).all()
    assert len(origins) == 3 and "everycall.alerts/0@5" in origins[-1]


def test_the_workers_loop_ingests_until_stopped(services: Services) -> None:
    ezhou = team("ezhou-1", 30.39, 114.89).model_copy(update={"region": "ezhou"})
    seed_teams(services, [team("wuhan-1", 30.59, 114.30), ezhou])
    publisher = KafkaPublisher(services.bootstrap_servers)
    publisher.publish([OutgoingMessage(topics.ALERTS, "cma", sample("red-rainstorm-geocode.xml"))])
    publisher.close()
    deadline = time.monotonic() + 30

    def declared_or_late() -> bool:
        with services.reads() as session:
            on = session.scalars(select(StormModeRow.division).where(StormModeRow.active))
            return set(on) == {"wuhan", "ezhou"} or time.monotonic() > deadline

    asyncio.run(alerts_loop(services, declared_or_late))
    assert time.monotonic() <= deadline, "the loop never declared storm mode"


def test_the_dispatcher_process_runs_the_consumer_beside_it(services: Services) -> None:
    ezhou = team("ezhou-1", 30.39, 114.89).model_copy(update={"region": "ezhou"})
    seed_teams(services, [team("wuhan-1", 30.59, 114.30), ezhou])
    publisher = KafkaPublisher(services.bootstrap_servers)
    publisher.publish([OutgoingMessage(topics.ALERTS, "cma", sample("xxe.xml"))])
    publisher.close()
    with alerts_beside(services) as thread:
        for _ in range(300):
            with services.reads() as session:
                if session.scalars(select(DeadLetterRow)).first() is not None:
                    break
            time.sleep(0.1)
    assert not thread.is_alive()
    with services.reads() as session:
        [dead] = session.scalars(select(DeadLetterRow)).all()
    assert dead.topic == topics.ALERTS and "DTD or entity" in dead.reason
