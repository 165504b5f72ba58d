"""Writes release-aa6ee7d.sqlite.sql and release-aa6ee7d.postgres.sql beside this file: a
database made by release aa6ee7d (the last before Alembic owned the schema) with its history.

Run it with the release's own code, from a worktree of that commit:

    git worktree add /tmp/before aa6ee7d
    cd /tmp/before && /work/main/.venv/bin/python /work/main/tests/data/make_release_dumps.py

It builds each database with that release's `create_schema`, plays the golden scenario
(tests/golden/scenario.py) and then a burst of simulated reports through its services (a bad
record is dead-lettered, an API token issued, a report taken with an Idempotency-Key), relays
the outbox part-way through to a real embedded broker so that the outbox keeps only later ids,
and dumps: SQLite with sqlite3's iterdump, PostgreSQL with `pg_dump --no-owner --no-privileges`
(the server from $EVERYCALL_TEST_POSTGRES_URL, as in tests/conftest.py). Event ids and tokens
are random, so a rerun differs in those, not in shape.
"""

# The imports name modules of release aa6ee7d, which this checkout need not have; the import
# sorter would file them by which of them exist here.
# ruff: noqa: I001

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

RESTRICT = re.compile(r"\\(un)?restrict ")  # psql meta-commands of newer pg_dump
RELEASE = "aa6ee7d"
OUT = Path(__file__).resolve().parent
POSTGRES_ADMIN_URL = os.environ.get(
    "EVERYCALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BURST = 30


def release_worktree() -> Path:
    """The current directory, checked to be the release's worktree; its code goes first on the
    path (a script's own directory would otherwise be first)."""
    here = Path.cwd()
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, check=True
    ).stdout.strip()
    if not commit.startswith(RELEASE):
        sys.exit(f"run this from a worktree of {RELEASE}; {here} is at {commit[:7]}")
    sys.path.insert(0, str(here))
    import dispatch.db

    assert Path(dispatch.db.__file__).is_relative_to(here), dispatch.db.__file__
    return here


def play_history(database_url: str) -> None:
    """The release's services on `database_url`: the golden scenario, a relay, then more."""
    from dispatch import bootstrap
    from dispatch.auth import Caller, Role, issue_token
    from dispatch.intake import IncidentReport, accept_report
    from dispatch.outbox import relay
    from dispatch.routing import handle_incident_records
    from dispatch.settings import Settings
    from dispatch.simulation import finish_due_tasks, simulated_incidents
    from dispatch.sla import run_watchdog
    from dispatch.teams import list_teams
    from events import topics
    from events.kafka import Record
    from events.schemas import envelope_for
    from events.schemas.incidents import IncidentReported
    from models.clock import ManualClock
    from tests.golden.scenario import STEPS

    clock = ManualClock()
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=None)
    with bootstrap.running(settings, clock=clock) as services:
        for _, step in STEPS:
            step(services)
        relay(services.sessions, services.publisher)  # publishes, deletes, mirrors the log

        clock.advance(minutes=5)
        with services.reads() as session:
            teams = list_teams(session)
        burst = simulated_incidents(teams, BURST, clock.now(), seed=11, run="release")
        records = [
            Record(
                topics.INCIDENTS,
                0,
                100 + n,
                incident.partition_key.encode(),
                envelope_for(
                    IncidentReported(**incident.model_dump()),
                    producer="call-centre",
                    key=incident.partition_key,
                    at=clock.now(),
                ).to_bytes(),
            )
            for n, incident in enumerate(burst)
        ]
        records.append(Record(topics.INCIDENTS, 0, 100 + BURST, b"wuhan", b"not json"))
        handle_incident_records(services, records)
        clock.advance(minutes=3)
        run_watchdog(services)
        clock.advance(minutes=20)
        finish_due_tasks(services, work=timedelta(minutes=15))
        handle_incident_records(services, [])  # the queue moves up
        run_watchdog(services)
        with services.sessions.begin() as session:
            issue_token(session, Role.DISPATCHER, name="night shift", at=clock.now())
        report = IncidentReport(kind="repair", latitude=30.59, longitude=114.30, address="Hankou")
        accept_report(services, report, Caller(Role.DISPATCHER, name="dispatcher:wang"), "key-1")


def dump_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as db:
        text = "\n".join(db.iterdump()) + "\n"
    (OUT / f"release-{RELEASE}.sqlite.sql").write_text(text, encoding="utf-8")


def dump_postgres(url: str) -> None:
    libpq_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    done = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "--dbname", libpq_url],
        capture_output=True,
        text=True,
        check=True,
    )
    # pg_dump 15.14 and later fence the dump with \restrict lines, which an older psql cannot
    # read; the dump is a trusted fixture, so it goes without them.
    lines = [line for line in done.stdout.splitlines(keepends=True) if not RESTRICT.match(line)]
    (OUT / f"release-{RELEASE}.postgres.sql").write_text("".join(lines), encoding="utf-8")


def postgres_database() -> tuple[str, str]:
    from sqlalchemy import create_engine, text

    name = f"everycall_release_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    release_worktree()
    with tempfile.TemporaryDirectory() as tmp:
        # the release's Prefect defaults point into the worktree: keep them out of it
        os.environ["PREFECT_HOME"] = str(Path(tmp) / "prefect")
        path = Path(tmp) / "release.db"
        play_history(f"sqlite:///{path}")
        dump_sqlite(path)
    url, name = postgres_database()
    try:
        play_history(url)
        dump_postgres(url)
    finally:
        drop_postgres_database(name)
    for backend in ("sqlite", "postgres"):
        dump = OUT / f"release-{RELEASE}.{backend}.sql"
        print(f"{dump}: {dump.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
