"""The weather-alert consumer: CAP 1.2 XML records on everycall.alerts, each ingested as the API
ingests a posted alert (a bad one becomes a dead letter with its reason). Offsets are committed
only after the record's work is committed, so a crash redelivers it and the alert's own key
(identifier, sender, sent) keeps it from acting twice."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.alerts import ingest_cap_alert, keep_dead_letter
from dispatch.service_layer.services import Services
from events import topics
from events.cap import InvalidAlert
from events.kafka import KafkaBatchConsumer, Record

log = logging.getLogger("everycall.alerts")

# the feed acts as the dispatch center's machine: the event log names it by the topic
ALERT_FEED = Caller(Role.DISPATCHER, name=f"kafka:{topics.ALERTS}")
POLL_MS = 500
BATCH = 50
RETRY_S = 2.0
STOP_JOIN_S = 10.0


def alerts_consumer(services: Services) -> KafkaBatchConsumer:
    settings = services.settings
    return KafkaBatchConsumer(
        services.bootstrap_servers,
        [topics.ALERTS],
        f"{settings.consumer_group}-alerts",
        max_poll_interval_ms=settings.max_poll_interval_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
    )


def ingest_record(services: Services, record: Record) -> None:
    """One record: acted on, or kept as a dead letter; a database error propagates."""
    if record.value is None:
        keep_dead_letter(services, record, b"", "empty record (tombstone)")
        return
    try:
        answer = ingest_cap_alert(services, ALERT_FEED, record.value, record)
    except InvalidAlert as error:
        log.warning("alert at %s/%s dead-lettered: %s", record.partition, record.offset, error)
        return
    log.info("alert %s: %s", answer.identifier, [o.model_dump() for o in answer.outcomes])


def consume_alerts_once(services: Services, consumer: KafkaBatchConsumer) -> int:
    """One poll: each record ingested and its offset committed after it. Returns how many."""
    records = consumer.poll_batch(POLL_MS, BATCH)
    for record in records:
        ingest_record(services, record)
        consumer.commit([record])
    return len(records)


async def alerts_loop(services: Services, stop: Callable[[], bool]) -> None:
    """Consume until `stop()`; a failed pass (database or broker away) is retried, and the
    records it did not commit come again."""
    consumer = await asyncio.to_thread(alerts_consumer, services)
    try:
        while not stop():
            try:
                await asyncio.to_thread(consume_alerts_once, services, consumer)
            except Exception:
                log.exception("alert intake failed; retrying in %.0fs", RETRY_S)
                await asyncio.sleep(RETRY_S)
                consumer.close()
                consumer = await asyncio.to_thread(alerts_consumer, services)
    finally:
        consumer.close()


@contextmanager
def alerts_beside(services: Services) -> Iterator[threading.Thread]:
    """The alert consumer on a thread of its own while the block runs (the dispatcher process
    runs it so, when it runs without `everycall serve`); stopped and joined at the end."""
    stopped = threading.Event()
    thread = threading.Thread(
        target=lambda: asyncio.run(alerts_loop(services, stopped.is_set)),
        name="everycall-alerts",
        daemon=True,
    )
    thread.start()
    try:
        yield thread
    finally:
        stopped.set()
        thread.join(STOP_JOIN_S)
