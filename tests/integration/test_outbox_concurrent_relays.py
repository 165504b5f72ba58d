"""Two outbox relays at once (the API's and the dispatcher's) never drop a staged row.

Each relay reads rows, publishes them, then deletes the ids it read. On SQLite an id could be
handed out again once the table had drained (a rowid table gives max(id) + 1), so the slower
relay's delete took a row staged after it read, before anyone had published it: a report
answered 202 and never routed. The outbox now never reuses an id, on every backend.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy import func, select

from dispatch.adapters.orm import OutboxRow
from dispatch.adapters.outbox import relay, stage_raw
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


def test_a_row_staged_while_another_relay_drains_the_outbox_is_still_published(
    services: Services,
) -> None:
    first_id = stage_value(services, b"first")
    later_ids: list[int] = []

    def the_fast_relay_drains_and_a_new_report_arrives() -> None:
        assert relay(services.sessions, services.publisher) == 1  # publishes and deletes "first"
        later_ids.append(stage_value(services, b"second"))

    slow = PublisherWithInterlude(
        services.bootstrap_servers, the_fast_relay_drains_and_a_new_report_arrives
    )
    try:
        relay(services.sessions, slow)  # reads "first"; its delete comes after the interlude
    finally:
        slow.close()

    assert later_ids and later_ids[0] != first_id, "an outbox id was handed out twice"
    assert outbox_values(services) == [b"second"], "the slow relay's delete took a new row"
    relay(services.sessions, services.publisher)
    published = [r.value or b"" for r in read_topic(services, topics.DEAD_LETTER, expected=3)]
    assert sorted(published) == [b"first", b"first", b"second"]
