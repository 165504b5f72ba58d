"""Verification of the event log: recompute the hash chain and name the first bad entry.

Catches a modified entry (its hash, or a column that disagrees with the hashed envelope), a
deleted one (a gap), an inserted or reordered one (an entry that does not chain to the one
before it), a tail cut off (the head row, or an outside digest, names an entry that is gone).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, select

from dispatch.service_layer.state import sqlite_time
from events.log import EVENT_LOG, GENESIS_HASH, HEAD, Entry, subject_of_payload

_DIGEST = re.compile(r"^(\d+):([0-9a-f]{64})$")


@dataclass(frozen=True)
class Digest:
    """The head of the log as an auditor keeps it outside the system: `SEQ:HASH`."""

    seq: int
    hash: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        match = _DIGEST.match(text.strip())
        if match is None:
            raise ValueError(f"not a digest: {text!r} (expected SEQ:HASH, 64 hex digits)")
        return cls(int(match.group(1)), match.group(2))

    def __str__(self) -> str:
        return f"{self.seq}:{self.hash}"


GENESIS = Digest(0, GENESIS_HASH)


@dataclass(frozen=True)
class Finding:
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.problem}"


@dataclass
class Verdict:
    entries: int = 0
    last: Digest = GENESIS
    head: Digest | None = None
    finding: Finding | None = None

    @property
    def ok(self) -> bool:
        return self.finding is None


# Straight to the driver (no SQLAlchemy type processing): the columns as stored.
_ROWS_AFTER = (
    "SELECT seq, envelope, prev_hash, hash, event_id, type, version, occurred_at, key, subject "
    "FROM event_log WHERE seq > {mark} ORDER BY seq LIMIT {mark}"
)
_COLUMNS = ("event_id", "type", "version", "occurred_at", "key", "subject")
# Rows per query: a few thousand stay in the CPU's caches while they are checked (20,000 ran
# about 10 % slower here).
CHUNK = 2000


def read_head(connection: Connection) -> Digest | None:
    row = connection.execute(select(HEAD.c.seq, HEAD.c.hash).where(HEAD.c.id == 1)).first()
    return None if row is None else Digest(int(row[0]), str(row[1]))


def verify_log(
    connection: Connection,
    digest: Digest | None = None,
    on_progress: Callable[[int], None] | None = None,
    chunk: int = CHUNK,
) -> Verdict:
    """Check every entry, the head row and (if given) an outside digest; first problem wins."""
    verdict = Verdict(head=read_head(connection))
    if verdict.head is None:
        verdict.finding = Finding(0, "the head row is missing (event_log_head was emptied)")
        return verdict
    query = _ROWS_AFTER.format(mark="?" if connection.dialect.paramstyle == "qmark" else "%s")
    cursor = connection.connection.cursor()  # the DB-API cursor: rows as plain tuples
    kept: str | None = None  # the hash at the digest's seq, once read
    try:
        while verdict.finding is None:
            cursor.execute(query, (verdict.last.seq, chunk))
            rows = cursor.fetchall()
            if not rows:
                break
            checked, finding = _check_rows(rows, verdict.last)
            if checked:
                verdict.last = Digest(rows[checked - 1][0], rows[checked - 1][3])
                verdict.entries += checked
            if digest is not None and kept is None:
                kept = next((r[3] for r in rows[:checked] if r[0] == digest.seq), None)
            if finding is not None:
                verdict.finding = _explain(connection, finding, rows[checked])
            if on_progress is not None:
                on_progress(verdict.entries)
    finally:
        cursor.close()
    verdict.finding = verdict.finding or _check_head(verdict.head, verdict.last)
    if verdict.finding is None and digest is not None:
        verdict.finding = check_digest(digest, verdict.last, kept)
    return verdict


def _check_rows(rows: Sequence[Sequence[Any]], last: Digest) -> tuple[int, Finding | None]:
    """How many rows are sound, and what is wrong with the next one. The hot loop: lean.

    The columns are compared with plain `!=` first; only a row where one differs goes to
    `_column_finding`, which compares exactly (a subject that is not text, a time with an
    offset) and names the column that lies."""
    expected, last_hash = last.seq + 1, last.hash
    sha256, loads = hashlib.sha256, orjson.loads
    # hashed time -> its stored form: events of one batch share their time, so few are parsed
    stored_times: dict[str, Any] = {}
    for n, row in enumerate(rows):
        seq, envelope, prev_hash, stored, event_id, kind, version, occurred_at, key, subject = row
        if seq != expected:
            return n, Finding(
                expected,
                f"missing: the log jumps from seq {expected - 1} to seq {seq} (entries deleted)",
            )
        if prev_hash != last_hash:
            return n, Finding(seq, "does not chain to the entry before it")  # see _explain
        if sha256((prev_hash + envelope).encode()).hexdigest() != stored:
            return n, Finding(seq, "its content does not match its hash: the entry was modified")
        doc = loads(envelope)
        payload, hashed_time = doc["payload"], doc["occurred_at"]
        if hashed_time not in stored_times:
            stored_times[hashed_time] = _stored_form(hashed_time, occurred_at)
        if (
            doc["event_id"] != event_id
            or doc["type"] != kind
            or doc["version"] != version
            or doc["key"] != key
            or stored_times[hashed_time] != occurred_at
            or (payload.get("incident_id") or payload.get("id") or payload.get("team_id") or "")
            != subject
        ) and (finding := _column_finding(seq, doc, row[4:])) is not None:
            return n, finding
        expected, last_hash = seq + 1, stored
    return len(rows), None


def _stored_form(hashed: str, stored: str | datetime) -> str | datetime | None:
    """The hashed time as the column holds it: SQLite keeps SQLAlchemy's text layout (compare
    text, parse no dates), PostgreSQL an aware datetime."""
    return sqlite_time(hashed) if isinstance(stored, str) else datetime.fromisoformat(hashed)


def _aware(value: Any) -> Any:
    """The stored time as aware UTC: SQLite gives naive UTC text, PostgreSQL a datetime (text
    that is no time at all stays as it is, to be named)."""
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    except ValueError:
        return value
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _column_finding(seq: int, doc: dict[str, Any], columns: Sequence[Any]) -> Finding | None:
    """The searchable columns must say what the hashed envelope says: name the one that lies
    (None when, compared exactly, none does)."""
    hashed = (
        doc["event_id"],
        doc["type"],
        doc["version"],
        datetime.fromisoformat(doc["occurred_at"]),
        doc["key"],
        subject_of_payload(doc["payload"]),
    )
    stored = (*columns[:3], _aware(columns[3]), *columns[4:])
    lie = next(
        ((n, w, g) for n, w, g in zip(_COLUMNS, hashed, stored, strict=True) if w != g), None
    )
    if lie is None:
        return None
    name, want, got = lie
    return Finding(
        seq, f"column {name} is {got!r} but the hashed envelope says {want!r}: the row was modified"
    )


def _explain(connection: Connection, finding: Finding, row: Sequence[Any]) -> Finding:
    """Say which entry a broken link points to: that tells insertion from reordering."""
    if not finding.problem.startswith("does not chain"):
        return finding
    seq, prev_hash = row[0], row[2]
    found = connection.execute(
        select(EVENT_LOG.c.seq).where(EVENT_LOG.c.hash == prev_hash).limit(1)
    ).scalar()
    if prev_hash == GENESIS_HASH and seq != 1:
        where = "the start of the log"
    elif found is None:
        return Finding(
            seq,
            f"does not chain to seq {seq - 1} and its prev_hash matches no entry: "
            "an entry was inserted, replaced or removed before it",
        )
    else:
        where = f"seq {found}"
    kind = "inserted before it" if found is not None and found < seq - 1 else "reordered"
    return Finding(seq, f"chains to {where}, not to seq {seq - 1}: entries were {kind}")


def _check_head(head: Digest, last: Digest) -> Finding | None:
    if last.seq < head.seq:
        return Finding(
            last.seq + 1,
            f"missing: the log ends at seq {last.seq} but the head row says {head.seq} "
            "(the tail was truncated)",
        )
    if last.seq > head.seq:
        return Finding(
            head.seq + 1,
            f"beyond the head row (seq {head.seq}): written outside the log's writer, "
            "or the head was moved back",
        )
    if last.hash != head.hash:
        return Finding(head.seq, "the head row's hash does not match this entry's hash")
    return None


def check_digest(digest: Digest, last: Digest, kept: str | None) -> Finding | None:
    """Whether an outside digest holds, given the last verified entry and the stored hash at
    the digest's seq (`kept`, None when there is none)."""
    if digest.seq > last.seq:
        return Finding(
            last.seq + 1,
            f"missing: the digest names seq {digest.seq} but the log ends at seq {last.seq} "
            "(the tail was truncated, and the head row rewritten to match)",
        )
    if digest.seq > 0 and kept != digest.hash:
        return Finding(
            digest.seq, "its hash differs from the digest: history up to it was rewritten"
        )
    return None


def check_entries(
    entries: Iterable[Entry], last: Digest = GENESIS
) -> tuple[Digest, Finding | None]:
    """The chain check alone, for entries that come without columns (Kafka, exports)."""
    for entry in entries:
        if entry.seq != last.seq + 1:
            return last, Finding(last.seq + 1, f"missing: next entry found is seq {entry.seq}")
        if entry.prev_hash != last.hash:
            return last, Finding(entry.seq, "does not chain to the entry before it")
        computed = hashlib.sha256((entry.prev_hash + entry.envelope).encode()).hexdigest()
        if computed != entry.hash:
            return last, Finding(entry.seq, "its content does not match its hash")
        last = Digest(entry.seq, entry.hash)
    return last, None
