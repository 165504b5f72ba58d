"""The auditor's way into a database: read-only, so verifying can never change what it checks.

SQLite opens the file with `mode=ro` (and `query_only`); PostgreSQL sessions start with
`default_transaction_read_only` and every transaction is READ ONLY and REPEATABLE READ, so one
audit reads the log and the state tables from one snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, make_url


def open_read_only(url: str) -> Engine:
    """An engine on `url` that cannot write."""
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_read_only(url)
    engine = create_engine(
        url,
        isolation_level="REPEATABLE READ",
        connect_args={"options": "-c default_transaction_read_only=on"},
        pool_pre_ping=True,
    )

    @event.listens_for(engine, "begin")
    def _read_only(connection: Any) -> None:
        connection.exec_driver_sql("SET TRANSACTION READ ONLY")

    return engine


@contextmanager
def read_snapshot(url: str) -> Iterator[Connection]:
    """One read-only transaction on `url`: every read in it sees one snapshot."""
    engine = open_read_only(url)
    try:
        with engine.connect() as connection, connection.begin():
            yield connection
    finally:
        engine.dispose()


def sqlite_read_only_url(url: str) -> str:
    """`sqlite:///path` as a URI that opens the file read-only (and fails if it is missing)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if database.startswith("file:"):
        return url  # already a URI: the caller chose its mode
    if database in ("", ":memory:"):
        raise ValueError("an in-memory SQLite database has no history to audit")
    path = quote(str(Path(database).resolve()))
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def _sqlite_read_only(url: str) -> Engine:
    engine = create_engine(
        sqlite_read_only_url(url), connect_args={"timeout": 30, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # BEGIN below: one snapshot per transaction
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=1")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN")

    return engine
