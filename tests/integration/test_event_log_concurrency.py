"""The event log under concurrent appenders (threads and processes) on SQLite and PostgreSQL:
no gap, no fork, each writer's order kept, and a reader tailing the log never skips an entry.
Plus the database's own refusal to change history."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from dispatch.adapters.orm import create_schema, make_engine, session_factory
from dispatch.audit.verify import verify_log
from events.envelope import Envelope
from events.log import SqlEventLog, read_entries
from tests.conftest import drop_postgres_database, fresh_postgres_database

WRITERS, ROUNDS, BATCH = 4, 15, 20


def envelopes(writer: str, round_: int) -> list[Envelope]:
    at = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    return [
        Envelope(
            type="test.appended",
            version=1,
            occurred_at=at,
            producer=writer,
            key=writer,
            payload={"id": f"{writer}-{round_:03d}-{n:03d}"},
        )
        for n in range(BATCH)
    ]


def append_rounds(url: str, writer: str) -> None:
    """One writer: ROUNDS transactions of BATCH events each, on its own engine."""
    engine = make_engine(url)
    sessions, log = session_factory(engine), SqlEventLog()
    for round_ in range(ROUNDS):
        with sessions.begin() as session:
            log.append(session, envelopes(writer, round_))
    engine.dispose()


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = make_engine(database_url)
    create_schema(engine)
    return engine


def tail_until(engine: Engine, total: int, seen: list[int]) -> None:
    """A reader that only ever asks for entries after the last one it saw."""
    last = 0
    while last < total:
        with engine.connect() as connection:
            for entry in read_entries(connection, after_seq=last, chunk=37):
                seen.append(entry.seq)
                last = entry.seq


def assert_sound(engine: Engine, writers: list[str]) -> None:
    total = len(writers) * ROUNDS * BATCH
    with engine.connect() as connection:
        verdict = verify_log(connection)
        assert verdict.ok and verdict.entries == total, verdict.finding
        ids = [
            row[0] for row in connection.execute(text("SELECT subject FROM event_log ORDER BY seq"))
        ]
    for writer in writers:
        mine = [i for i in ids if i.startswith(f"{writer}-")]
        assert mine == sorted(mine) and len(mine) == ROUNDS * BATCH  # its own order, all there
        for start in range(0, len(ids), BATCH):  # a batch is never interleaved with another
            assert len({i.rsplit("-", 1)[0] for i in ids[start : start + BATCH]}) == 1


def test_threads_appending_at_once_leave_a_gapless_chain_a_tailing_reader_never_skips(
    engine: Engine, database_url: str
) -> None:
    writers = [f"thread{n}" for n in range(WRITERS)]
    seen: list[int] = []
    total = WRITERS * ROUNDS * BATCH
    reader = threading.Thread(target=tail_until, args=(engine, total, seen))
    threads = [threading.Thread(target=append_rounds, args=(database_url, w)) for w in writers]
    reader.start()
    for thread in threads:
        thread.start()
    for thread in [*threads, reader]:
        thread.join(timeout=120)
    assert seen == list(range(1, total + 1))
    assert_sound(engine, writers)


def test_processes_appending_at_once_leave_a_gapless_chain(
    engine: Engine, database_url: str
) -> None:
    writers = [f"proc{n}" for n in range(3)]
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=append_rounds, args=(database_url, w)) for w in writers]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
        assert process.exitcode == 0
    assert_sound(engine, writers)


def test_a_session_reused_across_transactions_appends_after_other_writers(
    engine: Engine, database_url: str
) -> None:
    """The head is read fresh under the lock, never from a session's cached objects."""
    log, mine = SqlEventLog(), session_factory(engine)()
    with mine.begin():
        log.append(mine, envelopes("reused", 0))
    append_rounds(database_url, "other")
    with mine.begin():
        assert log.append(mine, envelopes("reused", 1)) == (ROUNDS + 2) * BATCH
    mine.close()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE event_log SET key = 'elsewhere' WHERE seq = 1",
        "DELETE FROM event_log WHERE seq = 1",
        "UPDATE event_log_head SET seq = 0",
        "DELETE FROM event_log_head",
    ],
)
def test_the_database_refuses_to_change_history(engine: Engine, statement: str) -> None:
    append_rounds(str(engine.url.render_as_string(hide_password=False)), "w")
    with pytest.raises(DBAPIError, match=r"append-only|only moves forward"), engine.begin() as c:
        c.execute(text(statement))


def test_postgresql_refuses_truncate(postgres_admin_url: str) -> None:
    url, name = fresh_postgres_database(postgres_admin_url)
    engine = make_engine(url)
    try:
        create_schema(engine)
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as c:
            c.execute(text("TRUNCATE event_log"))
    finally:
        engine.dispose()
        drop_postgres_database(postgres_admin_url, name)
