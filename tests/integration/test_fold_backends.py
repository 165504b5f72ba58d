"""The live backends of the folds, on every database: the session's rows (LiveRows) and a
routing batch written in bulk (BatchRows). The same events folded through either leave the same
rows as replay's in-memory board, and a batch writes only the columns its events changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.orm import (
    AssignmentRow,
    Base,
    IncidentRow,
    SlaClockRow,
    TeamRow,
    create_schema,
    make_engine,
    session_factory,
)
from dispatch.service_layer import folds
from dispatch.service_layer.batch_rows import BatchRows
from dispatch.service_layer.clocks import ClockValues, snapshot
from dispatch.service_layer.live_rows import LiveRows
from dispatch.service_layer.state import Board, clock_row, moment
from events.envelope import Envelope
from events.log import UtcDateTime
from events.schemas import EventPayload, envelope_for
from events.schemas.incidents import IncidentReported
from events.schemas.tasks import SlaClocksStarted, TaskAcknowledged, TeamAssigned
from events.schemas.teams import TeamLocated, TeamRegistered
from models.incident import Incident, IncidentKind
from models.sla import ClockKind, SlaClock
from models.team import GeoPoint, Team

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine: Engine = make_engine(database_url)
    create_schema(engine)
    yield session_factory(engine)
    engine.dispose()


def _envelope(payload: EventPayload, at: datetime) -> Envelope:
    return envelope_for(payload, producer="test", key="wuhan", at=at)


def _team(team_id: str, name: str) -> Team:
    return Team(
        id=team_id,
        name=name,
        region="wuhan",
        home=GeoPoint(latitude=30.6, longitude=114.3),
        members=5,
        party_members=4,
        capacity=2,
    )


def _events() -> list[Envelope]:
    """A team registered and located; a report, its clocks, its assignment, its acknowledgement."""
    team = _team("t1", "光满服务队")
    incident = Incident(
        id="inc-1",
        kind=IncidentKind.REPAIR,
        latitude=30.61,
        longitude=114.31,
        region="wuhan",
        reported_at=T0,
    )
    assigned_at, acked_at = T0 + timedelta(seconds=30), T0 + timedelta(minutes=2)
    ack = SlaClock(ClockKind.ACKNOWLEDGE, assigned_at, timedelta(minutes=5))
    started = ClockValues.of("inc-1", ack, attempt=1, team_id="t1")
    met = ClockValues.of("inc-1", ack.close(acked_at, ack.state.MET), attempt=1, team_id="t1")
    return [
        _envelope(TeamRegistered(**team.model_dump()), T0),
        _envelope(TeamLocated(team_id="t1", latitude=30.62, longitude=114.32, located_at=T0), T0),
        _envelope(IncidentReported(**incident.model_dump()), T0),
        _envelope(
            SlaClocksStarted(
                incident_id="inc-1",
                actor="dispatcher",
                state="assigned",
                clocks=[snapshot(started)],
            ),
            assigned_at,
        ),
        _envelope(
            TeamAssigned(
                incident_id="inc-1",
                team_id="t1",
                assigned_at=assigned_at,
                distance_km=1.4,
                rule="nearest",
                explanation=[],
            ),
            assigned_at,
        ),
        _envelope(
            TaskAcknowledged(
                incident_id="inc-1",
                actor="team:t1",
                state="acknowledged",
                clocks=[snapshot(met)],
                team_id="t1",
                acknowledged_at=acked_at,
            ),
            acked_at,
        ),
    ]


def _stored(sessions: sessionmaker[Session]) -> dict[str, list[dict[str, Any]]]:
    """Every folded table's rows as the database gives them back, without surrogate ids."""
    found: dict[str, list[dict[str, Any]]] = {}
    with sessions() as session:
        for model in (TeamRow, IncidentRow, SlaClockRow, AssignmentRow):
            table = model.__table__
            columns = [c for c in table.columns if not (c.primary_key and c.autoincrement is True)]
            rows = session.execute(select(*columns)).mappings().all()
            found[table.name] = sorted((dict(r) for r in rows), key=repr)
    return found


def _replayed(events: list[Envelope]) -> dict[str, list[dict[str, Any]]]:
    """The same tables as replay folds them in memory, times as the database returns them."""
    board = Board()
    folds.apply(board, events)
    tables = {
        "teams": list(board.keyed["teams"].values()),
        "incidents": list(board.keyed["incidents"].values()),
        "sla_clocks": [clock_row(kept) for kept in board.keyed["sla_clocks"].values()],
        "assignments": board.appended["assignments"],
    }
    return {
        name: sorted(
            ({k: moment(v) if k in _times(name) else v for k, v in row.items()} for row in rows),
            key=repr,
        )
        for name, rows in tables.items()
    }


def _times(table: str) -> set[str]:
    columns = Base.metadata.tables[table].columns
    return {c.name for c in columns if isinstance(c.type, UtcDateTime)}


def test_the_session_rows_hold_what_replay_folds(sessions: sessionmaker[Session]) -> None:
    events = _events()
    with sessions.begin() as session:
        rows = LiveRows(session)
        for envelope in events:  # one command after another, as the lifecycle runs them
            folds.apply(rows, [envelope])
            rows.flush()
    live = _stored(sessions)
    assert live == _replayed(events)
    (team,) = live["teams"]
    assert (team["fix_lat"], team["active_tasks"]) == (30.62, 1)
    (incident,) = live["incidents"]
    assert incident["state"] == "acknowledged"
    assert incident["acknowledged_at"] == T0 + timedelta(minutes=2)
    (clock,) = live["sla_clocks"]
    assert (clock["state"], clock["next_due_at"]) == ("met", None)


def test_a_batch_writes_what_replay_folds_and_only_the_rows_its_events_changed(
    sessions: sessionmaker[Session],
) -> None:
    events = _events()
    idle = _team("t2", "林丽服务队")
    with sessions.begin() as session:
        rows = LiveRows(session)
        folds.apply(rows, [*events[:3], _envelope(TeamRegistered(**idle.model_dump()), T0)])
        rows.flush()
    written: list[tuple[str, Any]] = []
    with sessions.begin() as session:
        batch = BatchRows(session)
        teams = session.scalars(select(TeamRow)).all()
        batch.load("teams", [{"id": t.id, "active_tasks": t.active_tasks} for t in teams])
        incident = session.get(IncidentRow, "inc-1")
        assert incident is not None
        columns = ("id", "state", "team_id", "assigned_at", "waiting_since")
        batch.load("incidents", [{c: getattr(incident, c) for c in columns}])
        folds.apply(batch, events[3:5])  # the clock starts, t1 takes the task
        listen = event.listens_for(session.connection(), "before_cursor_execute")
        listen(lambda _c, _cur, statement, params, _ctx, _many: written.append((statement, params)))
        batch.flush()
        first = len(written)
        batch.flush()  # nothing changed since: nothing written
        assert len(written) == first
    updates = [(s, p) for s, p in written if s.lstrip().upper().startswith("UPDATE")]
    assert "t2" not in repr(updates), "the idle team's row was written"
    assert {s.split()[1].strip('"') for s, _ in updates} == {"incidents", "teams"}
    stored = _stored(sessions)
    assert {t["id"]: t["active_tasks"] for t in stored["teams"]} == {"t1": 1, "t2": 0}
    (incident_after,) = stored["incidents"]
    assert (incident_after["state"], incident_after["team_id"]) == ("assigned", "t1")
    assert incident_after["waiting_since"] is None
    expected = _replayed(events[:5])
    assert stored["sla_clocks"] == expected["sla_clocks"]
    assert stored["assignments"] == expected["assignments"]
