"""Bad input thrown at the consumer: decoding, the routing transaction on both databases, and
a run through the real broker and dispatcher. The consumer never stops; each bad record lands
in the dead-letter table and topic with a reason that names what is wrong."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from kafka import KafkaProducer
from sqlalchemy import func, select

from dispatch.adapters.orm import DeadLetterRow, IncidentRow, OutboxRow
from dispatch.service_layer.intake import decode_records
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from events import topics
from flows.dispatcher import run_dispatcher
from models.clock import ManualClock
from tests.fuzz import records as fz
from tests.integration.spine_helpers import read_topic, seed_teams, team

NOW = ManualClock().now()  # the services fixture's clock starts here too
DB_EXAMPLES = 15


def rejected_reasons(samples: Sequence[fz.Sample]) -> list[str]:
    decoded = decode_records(fz.as_records(list(samples)), NOW)
    return [r.reason for r in decoded.rejected]


def names_all(reason: str, words: Sequence[str]) -> bool:
    return all(word.lower() in reason.lower() for word in words)


@given(fz.mixed_batch(NOW))
def test_decoding_never_raises_and_gives_every_rejection_a_reason(
    batch: list[fz.Sample],
) -> None:
    records = fz.as_records(batch)
    decoded = decode_records(records, NOW)
    assert len(decoded.reports) + len(decoded.rejected) == len(records)
    assert all(r.reason.strip() for r in decoded.rejected)
    expected_bad = [s for s in batch if s.reason is not None]
    assert len(decoded.rejected) == len(expected_bad)
    for rejected, sample in zip(decoded.rejected, expected_bad, strict=True):
        assert rejected.record.value == sample.value
        assert sample.reason is not None and names_all(rejected.reason, sample.reason), (
            rejected.reason,
            sample.reason,
        )


@given(fz.bad(NOW))
def test_each_class_of_bad_input_is_rejected_naming_its_cause(sample: fz.Sample) -> None:
    [reason] = rejected_reasons([sample])
    assert sample.reason is not None and names_all(reason, sample.reason), (reason, sample)


@pytest.mark.parametrize("field", fz.TYPED_FIELDS)
@pytest.mark.parametrize("value", [True, False])
def test_a_boolean_is_never_taken_for_a_number_or_a_name(field: str, value: bool) -> None:
    # JSON true once passed as version 1 (pydantic's lax int): found by the fuzzer in CI
    sample = fz.with_value(NOW, field, value)
    [reason] = rejected_reasons([sample])
    assert names_all(reason, (field,)), reason


@given(fz.unicode_edges(NOW))
def test_unicode_text_is_kept_as_sent_or_refused_by_name(sample: fz.Sample) -> None:
    decoded = decode_records(fz.as_records([sample]), NOW)
    if sample.reason is not None:
        [rejected] = decoded.rejected
        assert names_all(rejected.reason, sample.reason), rejected.reason
        return
    [(_, incident)] = decoded.reports
    sent = json.loads(sample.value or b"")["payload"]
    assert (incident.id, incident.address, incident.region) == (
        sent["id"],
        sent["address"],
        sent["region"],
    )


def test_reported_at_window_is_one_day_ahead_and_thirty_days_behind() -> None:
    from datetime import timedelta

    def verdict(**shift: float) -> list[str]:
        at = (NOW + timedelta(**shift)).isoformat()
        sample = fz.Sample(fz.encode(fz.envelope(NOW, reported_at=at)), None)
        return rejected_reasons([sample])

    assert verdict(hours=23) == [] and verdict(days=-29) == []
    assert "more than 1 day after its receipt" in verdict(hours=25)[0]
    assert "more than 30 days before its receipt" in verdict(days=-31)[0]


@pytest.fixture
def routing_services(services: Services) -> Services:
    seed_teams(
        services, [team(f"fz{n}", 30.55 + n / 100, 114.3, capacity=10_000) for n in range(5)]
    )
    return services


@settings(
    max_examples=DB_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=fz.mixed_batch(NOW))
def test_routing_transaction_survives_any_batch(
    routing_services: Services, batch: list[fz.Sample]
) -> None:
    services = routing_services
    good_ids = {s.incident_id for s in batch if s.reason is None and s.incident_id}
    known_before = _stored(services, good_ids)
    before = _counts(services)
    outcome = handle_incident_records(services, fz.as_records(batch))
    after = _counts(services)
    bad = [s for s in batch if s.reason is not None]
    assert outcome.dead_lettered == len(bad)
    assert after["dead_letters"] - before["dead_letters"] == len(bad)
    assert after["dead_letter_messages"] - before["dead_letter_messages"] == len(bad)
    # each good incident stored once: new ones added, ones seen before (a retry) not again
    assert after["incidents"] - before["incidents"] == len(good_ids - known_before)
    assert _stored(services, good_ids) == good_ids


def _stored(services: Services, ids: set[str]) -> set[str]:
    with services.reads() as session:
        return set(session.scalars(select(IncidentRow.id).where(IncidentRow.id.in_(ids))))


def _counts(services: Services) -> dict[str, int]:
    with services.reads() as session:
        return {
            "incidents": session.scalar(select(func.count()).select_from(IncidentRow)) or 0,
            "dead_letters": session.scalar(select(func.count()).select_from(DeadLetterRow)) or 0,
            "dead_letter_messages": session.scalar(
                select(func.count()).where(OutboxRow.topic == topics.DEAD_LETTER)
            )
            or 0,
        }


@pytest.mark.usefixtures("prefect_server")
def test_dispatcher_dead_letters_each_bad_record_through_the_broker_and_goes_on(
    routing_services: Services,
) -> None:
    services = routing_services
    bad, good = fz.one_of_each(NOW), fz.good_reports(NOW, 3)
    producer = KafkaProducer(bootstrap_servers=services.bootstrap_servers, acks="all")
    for sample in [*bad, *good]:  # the good ones after the bad: the consumer must reach them
        producer.send(topics.INCIDENTS, key=b"wuhan", value=sample.value)
    producer.flush()
    producer.close()
    good_ids = [s.incident_id for s in good]

    def routed() -> bool:
        with services.reads() as session:
            states = session.scalars(select(IncidentRow.state).where(IncidentRow.id.in_(good_ids)))
            return sorted(states) == ["assigned"] * len(good_ids)

    deadline = time.monotonic() + 90
    asyncio.run(run_dispatcher(services, stop=lambda: routed() or time.monotonic() > deadline))
    assert routed()
    letters = [
        json.loads(r.value or b"") for r in read_topic(services, topics.DEAD_LETTER, len(bad))
    ]
    assert len(letters) == len(bad)
    # One key, so one partition: the letters' offsets follow the order the records were sent.
    letters.sort(key=lambda letter: int(letter["offset"]))
    for sample, letter in zip(bad, letters, strict=True):
        assert base64.b64decode(letter["value_base64"]) == (sample.value or b"")
        assert sample.reason is not None and names_all(letter["reason"], sample.reason), letter
        assert letter["topic"] == topics.INCIDENTS
