"""The board as it was at a moment: the log replayed up to then into an in-memory SQLite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, func, inspect, select
from sqlalchemy.pool import StaticPool

from dispatch.adapters.orm import Base
from dispatch.audit.replay import ReplayResult, replay
from dispatch.audit.verify import read_head
from events.log import EVENT_LOG

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


def events_until(live: Connection, moment: datetime) -> int:
    """How many events a replay up to `moment` folds: those before the first that occurred
    later (the log's seq is gapless from 1), found by the index on the time."""
    later = live.execute(
        select(func.min(EVENT_LOG.c.seq)).where(EVENT_LOG.c.occurred_at > moment)
    ).scalar()
    if later is not None:
        return int(later) - 1
    head = read_head(live)
    return head.seq if head is not None else 0


def board_at(
    live: Connection, moment: datetime, on_progress: Callable[[int], None] | None = None
) -> BoardAt:
    """Replay the events that occurred up to `moment` and read the board off the result
    (`on_progress` hears how many events have been folded, and may raise to stop)."""
    engine = in_memory_engine()
    try:
        result = replay(live, engine, until=moment, on_progress=on_progress)
        return _read_board(engine, moment, result)
    finally:
        engine.dispose()


def _read_board(engine: Engine, moment: datetime, result: ReplayResult) -> BoardAt:
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
    return board
