"""A folded board (projection.py) written into an empty database in bulk: on SQLite straight
to the driver, with the secondary indexes rebuilt once at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import JSON, Connection, Engine, Table

from dispatch.audit.projection import projected_tables
from dispatch.service_layer.state import FINISHERS, Board, gc_paused, moment, sqlite_time
from events.log import UtcDateTime


def write_board(board: Board, engine: Engine, chunk: int = 20_000) -> dict[str, int]:
    """Insert the board into `engine`'s (empty) tables in bulk; returns rows per table."""
    with (
        gc_paused(),
        engine.connect() as connection,
        _bulk_loading(connection),
        connection.begin(),
    ):
        return _write_tables(board, connection, chunk)


def _write_tables(board: Board, connection: Connection, chunk: int) -> dict[str, int]:
    written: dict[str, int] = {}
    sqlite = connection.dialect.name == "sqlite"
    rebuild = _drop_sqlite_indexes(connection) if sqlite else []
    for table in projected_tables():
        rows = list(board.keyed.get(table.name, {}).values())
        rows += board.appended.get(table.name, [])
        finish = FINISHERS.get(table.name)
        if finish is not None:
            rows = [finish(row) for row in rows]
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            if sqlite:
                _insert_sqlite(connection, table, part)
            else:
                connection.execute(table.insert(), [_with_datetimes(table, r) for r in part])
        written[table.name] = len(rows)
    for create_index in rebuild:  # one sorted build beats growing an index row by row
        connection.exec_driver_sql(create_index)
    return written


@contextmanager
def _bulk_loading(connection: Connection) -> Iterator[None]:
    """On SQLite, fill the empty target with the rollback journal in memory and no fsync (about
    a tenth of the write's CPU): it is rebuilt from nothing, so a crash half-way costs a re-run,
    not data. The file's own modes come back afterwards."""
    if connection.dialect.name != "sqlite":
        yield
        return
    cursor = connection.connection.cursor()  # outside any transaction: modes change only there
    journal = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = cursor.execute("PRAGMA synchronous").fetchone()[0]
    try:
        cursor.execute("PRAGMA journal_mode=MEMORY")
        cursor.execute("PRAGMA synchronous=OFF")
        yield
    finally:
        cursor.execute(f"PRAGMA journal_mode={journal}")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()


def _drop_sqlite_indexes(connection: Connection) -> list[str]:
    """Drop the projected tables' secondary indexes; returns the statements that rebuild them."""
    names = [t.name for t in projected_tables()]
    found = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        f"AND tbl_name IN ({', '.join('?' * len(names))})",
        tuple(names),
    ).all()
    for name, _ in found:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return [str(create) for _, create in found]


def _insert_sqlite(connection: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Straight to the driver, values as SQLAlchemy would store them: the replay's hot path.
    Column by column, so conversions run over whole lists (rows of a table share their keys:
    see new_row)."""
    if not rows:
        return
    names = list(rows[0])
    quoted = ", ".join(f'"{name}"' for name in names)
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({", ".join("?" * len(names))})'
    columns = []
    for name in names:
        values = list(map(itemgetter(name), rows))
        column_type = table.c[name].type
        if isinstance(column_type, UtcDateTime):
            # convert each distinct time once: the events of a batch share theirs
            stored = {value: sqlite_time(value) for value in set(values)}
            values = list(map(stored.__getitem__, values))
        elif isinstance(column_type, JSON):
            values = [orjson.dumps(value).decode() for value in values]
        columns.append(values)
    cursor = connection.connection.cursor()
    try:
        cursor.executemany(statement, list(zip(*columns, strict=True)))
    finally:
        cursor.close()


def _with_datetimes(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    return {k: moment(v) if isinstance(table.c[k].type, UtcDateTime) else v for k, v in row.items()}
