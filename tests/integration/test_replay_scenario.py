"""Replay equals live after every command of the scripted scenario, on SQLite and PostgreSQL;
the Kafka mirror of the log replays to the same state; `until` rebuilds an earlier board."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, create_engine, select
from sqlalchemy.pool import StaticPool
from typer.testing import CliRunner

from dispatch.adapters.orm import make_engine
from dispatch.adapters.outbox import publish_log_tail, relay
from dispatch.audit.replay import ReplayResult, kafka_entries, replay
from dispatch.audit.source import open_read_only
from dispatch.audit.verify import read_head
from dispatch.entrypoints.cli.main import app
from dispatch.service_layer.folds import PROJECTORS
from dispatch.service_layer.services import Services
from events.log import LoggedEvent
from tests.conftest import drop_postgres_database, fresh_postgres_database
from tests.golden.scenario import STEPS


def in_memory() -> Engine:
    return create_engine("sqlite://", poolclass=StaticPool)


def replay_live(services: Services, **options: object) -> ReplayResult:
    return replay_live_into(services, in_memory(), **options)


def replay_live_into(services: Services, target: Engine, **options: object) -> ReplayResult:
    auditor = open_read_only(services.settings.database_url)
    try:
        with auditor.connect() as live, live.begin():
            return replay(live, target, **options)  # type: ignore[arg-type]
    finally:
        auditor.dispose()


def test_replay_equals_live_after_every_command(services: Services) -> None:
    for name, step in STEPS:
        step(services)
        result = replay_live(services)
        assert result.compared and not result.board.unprojected, name
        assert result.differences == [], f"after {name!r}: {result.differences[:5]}"
    assert result.written["incidents"] == 10  # 8 reports and 2 support tasks
    with services.reads() as session:
        logged = set(session.scalars(select(LoggedEvent.type).distinct()))
    assert logged == set(PROJECTORS), "the scenario exercises every projector"


def test_replay_from_the_kafka_audit_topic_equals_live(services: Services) -> None:
    for _, step in STEPS:
        step(services)
    relay(services.sessions, services.publisher)
    auditor = open_read_only(services.settings.database_url)
    with auditor.connect() as live, live.begin():
        head = read_head(live)
        assert head is not None and head.seq > 30
        entries = kafka_entries(services.bootstrap_servers, head)
        result = replay(live, in_memory(), entries=entries)
    auditor.dispose()
    assert [e.seq for e in entries] == list(range(1, head.seq + 1))
    assert result.identical, result.differences[:5]


def test_relay_mirrors_only_new_entries_each_time(services: Services) -> None:
    STEPS[0][1](services)
    relay(services.sessions, services.publisher)
    STEPS[1][1](services)
    assert publish_log_tail(services.sessions, services.publisher, limit=5) == 5  # a share
    relay(services.sessions, services.publisher)
    relay(services.sessions, services.publisher)
    auditor = open_read_only(services.settings.database_url)
    with auditor.connect() as live, live.begin():
        head = read_head(live)
        assert head is not None
        entries = kafka_entries(services.bootstrap_servers, head)
    auditor.dispose()
    assert [e.seq for e in entries] == list(range(1, head.seq + 1))


def test_until_rebuilds_the_board_as_it_was(services: Services) -> None:
    start = services.clock.now()
    for _, step in STEPS:
        step(services)
    earlier = replay_live(services, until=start + timedelta(minutes=1))
    assert not earlier.compared
    incidents = earlier.board.rows("incidents")
    # the burst at 08:01 only (its disaster-relief call with a support task), and what was
    # done at 08:01
    assert len(incidents) == 6
    assert {i["state"] for i in incidents.values()} == {"assigned", "acknowledged", "queued"}
    teams = earlier.board.rows("teams")
    assert "T-NORTH" in teams and "T-SOUTH" not in teams


def test_cli_replays_from_kafka_and_says_when_the_mirror_is_behind(
    services: Services, tmp_path: Path
) -> None:
    for _, step in STEPS[:3]:
        step(services)
    source = ("--database-url", services.settings.database_url)
    kafka = ("--from-kafka", "--bootstrap-servers", services.bootstrap_servers)
    behind = CliRunner().invoke(
        app, ["audit", "replay", "--into", f"sqlite:///{tmp_path / 'a.db'}", *kafka, *source]
    )
    assert behind.exit_code == 1 and "first missing: seq 1" in behind.output
    relay(services.sessions, services.publisher)
    done = CliRunner().invoke(
        app, ["audit", "replay", "--into", f"sqlite:///{tmp_path / 'b.db'}", *kafka, *source]
    )
    assert done.exit_code == 0, done.output
    assert "from the everycall.audit topic" in done.output and "identical" in done.output


def test_replay_into_postgresql_equals_live(services: Services, postgres_admin_url: str) -> None:
    for _, step in STEPS:
        step(services)
    url, name = fresh_postgres_database(postgres_admin_url)
    target = make_engine(url)
    try:
        result = replay_live_into(services, target)
        assert result.identical, result.differences[:5]
    finally:
        target.dispose()
        drop_postgres_database(postgres_admin_url, name)
