"""The append-only event log: a gapless sequence with a SHA-256 hash chain.

Writers append inside the caller's transaction, so an event is logged exactly when the state
change it describes is committed. Appenders serialise on the one-row head table (locked FOR
UPDATE; SQLite's writers already hold the database lock), so sequence numbers commit in order:
a reader that has seen entry N has seen every entry before it, and never has to look back.
Nothing here updates or deletes a logged entry, and `install_append_only_guards` makes the
database refuse it too (triggers on PostgreSQL and SQLite).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    DateTime,
    Dialect,
    Engine,
    Integer,
    String,
    Table,
    Text,
    select,
    text,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.types import TypeDecorator

from events.envelope import Envelope
from events.topics import AUDIT

GENESIS_HASH = "0" * 64


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, also on SQLite (which stores no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LogBase(DeclarativeBase):
    pass


class LoggedEvent(LogBase):
    __tablename__ = "event_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    key: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(64), index=True, doc="incident or team id")
    envelope: Mapped[str] = mapped_column(Text, doc="canonical JSON of the envelope")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class LogHead(LogBase):
    """One row: the last sequence number and hash. Locking it serialises appenders."""

    __tablename__ = "event_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class LogPublished(LogBase):
    """One row per topic: how far the log has been mirrored to Kafka (see dispatch/audit)."""

    __tablename__ = "event_log_published"

    topic: Mapped[str] = mapped_column(String(128), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)


EVENT_LOG: Table = LoggedEvent.__table__  # type: ignore[assignment]
HEAD: Table = LogHead.__table__  # type: ignore[assignment]


class Entry(NamedTuple):
    """One stored entry as the auditor reads it: the hashed text and the chain around it."""

    seq: int
    envelope: str
    prev_hash: str
    hash: str


def chain_hash(prev_hash: str, canonical: str) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical.encode()).hexdigest()


def subject_of(envelope: Envelope) -> str:
    return subject_of_payload(envelope.payload)


def subject_of_payload(payload: dict[str, Any]) -> str:
    return str(payload.get("incident_id") or payload.get("id") or payload.get("team_id") or "")


def entry_message(entry: Entry) -> bytes:
    """An entry as one JSON document (Kafka audit topic, JSON Lines export)."""
    # The envelope travels as the exact stored text, so its hash can be re-checked anywhere.
    return json.dumps(entry._asdict(), separators=(",", ":")).encode()


def entry_of_message(raw: bytes) -> Entry:
    """The inverse of `entry_message`."""
    document = json.loads(raw)
    return Entry(
        int(document["seq"]), document["envelope"], document["prev_hash"], document["hash"]
    )


def entries_message(entries: Sequence[Entry]) -> bytes:
    """Consecutive entries as one Kafka record: their `entry_message` lines (JSON Lines)."""
    return b"\n".join(entry_message(entry) for entry in entries)


def entries_of_message(raw: bytes) -> list[Entry]:
    """The inverse of `entries_message`; a record of one entry (the older form) reads too."""
    return [entry_of_message(line) for line in raw.split(b"\n") if line]


class SqlEventLog:
    """Appends to and reads from the event log through a SQLAlchemy session."""

    def append(self, session: Session, envelopes: Sequence[Envelope]) -> int:
        """Log `envelopes` in order; returns the new head sequence number."""
        if not envelopes:
            return self.head(session)[0]  # nothing to log: take no lock
        # Core statements, not the ORM: a head object cached in a reused session could be
        # stale, and the hot path (thousands of events per call) stays lean.
        seq, prev = self._locked_head(session)
        rows = []
        for envelope in envelopes:
            canonical = envelope.canonical_json()
            seq, digest = seq + 1, chain_hash(prev, canonical)
            rows.append(
                {
                    "seq": seq,
                    "event_id": envelope.event_id,
                    "type": envelope.type,
                    "version": envelope.version,
                    "occurred_at": envelope.occurred_at,
                    "key": envelope.key,
                    "subject": subject_of(envelope),
                    "envelope": canonical,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        session.execute(EVENT_LOG.insert(), rows)
        session.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=prev))
        return seq

    def _locked_head(self, session: Session) -> tuple[int, str]:
        head = session.execute(
            select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1).with_for_update()
        ).first()
        if head is None:
            raise RuntimeError("event log has no head row: run `everycall db init` first")
        return int(head.seq), str(head.hash)

    def head(self, session: Session) -> tuple[int, str]:
        """The last sequence number and hash, as committed (no lock)."""
        row = session.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).first()
        if row is None:
            raise RuntimeError("event log has no head row: run `everycall db init` first")
        return int(row.seq), str(row.hash)

    def create_head(self, session: Session) -> None:
        """Called once when the schema is created, so appenders only ever lock, never insert."""
        if session.get(LogHead, 1) is None:
            session.add(LogHead(id=1, seq=0, hash=GENESIS_HASH))
        if session.get(LogPublished, AUDIT) is None:
            session.add(LogPublished(topic=AUDIT, seq=0))

    def known_event_ids(self, session: Session, event_ids: Sequence[str]) -> set[str]:
        """Which of these events were already logged: consumers skip them (deduplication)."""
        found: set[str] = set()
        for start in range(0, len(event_ids), 500):
            chunk = event_ids[start : start + 500]
            found.update(
                session.scalars(select(LoggedEvent.event_id).where(LoggedEvent.event_id.in_(chunk)))
            )
        return found

    def read(
        self, session: Session, after_seq: int = 0, chunk: int = 5000
    ) -> Iterator[LoggedEvent]:
        """Every entry after `after_seq`, in sequence order."""
        while True:
            rows = session.scalars(
                select(LoggedEvent)
                .where(LoggedEvent.seq > after_seq)
                .order_by(LoggedEvent.seq)
                .limit(chunk)
            ).all()
            if not rows:
                return
            yield from rows
            after_seq = rows[-1].seq


def read_entries(
    connection: Connection,
    after_seq: int = 0,
    until_seq: int | None = None,
    chunk: int = 2000,
) -> Iterator[Entry]:
    """Entries after `after_seq` (up to `until_seq`) in stored order: the auditor's lean read,
    from the DB-API cursor (these four columns need no type conversion)."""
    rows = _read_rows(connection, "seq, envelope, prev_hash, hash", after_seq, until_seq, chunk)
    return map(Entry._make, rows)


def read_envelopes(
    connection: Connection, until_seq: int | None = None, chunk: int = 2000
) -> Iterator[tuple[int, str]]:
    """`(seq, envelope)` of every entry up to `until_seq`, in stored order: what a replay
    folds, without the chain's columns."""
    return _read_rows(connection, "seq, envelope", 0, until_seq, chunk)


def _read_rows(
    connection: Connection, columns: str, after_seq: int, until_seq: int | None, chunk: int
) -> Iterator[Any]:
    """Rows of the log in stored order, `chunk` per query: a few thousand rows stay in the
    CPU's caches while the caller works on them."""
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    query = (
        f"SELECT {columns} FROM event_log "
        f"WHERE seq > {mark} AND seq <= {mark} ORDER BY seq LIMIT {mark}"
    )
    until = until_seq if until_seq is not None else 2**62
    if not connection.in_transaction():
        connection.begin()  # as SQLAlchemy's autobegin would: every chunk from one snapshot
    cursor = connection.connection.cursor()
    try:
        while True:
            cursor.execute(query, (after_seq, until, chunk))
            rows = cursor.fetchall()
            if not rows:
                return
            yield from rows
            after_seq = rows[-1][0]
    finally:
        cursor.close()


# The database itself refuses to change history. (No percent signs in this SQL: the driver would
# take them for placeholders.) A superuser can still drop the triggers:
# that is what `everycall audit verify` and an outside digest are for.
_PG_GUARDS = """
CREATE OR REPLACE FUNCTION everycall_refuse_history_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
        MESSAGE = 'event_log is append-only: ' || TG_OP || ' refused';
END $$;
CREATE OR REPLACE FUNCTION everycall_head_moves_forward() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = 'event_log_head only moves forward: ' || TG_OP || ' refused';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log
    FOR EACH ROW EXECUTE FUNCTION everycall_refuse_history_change();
CREATE OR REPLACE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log
    FOR EACH STATEMENT EXECUTE FUNCTION everycall_refuse_history_change();
CREATE OR REPLACE TRIGGER event_log_head_forward BEFORE UPDATE OR DELETE ON event_log_head
    FOR EACH ROW EXECUTE FUNCTION everycall_head_moves_forward();
"""

_SQLITE_GUARDS = (
    """CREATE TRIGGER IF NOT EXISTS event_log_no_update BEFORE UPDATE ON event_log
    BEGIN SELECT RAISE(ABORT, 'event_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS event_log_no_delete BEFORE DELETE ON event_log
    BEGIN SELECT RAISE(ABORT, 'event_log is append-only: DELETE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS event_log_head_forward BEFORE UPDATE ON event_log_head
    WHEN NEW.seq < OLD.seq
    BEGIN SELECT RAISE(ABORT, 'event_log_head only moves forward: UPDATE refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS event_log_head_kept BEFORE DELETE ON event_log_head
    BEGIN SELECT RAISE(ABORT, 'event_log_head only moves forward: DELETE refused'); END""",
)

GUARD_TRIGGERS = {
    "postgresql": ("event_log_append_only", "event_log_no_truncate", "event_log_head_forward"),
    "sqlite": (
        "event_log_no_update",
        "event_log_no_delete",
        "event_log_head_forward",
        "event_log_head_kept",
    ),
}


def install_append_only_guards(engine: Engine) -> None:
    """Triggers that refuse UPDATE, DELETE (and TRUNCATE) of logged entries; idempotent."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            # Concurrent `create_schema` calls would race on CREATE OR REPLACE: take turns.
            connection.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            connection.exec_driver_sql(_PG_GUARDS)
        elif engine.dialect.name == "sqlite":
            for statement in _SQLITE_GUARDS:
                connection.exec_driver_sql(statement)
