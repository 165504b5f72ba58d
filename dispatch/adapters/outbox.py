"""The outbox relay: publishes what transactions wrote to the outbox, then deletes it; and
mirrors the event log to Kafka (`everycall.audit`), where auditors can replay it.

The log is its own outbox: it is gapless and commits in sequence order, so a relay that
remembers the last sequence number it sent (`event_log_published`) never skips an entry and
costs the append path nothing. A crash between publishing and remembering sends entries again;
readers keep one copy per sequence number.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import cast

from sqlalchemy import Engine, Table, delete, select, text, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.orm import OutboxRow
from events import topics
from events.envelope import Envelope
from events.kafka import KafkaPublisher, OutgoingMessage
from events.log import LogPublished, entries_message, read_entries

OUTBOX = cast(Table, OutboxRow.__table__)
MIRROR_SHARE = 2000  # event-log entries mirrored per relay call, about, at most
# entries per audit record: one Kafka record per entry cost more than the entry's own
# append; 200 entries (about 150 KB) stay well under the producer's 1 MB request limit
MIRROR_PACK = 200
RELAY_LOCK_KEY = 727275  # PostgreSQL advisory lock: one outbox relay at a time
_PROCESS_TURN = threading.Lock()


def stage(session: Session, topic: str, envelope: Envelope, at: datetime) -> None:
    """Queue an event for publishing, inside the caller's transaction."""
    session.add(OutboxRow(topic=topic, key=envelope.key, value=envelope.to_bytes(), created_at=at))


def stage_many(session: Session, topic: str, envelopes: Sequence[Envelope], at: datetime) -> None:
    """Queue many events in one Core statement: several times cheaper a row than `stage` (no
    ORM object per row). Pending ORM rows are flushed first, so staging order stays the order
    in which the relay publishes."""
    if envelopes:
        rows = [
            {"topic": topic, "key": e.key, "value": e.to_bytes(), "created_at": at}
            for e in envelopes
        ]
        session.flush()
        session.execute(OUTBOX.insert(), rows)


def stage_raw(session: Session, topic: str, key: str, value: bytes, at: datetime) -> None:
    session.add(OutboxRow(topic=topic, key=key, value=value, created_at=at))


def relay(sessions: sessionmaker[Session], publisher: KafkaPublisher, chunk: int = 5000) -> int:
    """Publish every pending outbox row in order, then a share of the event log's tail;
    returns how many outbox rows were sent.

    A row is deleted only after the broker acknowledged it, so a crash in between sends it
    again: consumers deduplicate by event_id. One relay at a time (`relay_turn`), so two do
    not both publish the rows they both read.
    """
    with relay_turn(sessions.kw["bind"]):
        return _relay(sessions, publisher, chunk)


@contextmanager
def relay_turn(engine: Engine) -> Iterator[None]:
    """This relay's turn: in this process (the API's relay thread and the dispatcher's
    relay after each batch share one) and, on PostgreSQL, among every process on the
    database (a session advisory lock, on a connection of its own, given back on exit or
    when the process dies). A relay waits for its turn: the one before it is a publish long."""
    with _PROCESS_TURN:
        if engine.dialect.name != "postgresql":
            yield
            return
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": RELAY_LOCK_KEY})
            holder.commit()  # the lock is the session's; no transaction stays open
            try:
                yield
            finally:
                # a connection the database dropped took its lock with it
                with contextlib.suppress(SQLAlchemyError):
                    holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": RELAY_LOCK_KEY})
                    holder.commit()


def _relay(sessions: sessionmaker[Session], publisher: KafkaPublisher, chunk: int) -> int:
    sent = 0
    while True:
        with sessions() as session:
            rows = session.execute(
                select(OutboxRow.id, OutboxRow.topic, OutboxRow.key, OutboxRow.value)
                .order_by(OutboxRow.id)
                .limit(chunk)
            ).all()
        if rows:
            publisher.publish(OutgoingMessage(r.topic, r.key, r.value) for r in rows)
            with sessions.begin() as session:
                # By id, not by range: a concurrent writer may commit a lower id after we read.
                session.execute(delete(OutboxRow).where(OutboxRow.id.in_([r.id for r in rows])))
            sent += len(rows)
        if len(rows) < chunk:
            break  # drained: no need to ask again
    # The event log itself is mirrored to everycall.audit (auditors replay from it), a bounded
    # share per call so that a dispatcher's batch is not held up by it.
    publish_log_tail(sessions, publisher, limit=MIRROR_SHARE)
    return sent


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
            OutgoingMessage(topics.AUDIT, "log", entries_message(entries[i : i + MIRROR_PACK]))
            for i in range(0, len(entries), MIRROR_PACK)
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
