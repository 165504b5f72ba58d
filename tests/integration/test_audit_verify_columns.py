"""Verification's fast path (plain comparisons, a few thousand rows per query) still names every
searchable column that disagrees with the hashed envelope, and every gap, at any chunk boundary;
and it raises no false alarm for a column that says the same thing in another layout."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from dispatch.audit.source import open_read_only
from dispatch.audit.verify import Verdict, verify_log
from tests.integration.test_audit_tamper import logged, tamper, verify

__all__ = ["logged"]  # the fixture, shared with the tamper tests


def verify_in_chunks(engine: Engine, chunk: int) -> Verdict:
    auditor = open_read_only(engine.url.render_as_string(hide_password=False))
    try:
        with auditor.connect() as connection, connection.begin():
            return verify_log(connection, chunk=chunk)
    finally:
        auditor.dispose()


def forged_time(connection: Connection) -> str:
    """A time no event of the scenario has; SQLite stores text, so there it need not be a time."""
    return "not a time" if connection.dialect.name == "sqlite" else "2031-01-01T00:00:00+00:00"


FORGERIES: dict[str, Any] = {
    "event_id": "f" * 32,
    "type": "team.retired",
    "version": 99,
    "key": "elsewhere",
    "subject": "gold-999",
    "occurred_at": forged_time,
}


@pytest.mark.parametrize("column", list(FORGERIES))
def test_every_searchable_column_that_lies_is_named(logged: Engine, column: str) -> None:
    def forge(connection: Connection) -> None:
        value = FORGERIES[column]
        value = value(connection) if callable(value) else value
        connection.execute(
            text(f'UPDATE event_log SET "{column}" = :v WHERE seq = 8'), {"v": value}
        )

    tamper(logged, forge)
    for verdict in (verify(logged), verify_in_chunks(logged, 3)):
        assert str(verdict.finding).startswith(f"seq 8: column {column} is ")
        assert verdict.entries == 7


def test_a_time_stored_in_another_layout_of_the_same_instant_is_no_finding(
    logged: Engine,
) -> None:
    def relayout(connection: Connection) -> None:
        stored = connection.execute(text("SELECT occurred_at FROM event_log WHERE seq = 8"))
        moment = stored.scalar_one()
        if connection.dialect.name == "sqlite":  # "2026-07-01 08:00:00.000000" without micros
            relaid = str(moment)[:19]
        else:  # the same instant, written with another offset
            relaid = moment.astimezone().isoformat()
        connection.execute(
            text("UPDATE event_log SET occurred_at = :v WHERE seq = 8"), {"v": relaid}
        )
        changed = connection.execute(text("SELECT occurred_at FROM event_log WHERE seq = 8"))
        assert connection.dialect.name != "sqlite" or changed.scalar_one() != moment

    tamper(logged, relayout)
    assert verify(logged).ok


@pytest.mark.parametrize("chunk", [3, 7, 1])
def test_chunk_boundaries_hide_no_gap_and_add_no_finding(logged: Engine, chunk: int) -> None:
    untouched = verify_in_chunks(logged, chunk)
    assert untouched.ok and untouched.entries == untouched.head.seq  # type: ignore[union-attr]

    def delete_seq_7(connection: Connection) -> None:
        connection.execute(text("DELETE FROM event_log WHERE seq = 7"))

    tamper(logged, delete_seq_7)
    verdict = verify_in_chunks(logged, chunk)
    assert str(verdict.finding) == (
        "seq 7: missing: the log jumps from seq 6 to seq 8 (entries deleted)"
    )
    assert verdict.entries == 6
