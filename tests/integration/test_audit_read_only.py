"""The auditor needs only read access: every audit command works through a connection that
cannot write (SQLite opened `mode=ro`; on PostgreSQL a role with nothing but SELECT)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from dispatch import bootstrap
from dispatch.audit.source import open_read_only
from dispatch.config import Settings
from dispatch.entrypoints.cli.main import app
from models.clock import ManualClock
from tests.golden.scenario import STEPS


@pytest.fixture
def auditor_url(database_url: str) -> Iterator[str]:
    """The scenario's database, and a URL for it that carries read rights only."""
    with bootstrap.database(Settings(database_url=database_url), clock=ManualClock()) as services:
        for _, step in STEPS:
            step(services)
    if not database_url.startswith("postgresql"):
        yield database_url
        return
    role = f"auditor_{uuid.uuid4().hex[:8]}"
    owner = create_engine(database_url, isolation_level="AUTOCOMMIT")
    database = make_url(database_url).database
    with owner.connect() as c:
        c.execute(text(f"CREATE ROLE {role} LOGIN"))
        c.execute(text(f'GRANT CONNECT ON DATABASE "{database}" TO {role}'))
        c.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        c.execute(text(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}"))
    try:
        yield make_url(database_url).set(username=role).render_as_string(hide_password=False)
    finally:
        with owner.connect() as c:
            c.execute(text(f"DROP OWNED BY {role}"))
        owner.dispose()
        admin = create_engine(database_url.rsplit("/", 1)[0] + "/postgres")
        with admin.connect() as c:
            c.execute(text(f"DROP ROLE IF EXISTS {role}"))
            c.commit()
        admin.dispose()


def audit(*args: str) -> str:
    result = CliRunner().invoke(app, ["audit", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_the_auditor_connection_cannot_write(auditor_url: str) -> None:
    engine = open_read_only(auditor_url)
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("DELETE FROM outbox"))
    engine.dispose()


def test_every_audit_command_works_with_read_access_only(auditor_url: str, tmp_path: Path) -> None:
    source = ("--database-url", auditor_url)
    head = audit("digest", *source).strip()
    assert audit("verify", "--digest", head, *source).startswith("OK ")
    replayed = audit("replay", "--into", f"sqlite:///{tmp_path / 'replay.db'}", *source)
    assert "identical" in replayed
    board = audit("state", "--at", "2026-07-01T08:01:00Z", *source)
    assert "open incidents: 6" in board  # the burst: five calls, one with a support task
    story = audit("timeline", "gold-008", *source)
    assert "incident.merged" in story and "incident.unlinked" in story
    audit("export", "--format", "jsonl", "--out", str(tmp_path / "log.jsonl"), *source)
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert len(lines) == int(head.split(":")[0]) and json.loads(lines[-1])["hash"] in head
    audit("export", "--format", "csv", "--out", str(tmp_path / "log.csv"), *source)
    assert (tmp_path / "log.csv").read_text().startswith("seq,occurred_at,type")
