"""The board as it was at a moment: the log replayed up to then into an in-memory SQLite."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, inspect, select
from sqlalchemy.pool import StaticPool

from dispatch.adapters.orm import Base
from dispatch.audit.replay import ReplayResult, replay

CLOSED_STATES = ("resolved", "cancelled", "merged")


@dataclass
class BoardAt:
    moment: datetime
    replay: ReplayResult
    open_incidents: list[dict[str, Any]] = field(default_factory=list)
    busy_teams: list[dict[str, Any]] = field(default_factory=list)
    running_clocks: list[dict[str, Any]] = field(default_factory=list)


def in_memory_engine() -> Engine:
    return create_engine("sqlite://", poolclass=StaticPool)


def board_at(live: Connection, moment: datetime) -> BoardAt:
    """Replay the events that occurred up to `moment` and read the board off the result."""
    engine = in_memory_engine()
    result = replay(live, engine, until=moment)
    board = BoardAt(moment, result)
    tables = Base.metadata.tables
    with engine.connect() as connection:
        incidents = tables["incidents"]
        board.open_incidents = [
            dict(r)
            for r in connection.execute(
                select(incidents)
                .where(incidents.c.state.not_in(CLOSED_STATES))
                .order_by(incidents.c.reported_at, incidents.c.id)
            ).mappings()
        ]
        teams = tables["teams"]
        board.busy_teams = [
            dict(r)
            for r in connection.execute(
                select(teams).where(teams.c.active_tasks > 0).order_by(teams.c.id)
            ).mappings()
        ]
        if "sla_clocks" in tables and inspect(connection).has_table("sla_clocks"):
            clocks = tables["sla_clocks"]
            board.running_clocks = [
                dict(r)
                for r in connection.execute(
                    select(clocks)
                    .where(clocks.c.state == "running")
                    .order_by(clocks.c.deadline, clocks.c.incident_id)
                ).mappings()
            ]
    engine.dispose()
    return board
