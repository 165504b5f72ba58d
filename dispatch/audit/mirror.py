"""The event log's mirror on Kafka (`everycall.audit`) read back for a replay, one entry per
sequence number (the outbox relay publishes it, consecutive entries packed in one record:
adapters/outbox.py)."""

from __future__ import annotations

from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition

from events import topics
from events.log import Entry, entries_of_message


def read_audit_topic(
    bootstrap_servers: str,
    expected: int,
    *,
    quiet_polls: int = 6,
    poll_ms: int = 500,
    on_progress: Callable[[int], None] | None = None,
) -> dict[int, Entry]:
    """Entries 1..`expected` from the audit topic, read from offset zero, one per sequence.

    The development broker's end offsets under-report, so this stops when every expected
    entry has arrived, or after `quiet_polls` empty polls in a row: never at end_offsets().
    """
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        client_id="everycall-audit",
    )
    partition = TopicPartition(topics.AUDIT, 0)
    got: dict[int, Entry] = {}
    try:
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        quiet = 0
        while len(got) < expected and quiet < quiet_polls:
            polled = consumer.poll(timeout_ms=poll_ms, max_records=10_000)
            records = [r for batch in polled.values() for r in batch]
            quiet = 0 if records else quiet + 1
            for record in records:
                for entry in entries_of_message(record.value):
                    if entry.seq <= expected:
                        got.setdefault(entry.seq, entry)
            if on_progress is not None:
                on_progress(len(got))
    finally:
        consumer.close()
    return got
