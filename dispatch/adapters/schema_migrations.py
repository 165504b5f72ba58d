"""The schema's versions: `upgrade` brings an empty database, one made by `create_schema` of
release aa6ee7d (before migrations), or one at an older revision to the head.

The Alembic revisions live in dispatch/adapters/migrations; the configuration is built here, so
an installed package needs no alembic.ini. A new revision starts from
`alembic.command.revision(alembic_config(), "what it changes")`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, create_engine, inspect, text
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).with_name("migrations")

# The first revision creates exactly what `create_schema` of release aa6ee7d made before
# Alembic owned the schema: a database of that shape with no alembic_version is at it.
FIRST_REVISION = "652230c88837"

# PostgreSQL advisory lock held for the whole upgrade. It is the key events/log.py takes to
# install the log's guards, so an upgrade and a process of an older release installing those
# guards take turns as well.
SCHEMA_LOCK_KEY = 727274


class SchemaError(RuntimeError):
    """The database holds a schema that `upgrade` cannot bring to the head; the message says
    what it found."""


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade` found and left."""

    before: str | None  # the revision recorded before (None: no alembic_version)
    after: str
    stamped: bool  # made before migrations: recorded as at FIRST_REVISION, then upgraded

    @property
    def changed(self) -> bool:
        return self.stamped or self.before != self.after


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for this package; commands that touch the database need the
    `connection` they run on (env.py refuses to open one of its own)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this code knows."""
    return _head_of(ScriptDirectory.from_config(alembic_config()))


def _head_of(script: ScriptDirectory) -> str:
    head = script.get_current_head()
    if head is None:
        raise SchemaError(f"no revisions found in {MIGRATIONS}")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database records, or None (empty, or made before migrations)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: Engine) -> Upgrade:
    """Bring the schema to the head revision; idempotent, and safe to call from several
    processes at once: all of it is one transaction under a lock (PostgreSQL's advisory lock,
    SQLite's write lock), so a second caller waits and then finds the head."""
    with engine.connect() as connection, connection.begin():
        _take_schema_lock(connection)
        config = alembic_config(connection)
        script = ScriptDirectory.from_config(config)
        head = _head_of(script)
        before = MigrationContext.configure(connection).get_current_revision()
        stamped = before is None and _made_before_migrations(connection)
        if stamped:
            command.stamp(config, FIRST_REVISION)
        start = FIRST_REVISION if stamped else before
        if start != head:
            _check_known(script, start)
            command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    assert after == head, f"upgraded to {after}, not to the head {head}"
    return Upgrade(before, after, stamped)


def _take_schema_lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
    elif connection.dialect.name == "sqlite":
        # pysqlite begins a transaction only before DML, so DDL would run outside of one and
        # a second process could start the same revisions. An engine from make_engine has
        # begun with BEGIN IMMEDIATE already; any other gets the write lock here.
        driver = connection.connection.dbapi_connection
        if not getattr(driver, "in_transaction", False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _made_before_migrations(connection: Connection) -> bool:
    """Whether the unversioned database holds the first revision's schema (True) or none of
    its tables (False). Anything in between (some tables, other columns or indexes, as
    databases made before release aa6ee7d have) is refused rather than guessed at."""
    if not set(inspect(connection).get_table_names()) - {"alembic_version"}:
        return False  # empty: no need to build the first revision's shape to know
    expected = _first_revision_shape()
    found = _shape(connection, expected.keys())
    if not found:
        return False
    problems = [
        problem
        for table, want in sorted(expected.items())
        for problem in _differences(table, want, found.get(table))
    ]
    if problems:
        raise SchemaError(
            "the database has no alembic_version and is not the schema of release aa6ee7d, "
            f"so no revision can be assumed: {'; '.join(problems)}"
        )
    return True


# a table's column names, and its indexes as name -> columns
TableShape = tuple[frozenset[str], dict[str, tuple[str, ...]]]
Shape = dict[str, TableShape]


def _shape(connection: Connection, tables: Iterable[str]) -> Shape:
    inspector = inspect(connection)
    present = set(inspector.get_table_names())
    return {
        table: (
            frozenset(column["name"] for column in inspector.get_columns(table)),
            {
                str(index["name"]): tuple(str(c) for c in index["column_names"])
                for index in inspector.get_indexes(table)
                # PostgreSQL lists a unique constraint's index too; SQLite does not
                if not index.get("duplicates_constraint")
            },
        )
        for table in tables
        if table in present
    }


@cache
def _first_revision_shape() -> Shape:
    """The first revision's tables, columns and indexes, read from a scratch database that
    it built: names are the same on every backend."""
    scratch = create_engine("sqlite://", poolclass=StaticPool)
    try:
        with scratch.connect() as connection, connection.begin():
            command.upgrade(alembic_config(connection), FIRST_REVISION)
            tables = set(inspect(connection).get_table_names()) - {"alembic_version"}
            return _shape(connection, tables)
    finally:
        scratch.dispose()


def _differences(table: str, want: TableShape, got: TableShape | None) -> list[str]:
    if got is None:
        return [f"no table {table}"]
    (want_columns, want_indexes), (got_columns, got_indexes) = want, got
    problems = [f"{table} lacks column {c}" for c in sorted(want_columns - got_columns)]
    problems += [f"{table} has column {c}" for c in sorted(got_columns - want_columns)]
    problems += [
        f"{table} lacks index {name}{want_indexes[name]}"
        for name in sorted(want_indexes)
        if got_indexes.get(name) != want_indexes[name]
    ]
    problems += [
        f"{table} has index {name}{got_indexes[name]}"
        for name in sorted(got_indexes)
        if want_indexes.get(name) != got_indexes[name]
    ]
    return problems


def _check_known(script: ScriptDirectory, revision: str | None) -> None:
    if revision is None:
        return
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise SchemaError(
            f"the database is at revision {revision}, which this code does not know: "
            "was it upgraded by a newer release?"
        )
