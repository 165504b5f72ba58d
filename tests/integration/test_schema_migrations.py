"""Alembic owns the schema. An upgrade from nothing gives the ORM's schema with the log's head
row and guards; a database made by release aa6ee7d (tests/data, made by
make_release_dumps.py) is stamped, upgraded and keeps its history; repeating or racing an
upgrade is harmless. Every test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool

from dispatch.adapters.orm import Base, make_engine
from dispatch.adapters.schema_migrations import (
    FIRST_REVISION,
    SchemaError,
    Upgrade,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from dispatch.audit.replay import replay
from dispatch.audit.verify import verify_log
from events.log import LogBase

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
RELEASE = "aa6ee7d"
GENESIS_HASH = "0" * 64


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """The engine the application uses (on SQLite: WAL, BEGIN IMMEDIATE)."""
    made = make_engine(database_url)
    yield made
    made.dispose()


# tables that came after migrations: a database made by create_all before them lacks them
ADDED_BY_MIGRATIONS = frozenset(
    {"users", "web_sessions", "households"}  # people, and the hardship register
    | {"task_notices", "member_duty", "push_subscriptions", "log_cursors"}  # the notifier
    | {"sms_references", "sms_replies", "notification_deliveries"}
    | {"team_stories"}  # the teams' service stories, on their public pages
    | {"rate_limit_buckets"}  # rate limits shared by API processes
    | {"duty_shifts", "storm_modes"}  # the duty roster and storm mode
)
COLUMNS_ADDED_BY_MIGRATIONS = [("idempotency_keys", "answer")]  # a task move's first answer
COLUMNS_ADDED_BY_MIGRATIONS += [  # a team's record in both languages
    ("teams", column)
    for column in (
        *("name_en", "leader_en", "roles", "grid_cells"),
        *("branch", "branch_en", "intro", "intro_en"),
    )
]
COLUMNS_ADDED_BY_MIGRATIONS += [("incidents", "lead_id")]  # a support task's lead incident
INDEXES_ADDED_BY_MIGRATIONS = ["ix_incidents_lead_id"]  # dropped before their columns


def orm_metadata() -> MetaData:
    """The state tables and the event log's tables in one MetaData, as one database holds them."""
    combined = MetaData()
    for metadata in (Base.metadata, LogBase.metadata):
        for table in metadata.tables.values():
            table.to_metadata(combined)
    return combined


def schema_differences(engine: Engine) -> list[Any]:
    """What autogenerate would change to make the database match the ORM: tables, columns,
    types, nullability, indexes, unique constraints, and server defaults (the ORM declares
    none; a serial key's nextval is known for what it is). Nothing is ignored. It does not
    compare AUTOINCREMENT, triggers or rows: other tests check those by what they do."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, orm_metadata()))


def stage_outbox_row(engine: Engine, topic: str = "schema-test") -> int:
    """Stage a row as the outbox does (the id is the database's to choose); returns its id."""
    with engine.begin() as connection:
        return int(
            connection.execute(
                text(
                    'INSERT INTO outbox (topic, "key", value, created_at) '
                    "VALUES (:topic, 'k', :value, :at) RETURNING id"
                ),
                {"topic": topic, "value": b"{}", "at": datetime.now(UTC).replace(tzinfo=None)},
            ).scalar_one()
        )


def drain_outbox(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM outbox"))


def outbox_rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        query = 'SELECT id, topic, "key", value, created_at FROM outbox ORDER BY id'
        return [tuple(row) for row in connection.execute(text(query))]


def load_release_dump(engine: Engine) -> None:
    """The release's dump into the (empty) database, with that backend's own loader."""
    if engine.dialect.name == "sqlite":
        dump = (DATA / f"release-{RELEASE}.sqlite.sql").read_text(encoding="utf-8")
        with closing(sqlite3.connect(str(engine.url.database))) as db:
            db.executescript(dump)
        return
    libpq_url = make_url(engine.url).set(drivername="postgresql")
    loaded = subprocess.run(
        [
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--set",
            "ON_ERROR_STOP=1",
            "--dbname",
            libpq_url.render_as_string(hide_password=False),
            "--file",
            str(DATA / f"release-{RELEASE}.postgres.sql"),
        ],
        capture_output=True,
        text=True,
    )
    assert loaded.returncode == 0, loaded.stderr


@pytest.fixture
def release_database(engine: Engine) -> Engine:
    """A database as release aa6ee7d left it, with its history; not yet upgraded."""
    load_release_dump(engine)
    assert current_revision(engine) is None
    return engine


def test_upgrade_from_empty_gives_the_schema_of_the_orm(engine: Engine) -> None:
    assert upgrade(engine) == Upgrade(before=None, after=head_revision(), stamped=False)
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []


def test_upgrade_from_empty_creates_the_log_head_and_guards_that_refuse_changing_history(
    engine: Engine,
) -> None:
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id, seq, hash FROM event_log_head")).all() == [
            (1, 0, GENESIS_HASH)
        ]
        assert connection.execute(text("SELECT topic, seq FROM event_log_published")).all() == [
            ("everycall.audit", 0)
        ]
        verdict = verify_log(connection)
    assert verdict.ok and verdict.entries == 0, verdict.finding
    with engine.begin() as connection:
        connection.execute(
            text(
                'INSERT INTO event_log (seq, event_id, type, version, occurred_at, "key", '
                "subject, envelope, prev_hash, hash) VALUES (1, 'e-1', 'incident.reported', 1, "
                ":at, 'wuhan', 'i-1', '{}', :genesis, :genesis)"
            ),
            {"at": datetime.now(UTC).replace(tzinfo=None), "genesis": GENESIS_HASH},
        )
        connection.execute(text("UPDATE event_log_head SET seq = 1"))
    refused = {
        "UPDATE event_log SET envelope = '{\"tampered\": true}' WHERE seq = 1": "append-only",
        "DELETE FROM event_log WHERE seq = 1": "append-only",
        "UPDATE event_log_head SET seq = 0": "only moves forward",
        "DELETE FROM event_log_head": "only moves forward",
    }
    for statement, reason in refused.items():
        with pytest.raises(DBAPIError, match=reason), engine.begin() as connection:
            connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT seq, envelope FROM event_log")).all() == [(1, "{}")]


def test_a_second_upgrade_finds_the_head_and_changes_nothing(engine: Engine) -> None:
    upgrade(engine)
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    again = upgrade(engine)
    event.remove(engine, "before_cursor_execute", record)
    assert again == Upgrade(before=head_revision(), after=head_revision(), stamped=False)
    assert not again.changed
    writes = ("CREATE", "ALTER", "DROP", "INSERT", "UPDATE", "DELETE")
    assert [s for s in statements if s.lstrip().upper().startswith(writes)] == []


def test_upgraded_outbox_hands_out_no_id_twice_once_it_has_drained(engine: Engine) -> None:
    upgrade(engine)
    used = [stage_outbox_row(engine) for _ in range(3)]
    drain_outbox(engine)  # as a relay does once it has published everything
    assert stage_outbox_row(engine) > max(used)


def test_release_database_is_stamped_then_upgraded_to_the_schema_of_the_orm(
    release_database: Engine,
) -> None:
    assert upgrade(release_database) == Upgrade(before=None, after=head_revision(), stamped=True)
    assert current_revision(release_database) == head_revision()
    assert schema_differences(release_database) == []
    assert not upgrade(release_database).changed


def test_release_history_still_verifies_and_replays_identically_after_upgrade(
    release_database: Engine,
) -> None:
    with release_database.connect() as connection:
        before = verify_log(connection)
    assert before.ok and before.entries > 200, before.finding
    upgrade(release_database)
    with release_database.connect() as connection:
        after = verify_log(connection)
    assert after.ok, after.finding
    assert (after.entries, after.last, after.head) == (before.entries, before.last, before.head)
    target = create_engine("sqlite://", poolclass=StaticPool)
    with release_database.connect() as live, live.begin():
        result = replay(live, target)
    assert result.identical, (result.differences[:5], result.board.unprojected)
    assert result.written["incidents"] > 30  # the scenario and a burst after it


def test_release_outbox_keeps_its_rows_and_never_repeats_an_id_after_upgrade(
    release_database: Engine,
) -> None:
    kept = outbox_rows(release_database)
    assert kept, "the release's outbox held rows the relay had not published yet"
    upgrade(release_database)
    assert outbox_rows(release_database) == kept
    staged = stage_outbox_row(release_database)
    assert staged > max(row[0] for row in kept)
    drain_outbox(release_database)
    assert stage_outbox_row(release_database) > staged


def test_database_made_by_create_all_since_the_outbox_fix_still_never_repeats_an_id(
    engine: Engine,
) -> None:
    """create_all has made the outbox with AUTOINCREMENT since the fix: its count of ids
    handed out, higher than any id left once the relay drained, survives the rebuild."""
    metadata = orm_metadata()
    metadata.create_all(
        engine, tables=[t for t in metadata.sorted_tables if t.name not in ADDED_BY_MIGRATIONS]
    )
    with engine.begin() as connection:
        for index in INDEXES_ADDED_BY_MIGRATIONS:
            connection.execute(text(f"DROP INDEX {index}"))
        for table, column in COLUMNS_ADDED_BY_MIGRATIONS:
            connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
    used = [stage_outbox_row(engine) for _ in range(3)]
    drain_outbox(engine)
    assert upgrade(engine).stamped
    assert stage_outbox_row(engine) > max(used)


def sqlite_table_ddl(engine: Engine, table: str) -> str | None:
    """The CREATE TABLE that SQLite keeps for `table` (None on other backends)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        query = text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name")
        return str(connection.execute(query, {"name": table}).scalar_one())


def test_downgrade_to_the_release_gives_back_its_outbox_with_the_rows_and_upgrade_returns(
    release_database: Engine,
) -> None:
    release_outbox = sqlite_table_ddl(release_database, "outbox")
    upgrade(release_database)
    kept = outbox_rows(release_database)
    with release_database.connect() as connection, connection.begin():
        command.downgrade(alembic_config(connection), FIRST_REVISION)
    assert current_revision(release_database) == FIRST_REVISION
    assert sqlite_table_ddl(release_database, "outbox") == release_outbox
    assert outbox_rows(release_database) == kept
    assert upgrade(release_database) == Upgrade(FIRST_REVISION, head_revision(), stamped=False)
    assert schema_differences(release_database) == []


def test_downgrade_to_nothing_leaves_no_table_but_alembic_version(engine: Engine) -> None:
    upgrade(engine)
    with engine.connect() as connection, connection.begin():
        command.downgrade(alembic_config(connection), "base")
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == ["alembic_version"]
    assert upgrade(engine).after == head_revision()


def test_a_database_with_some_tables_and_no_version_is_refused_and_left_as_it_was(
    engine: Engine,
) -> None:
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE teams (id VARCHAR(64) PRIMARY KEY)"))
    with pytest.raises(SchemaError, match="no table api_tokens; no table assignments;") as refused:
        upgrade(engine)
    assert "teams lacks column name" in str(refused.value)
    with engine.connect() as connection:
        assert inspect(connection).get_table_names() == ["teams"]


def test_a_database_with_the_place_index_of_before_the_release_is_refused(
    release_database: Engine,
) -> None:
    """Before the release, storm grouping's index had no kind in it; create_all never
    replaced an index, so such a database is not the first revision's schema."""
    with release_database.begin() as connection:
        connection.execute(text("DROP INDEX ix_incidents_kind_place"))
        connection.execute(
            text("CREATE INDEX ix_incidents_place ON incidents (latitude, longitude)")
        )
    with pytest.raises(SchemaError) as refused:
        upgrade(release_database)
    assert str(refused.value).endswith(
        "incidents lacks index ix_incidents_kind_place('kind', 'latitude', 'longitude'); "
        "incidents has index ix_incidents_place('latitude', 'longitude')"
    )
    assert current_revision(release_database) is None


def test_a_database_at_a_revision_this_code_does_not_know_is_refused(engine: Engine) -> None:
    upgrade(engine)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'ffffffffffff'"))
    with pytest.raises(SchemaError, match="revision ffffffffffff, which this code does not"):
        upgrade(engine)


RACER = """
import sys, time
from pathlib import Path
from sqlalchemy import create_engine
from dispatch.adapters.schema_migrations import upgrade
url, ready, go = sys.argv[1:]
engine = create_engine(url)  # a plain engine: upgrade takes the lock itself
with engine.connect():
    pass
Path(ready).touch()
while not Path(go).exists():
    time.sleep(0.001)
print(upgrade(engine).before)
"""


@pytest.mark.timeout(120)
def test_processes_upgrading_one_empty_database_at_once_all_succeed_one_does_the_work(
    database_url: str, engine: Engine, tmp_path: Path
) -> None:
    """They start together (each waits for one signal, connected already); one runs the
    revisions, the others wait for it and then find the head."""
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, database_url, str(tmp_path / f"ready-{n}"), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(3)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in range(len(racers))):
        assert time.monotonic() < deadline, "the racers did not start"
        assert all(racer.poll() is None for racer in racers), [r.communicate() for r in racers]
        time.sleep(0.01)
    go.touch()
    outcomes = [racer.communicate(timeout=60) for racer in racers]
    assert [racer.returncode for racer in racers] == [0, 0, 0], outcomes
    befores = sorted(out.strip() for out, _ in outcomes)
    assert befores == sorted(["None", head_revision(), head_revision()]), outcomes
    assert current_revision(engine) == head_revision()
    assert schema_differences(engine) == []
