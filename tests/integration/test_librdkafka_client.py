"""everycall's topics and envelopes are plain Kafka: a librdkafka client produces and consumes."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from confluent_kafka import Consumer, Message, Producer

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer.services import Services
from events import topics
from events.envelope import Envelope
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from flows.dispatcher import run_dispatcher
from models.incident import IncidentState
from tests.integration.spine_helpers import incident, seed_teams, team

pytestmark = pytest.mark.usefixtures("prefect_server")

TIMEOUT_S = 30.0


def is_assigned(services: Services, incident_id: str) -> bool:
    with services.reads() as session:
        row = session.get(IncidentRow, incident_id)
        return row is not None and row.state == IncidentState.ASSIGNED.value


def produce_with_librdkafka(servers: str, envelope: Envelope) -> Message:
    """Send one envelope to the incidents topic; the delivery report, once the broker acked."""
    delivered: list[Message] = []
    producer = Producer({"bootstrap.servers": servers, "acks": "all"})
    producer.produce(
        topics.INCIDENTS,
        key=envelope.key.encode(),
        value=envelope.to_bytes(),
        on_delivery=lambda error, message: delivered.append(message),
    )
    assert producer.flush(TIMEOUT_S) == 0, "librdkafka did not deliver within the timeout"
    return delivered[0]


def consume_assignment_with_librdkafka(servers: str, incident_id: str) -> Message | None:
    """The team.assigned record for `incident_id`, read by a librdkafka group consumer."""
    consumer = Consumer(
        {
            "bootstrap.servers": servers,
            "group.id": f"librdkafka-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            # the group join waits up to the rebalance timeout, which is max.poll.interval.ms
            "max.poll.interval.ms": 5_000,
            "session.timeout.ms": 3_000,
            "heartbeat.interval.ms": 1_000,
        }
    )
    consumer.subscribe([topics.ASSIGNMENTS])
    deadline = time.monotonic() + TIMEOUT_S
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            assert message.error() is None, message.error()
            envelope = Envelope.from_bytes(message.value() or b"")
            if envelope.type == "team.assigned" and envelope.payload["incident_id"] == incident_id:
                return message
    finally:
        consumer.close()
    return None


def test_librdkafka_client_reports_an_incident_and_reads_its_assignment(
    services: Services,
) -> None:
    seed_teams(services, [team("t1", 30.6, 114.3, capacity=2)])
    now = services.clock.now()
    reported = incident(1, 30.61, 114.31, now)
    envelope = envelope_for(
        IncidentReported(**reported.model_dump()),
        producer="librdkafka-test",
        key=reported.partition_key,
        at=now,
    )

    delivery = produce_with_librdkafka(services.bootstrap_servers, envelope)
    assert delivery.error() is None
    assert delivery.key() == b"wuhan"

    deadline = time.monotonic() + TIMEOUT_S
    asyncio.run(
        run_dispatcher(
            services,
            stop=lambda: is_assigned(services, reported.id) or time.monotonic() > deadline,
        )
    )
    assert is_assigned(services, reported.id)

    assigned = consume_assignment_with_librdkafka(services.bootstrap_servers, reported.id)
    assert assigned is not None, "no team.assigned record for the incident within the timeout"
    assert assigned.key() == b"wuhan"
    announced = Envelope.from_bytes(assigned.value() or b"")
    assert announced.qualified_type == "team.assigned.v1"
    assert announced.payload["incident_id"] == reported.id
    assert announced.payload["team_id"] == "t1"
