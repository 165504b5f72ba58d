"""The seeded registry in both languages survives the database, a replay of its log, and an
export and import through the database: every field of every team comes back equal. Every test
runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from dispatch.adapters.orm import TeamRow, create_schema, make_engine
from dispatch.adapters.registry_files import export_teams, load_teams
from dispatch.audit.replay import replay
from dispatch.service_layer.registry import list_teams, replace_registry
from models.hubei import hubei_registry

AT = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    made = make_engine(database_url)
    create_schema(made)
    yield made
    made.dispose()


def _seeded(engine: Engine) -> sessionmaker[Session]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions.begin() as session:
        replace_registry(session, hubei_registry(), AT)
    return sessions


def test_seeded_teams_read_back_from_the_database_with_every_field(engine: Engine) -> None:
    sessions = _seeded(engine)
    with sessions() as session:
        stored = list_teams(session)
    expected = sorted(hubei_registry(), key=lambda t: t.id)
    assert [t.model_dump() for t in stored] == [t.model_dump() for t in expected]
    guangman = next(t for t in stored if t.id == "HB-SZ-001")
    assert (guangman.name, guangman.name_en) == ("光满服务队", "Guangman Service Team")
    assert guangman.roles[0].role == "队长" and len(guangman.grid_cells) == guangman.members


def test_a_replay_of_the_log_rebuilds_both_languages(engine: Engine) -> None:
    _seeded(engine)
    target = create_engine("sqlite://", poolclass=StaticPool)
    with engine.connect() as live, live.begin():
        result = replay(live, target)
    assert result.identical, result.differences[:3]
    with Session(target) as session:
        row = session.scalars(select(TeamRow).where(TeamRow.id == "HB-WH-003")).one()
        assert (row.name, row.name_en) == (
            "“知音”共产党员服务队",
            '"Zhiyin" (Kindred Spirit) Party-Member Service Team',
        )
        assert row.branch == "国网武汉供电公司第3党支部" and row.intro_en


@pytest.mark.parametrize("suffix", [".csv", ".json"])
def test_teams_exported_from_the_database_import_back_equal(
    engine: Engine, tmp_path: Path, suffix: str
) -> None:
    sessions = _seeded(engine)
    with sessions() as session:
        stored = list_teams(session)
    path = tmp_path / f"teams{suffix}"
    export_teams(stored, path)
    loaded = load_teams(path)
    with sessions.begin() as session:
        replace_registry(session, loaded, AT)
    with sessions() as session:
        again = list_teams(session)
    assert [t.model_dump() for t in again] == [t.model_dump() for t in stored]
