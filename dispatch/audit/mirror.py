"""The event log mirrored to Kafka (`everycall.audit`), and read back for a replay.

The log is its own outbox: it is gapless and commits in sequence order, so a relay that
remembers the last sequence number it sent (`event_log_published`) never skips an entry and
costs the append path nothing. A crash between publishing and remembering sends entries again;
readers keep one copy per sequence number.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from events import topics
from events.kafka import KafkaPublisher, OutgoingMessage
from events.log import Entry, LogPublished, entry_message, entry_of_message, read_entries


def publish_log_tail(
    sessions: sessionmaker[Session],
    publisher: KafkaPublisher,
    chunk: int = 5000,
    limit: int | None = None,
) -> int:
    """Send entries logged since the last call to the audit topic (all of them, or about
    `limit`: the relay mirrors a bounded share per call and catches up between batches)."""
    sent = 0
    while limit is None or sent < limit:
        with sessions() as session:
            done = session.scalar(
                select(LogPublished.seq).where(LogPublished.topic == topics.AUDIT)
            )
            if done is None:
                return sent  # a database from before the mirror: `everycall db init` adds it
            size = chunk if limit is None else min(chunk, limit - sent)
            entries = list(itertools.islice(read_entries(session.connection(), done), size))
        if not entries:
            return sent
        publisher.publish(
            OutgoingMessage(topics.AUDIT, "log", entry_message(entry)) for entry in entries
        )
        last = entries[-1].seq
        with sessions.begin() as session:
            # Only forward: a slower relay running alongside must not move the mark back.
            session.execute(
                update(LogPublished)
                .where(LogPublished.topic == topics.AUDIT, LogPublished.seq < last)
                .values(seq=last)
            )
        sent += len(entries)
    return sent


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
                entry = entry_of_message(record.value)
                if entry.seq <= expected:
                    got.setdefault(entry.seq, entry)
            if on_progress is not None:
                on_progress(len(got))
    finally:
        consumer.close()
    return got
