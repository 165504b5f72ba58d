"""The Kafka adapter (kafka-python): topic set-up, a publisher and a batch consumer."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka import (
    ConsumerRebalanceListener,
    KafkaAdminClient,
    KafkaConsumer,
    KafkaProducer,
    TopicPartition,
)
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError
from kafka.structs import OffsetAndMetadata

from events.topics import ALL_TOPICS, TopicSpec

log = logging.getLogger("everycall.kafka")
LEAVE_TIMEOUT_MS = 1000


@dataclass(frozen=True)
class Record:
    """One consumed Kafka record, detached from the client library."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(frozen=True)
class OutgoingMessage:
    topic: str
    key: str
    value: bytes


def ensure_topics(bootstrap_servers: str, specs: Sequence[TopicSpec] = ALL_TOPICS) -> None:
    """Create the topics that are missing; existing ones are left as they are."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="everycall-admin")
    try:
        existing = set(admin.list_topics())
        missing = [NewTopic(s.name, s.partitions, 1) for s in specs if s.name not in existing]
        if missing:
            # Another process may create one between our list and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                admin.create_topics(missing)
    finally:
        admin.close()


class KafkaPublisher:
    """Idempotent producer, acks from all replicas; `publish` returns once the broker has them.

    A publish fails within about `timeout_s` when the broker is away, and the failed producer
    is dropped: an idempotent producer cannot go on after its broker lost the producer state
    (a restart), so the next publish starts a new one. Callers retry; consumers deduplicate.
    """

    def __init__(
        self, bootstrap_servers: str, client_id: str = "everycall", *, timeout_s: float = 10.0
    ) -> None:
        self._config: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "client_id": client_id,
            "acks": "all",
            "enable_idempotence": True,
            "linger_ms": 2,
            "batch_size": 256 * 1024,
            "retries": 5,
            # bounded waits: the defaults (60 s to block, 120 s to deliver) stall a relay
            "max_block_ms": int(timeout_s * 1000),
            "request_timeout_ms": int(timeout_s * 500),
            "delivery_timeout_ms": int(timeout_s * 1000),
        }
        self._timeout_s = timeout_s
        self._producer: KafkaProducer | None = KafkaProducer(**self._config)

    def publish(self, messages: Iterable[OutgoingMessage]) -> int:
        producer = self._producer or KafkaProducer(**self._config)
        self._producer = producer
        try:
            futures = [producer.send(m.topic, key=m.key.encode(), value=m.value) for m in messages]
            producer.flush(timeout=self._timeout_s + 5)
            for future in futures:
                future.get(timeout=self._timeout_s)  # raises the delivery error, if any
        except KafkaError:
            self._discard()
            raise
        return len(futures)

    def _discard(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            with contextlib.suppress(Exception):
                producer.close(timeout=0)

    def close(self) -> None:
        if self._producer is not None:
            self._producer.close(timeout=5)
            self._producer = None


class KafkaBatchConsumer:
    """A consumer-group member that hands out batches and commits only when told to."""

    def __init__(
        self,
        bootstrap_servers: str,
        topics: Sequence[str],
        group_id: str,
        *,
        max_poll_interval_ms: int = 10_000,
        session_timeout_ms: int | None = None,
    ) -> None:
        # The broker's group join waits up to the rebalance timeout, which kafka-python takes
        # from max_poll_interval_ms: keep it short so start-up takes seconds, not minutes.
        # The session timeout is how long the group waits for a member that went silent (a
        # crashed dispatcher) before its partitions move on.
        session = session_timeout_ms or max(6_000, max_poll_interval_ms)
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_interval_ms=max_poll_interval_ms,
            session_timeout_ms=session,
            heartbeat_interval_ms=min(1_000, session // 3),
        )
        self._consumer.subscribe(list(topics), listener=_LoggedRebalance())

    def poll_batch(self, timeout_ms: int, max_records: int) -> list[Record]:
        polled = self._consumer.poll(timeout_ms=timeout_ms, max_records=max_records)
        batch = [
            Record(r.topic, r.partition, r.offset, r.key, r.value)
            for records in polled.values()
            for r in records
        ]
        return batch

    def commit(self, records: Sequence[Record]) -> None:
        """Commit past the highest offset of each partition in `records`."""
        highest: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            highest[tp] = max(highest.get(tp, -1), r.offset)
        if highest:
            self._consumer.commit(
                {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in highest.items()}
            )

    def close(self) -> None:
        # Leaving the group hands the partitions on at once. The broker may hold the answer
        # while a join is under way (4 s seen, stopping `everycall serve` just after its
        # start); past this, the session timeout hands them on instead.
        self._consumer.close(autocommit=False, timeout_ms=LEAVE_TIMEOUT_MS)


class _LoggedRebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Each rebalance in the log, so an operator (and bench/storm_group.py) sees partitions
    move between the group's members: a batch in flight then may come again."""

    def on_partitions_revoked(self, revoked: Any) -> None:
        pass

    def on_partitions_assigned(self, assigned: Any) -> None:
        owned = sorted(f"{tp.topic}[{tp.partition}]" for tp in assigned)
        log.warning("rebalance: this member now holds %s", ", ".join(owned) or "nothing")
