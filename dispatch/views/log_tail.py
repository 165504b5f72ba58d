"""The event log read in order from a sequence number on: what the board's live stream sends
(the log is the one stream every change goes through, on every process)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from events.log import EVENT_LOG


class Logged(NamedTuple):
    seq: int
    type: str
    envelope: str  # the canonical JSON the log hashes


def events_after(session: Session, seq: int, limit: int = 1000) -> list[Logged]:
    """Up to `limit` events after `seq`, oldest first."""
    rows = session.execute(
        select(EVENT_LOG.c.seq, EVENT_LOG.c.type, EVENT_LOG.c.envelope)
        .where(EVENT_LOG.c.seq > seq)
        .order_by(EVENT_LOG.c.seq)
        .limit(limit)
    )
    return [Logged(*row) for row in rows]


def last_seq(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(EVENT_LOG.c.seq), 0))) or 0)
