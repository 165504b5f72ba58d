"""The outbox relay: publishes what transactions wrote to the outbox, then deletes it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.orm import OutboxRow
from dispatch.audit.mirror import publish_log_tail
from events.envelope import Envelope
from events.kafka import KafkaPublisher, OutgoingMessage

OUTBOX = cast(Table, OutboxRow.__table__)
MIRROR_SHARE = 2000  # event-log entries mirrored per relay call, about, at most


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
    again: consumers deduplicate by event_id.
    """
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
