"""Tampering with the stored log, as someone with the database's owner rights would: each kind
is caught by verification, which names the first bad sequence number and what is wrong."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import Connection, Engine, text

from dispatch import bootstrap
from dispatch.audit.source import open_read_only
from dispatch.audit.verify import Digest, Verdict, verify_log
from dispatch.config import Settings
from events.log import GUARD_TRIGGERS, chain_hash
from models.clock import ManualClock
from tests.golden.scenario import STEPS


@pytest.fixture
def logged(database_url: str) -> Iterator[Engine]:
    """A database holding the scripted scenario's log."""
    with bootstrap.database(Settings(database_url=database_url), clock=ManualClock()) as services:
        for _, step in STEPS:
            step(services)
        yield services.engine


def verify(engine: Engine, digest: Digest | None = None) -> Verdict:
    auditor = open_read_only(engine.url.render_as_string(hide_password=False))
    try:
        with auditor.connect() as connection, connection.begin():
            return verify_log(connection, digest)
    finally:
        auditor.dispose()


def tamper(engine: Engine, change: Callable[[Connection], None]) -> None:
    """Switch off the append-only triggers (an owner can) and change the log."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE event_log DISABLE TRIGGER USER")
            connection.exec_driver_sql("ALTER TABLE event_log_head DISABLE TRIGGER USER")
        else:
            for trigger in GUARD_TRIGGERS["sqlite"]:
                connection.exec_driver_sql(f"DROP TRIGGER {trigger}")
        change(connection)


def row(connection: Connection, seq: int) -> dict[str, object]:
    found = connection.execute(text("SELECT * FROM event_log WHERE seq = :s"), {"s": seq})
    return dict(found.mappings().one())


def move(connection: Connection, where: str, by: int) -> None:
    """Renumber entries (through negative numbers: the primary key is checked per row)."""
    connection.execute(text(f"UPDATE event_log SET seq = -seq WHERE {where}"))
    connection.execute(text(f"UPDATE event_log SET seq = -seq + {by} WHERE seq < 0"))


def set_head(connection: Connection, seq: int) -> None:
    digest = row(connection, seq)["hash"]
    connection.execute(
        text("UPDATE event_log_head SET seq = :s, hash = :h"), {"s": seq, "h": digest}
    )


def head_of(engine: Engine) -> Digest:
    verdict = verify(engine)
    assert verdict.ok and verdict.last.seq > 30
    return verdict.last


def test_an_untouched_log_verifies(logged: Engine) -> None:
    head = head_of(logged)
    verdict = verify(logged, head)
    assert verdict.ok and verdict.entries == head.seq and verdict.head == verdict.last == head


def test_a_flipped_byte_in_a_payload_is_named(logged: Engine) -> None:
    def flip(connection: Connection) -> None:
        envelope = str(row(connection, 12)["envelope"])
        forged = envelope.replace('"payload":{"', '"payload":{"x', 1)
        connection.execute(text("UPDATE event_log SET envelope = :e WHERE seq = 12"), {"e": forged})

    tamper(logged, flip)
    assert str(verify(logged).finding) == (
        "seq 12: its content does not match its hash: the entry was modified"
    )


def test_a_deleted_entry_is_named(logged: Engine) -> None:
    tamper(logged, lambda c: c.execute(text("DELETE FROM event_log WHERE seq = 10")))
    assert str(verify(logged).finding) == (
        "seq 10: missing: the log jumps from seq 9 to seq 11 (entries deleted)"
    )


def test_an_entry_deleted_and_the_rest_renumbered_is_named(logged: Engine) -> None:
    last = head_of(logged).seq

    def delete_and_close_the_gap(connection: Connection) -> None:
        connection.execute(text("DELETE FROM event_log WHERE seq = 10"))
        move(connection, "seq > 10", -1)
        set_head(connection, last - 1)

    tamper(logged, delete_and_close_the_gap)
    finding = str(verify(logged).finding)
    assert finding.startswith("seq 10: does not chain to seq 9 and its prev_hash matches no entry")


def test_an_inserted_entry_is_named_even_with_a_valid_hash(logged: Engine) -> None:
    last = head_of(logged).seq

    def insert_forged(connection: Connection) -> None:
        before = row(connection, 9)
        move(connection, "seq >= 10", 1)
        forged = dict(row(connection, 11), seq=10, event_id="forged", prev_hash=before["hash"])
        forged["envelope"] = str(forged["envelope"]).replace(
            str(row(connection, 11)["event_id"]), "forged"
        )
        forged["hash"] = chain_hash(str(before["hash"]), str(forged["envelope"]))
        columns = ", ".join(forged)
        values = ", ".join(f":{name}" for name in forged)
        connection.execute(text(f"INSERT INTO event_log ({columns}) VALUES ({values})"), forged)
        set_head(connection, last + 1)

    tamper(logged, insert_forged)
    assert str(verify(logged).finding) == (
        "seq 11: chains to seq 9, not to seq 10: entries were inserted before it"
    )


def test_two_swapped_entries_are_named(logged: Engine) -> None:
    def swap(connection: Connection) -> None:
        connection.execute(text("UPDATE event_log SET seq = -1 WHERE seq = 14"))
        connection.execute(text("UPDATE event_log SET seq = 14 WHERE seq = 15"))
        connection.execute(text("UPDATE event_log SET seq = 15 WHERE seq = -1"))

    tamper(logged, swap)
    assert str(verify(logged).finding) == (
        "seq 14: chains to seq 15, not to seq 13: entries were reordered"
    )


def test_a_truncated_tail_is_named_by_the_head_row(logged: Engine) -> None:
    last = head_of(logged).seq
    cut = {"cut": last - 3}
    tamper(logged, lambda c: c.execute(text("DELETE FROM event_log WHERE seq > :cut"), cut))
    assert str(verify(logged).finding) == (
        f"seq {last - 2}: missing: the log ends at seq {last - 3} but the head row says {last} "
        "(the tail was truncated)"
    )


def test_a_truncated_tail_with_the_head_fixed_up_is_caught_by_the_kept_digest(
    logged: Engine,
) -> None:
    kept = head_of(logged)

    def truncate_and_fix_head(connection: Connection) -> None:
        connection.execute(text("DELETE FROM event_log WHERE seq > :cut"), {"cut": kept.seq - 3})
        set_head(connection, kept.seq - 3)

    tamper(logged, truncate_and_fix_head)
    assert verify(logged).ok  # consistent in itself: only an outside digest can tell
    assert str(verify(logged, kept).finding) == (
        f"seq {kept.seq - 2}: missing: the digest names seq {kept.seq} but the log ends at "
        f"seq {kept.seq - 3} (the tail was truncated, and the head row rewritten to match)"
    )


def test_history_rewritten_with_a_recomputed_chain_is_caught_by_the_kept_digest(
    logged: Engine,
) -> None:
    kept = head_of(logged)

    def rewrite(connection: Connection) -> None:
        prev = str(row(connection, 1)["hash"])
        for seq in range(2, kept.seq + 1):
            entry = row(connection, seq)
            envelope = str(entry["envelope"])
            if seq == 2:
                assert '"leader":"Li Lei"' in envelope
                envelope = envelope.replace('"leader":"Li Lei"', '"leader":"Someone Else"')
            digest = chain_hash(prev, envelope)
            connection.execute(
                text(
                    "UPDATE event_log SET envelope = :e, prev_hash = :p, hash = :h WHERE seq = :s"
                ),
                {"e": envelope, "p": prev, "h": digest, "s": seq},
            )
            prev = digest
        set_head(connection, kept.seq)

    tamper(logged, rewrite)
    assert verify(logged).ok
    assert str(verify(logged, kept).finding) == (
        f"seq {kept.seq}: its hash differs from the digest: history up to it was rewritten"
    )


def test_a_column_that_disagrees_with_the_hashed_envelope_is_named(logged: Engine) -> None:
    tamper(
        logged, lambda c: c.execute(text("UPDATE event_log SET subject = 'gold-999' WHERE seq = 8"))
    )
    finding = str(verify(logged).finding)
    assert finding.startswith("seq 8: column subject is 'gold-999' but the hashed envelope says")
