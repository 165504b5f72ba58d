"""Two outbox relays at once (the API's and the dispatcher's, or several processes') take
turns: neither drops a staged row, and none publishes a row twice.

Each relay reads rows, publishes them, then deletes the ids it read. Side by side, both
published what both had read; and on SQLite an id could be handed out again once the table
had drained (a rowid table gives max(id) + 1), so the slower relay's delete took a row staged
after it read, before anyone had published it: a report answered 202 and never routed. Now a
relay waits for its turn, and the outbox never reuses an id, on every backend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from dispatch.adapters.orm import OutboxRow
from dispatch.adapters.outbox import RELAY_LOCK_KEY, relay, stage_raw
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import KafkaPublisher, OutgoingMessage
from tests.integration.spine_helpers import read_topic


class PublisherWithInterlude(KafkaPublisher):
    """The real publisher, which runs `interlude` once, right after the broker acknowledged
    its first publish: the moment a relay sits between its publish and its delete."""

    def __init__(self, bootstrap_servers: str, interlude: Callable[[], None]) -> None:
        super().__init__(bootstrap_servers, client_id="slow-relay")
        self._interlude: Callable[[], None] | None = interlude

    def publish(self, messages: Iterable[OutgoingMessage]) -> int:
        sent = super().publish(messages)
        interlude, self._interlude = self._interlude, None
        if interlude is not None:
            interlude()
        return sent


def stage_value(services: Services, value: bytes) -> int:
    with services.sessions.begin() as session:
        stage_raw(session, topics.DEAD_LETTER, "relay-test", value, datetime.now(UTC))
        session.flush()
        return int(session.scalar(select(func.max(OutboxRow.id))) or 0)


def outbox_values(services: Services) -> list[bytes]:
    with services.reads() as session:
        return list(session.scalars(select(OutboxRow.value).order_by(OutboxRow.id)))


def test_a_relay_waits_while_another_publishes_and_each_row_goes_out_once(
    services: Services,
) -> None:
    stage_value(services, b"first")
    second_relay: list[int] = []

    def a_report_arrives_and_another_relay_starts() -> None:
        stage_value(services, b"second")
        other = threading.Thread(
            target=lambda: second_relay.append(relay(services.sessions, services.publisher))
        )
        other.start()
        other.join(0.5)
        assert other.is_alive(), "a second relay ran while the first sat between publish and delete"
        waiting.append(other)

    waiting: list[threading.Thread] = []
    slow = PublisherWithInterlude(
        services.bootstrap_servers, a_report_arrives_and_another_relay_starts
    )
    try:
        assert relay(services.sessions, slow) == 1  # read "first" before "second" was staged
    finally:
        slow.close()
    waiting[0].join(30)

    assert second_relay == [1] and outbox_values(services) == []
    published = [r.value or b"" for r in read_topic(services, topics.DEAD_LETTER, expected=2)]
    assert published == [b"first", b"second"]


def test_an_outbox_id_is_not_handed_out_again_once_the_table_drained(
    services: Services,
) -> None:
    first_id = stage_value(services, b"first")
    assert relay(services.sessions, services.publisher) == 1
    assert stage_value(services, b"second") > first_id


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)  # SQLite: one process
def test_on_postgresql_a_relay_waits_for_another_process_holding_the_turn(
    services: Services,
) -> None:
    engine = services.sessions.kw["bind"]
    stage_value(services, b"first")
    with engine.connect() as other_process:  # as a relay of another process holds it
        other_process.execute(text("SELECT pg_advisory_lock(:key)"), {"key": RELAY_LOCK_KEY})
        relaying = threading.Thread(target=relay, args=(services.sessions, services.publisher))
        relaying.start()
        relaying.join(0.5)
        assert relaying.is_alive() and outbox_values(services) == [b"first"]
        other_process.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": RELAY_LOCK_KEY})
        relaying.join(30)
    assert not relaying.is_alive() and outbox_values(services) == []
