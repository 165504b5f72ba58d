"""The folds of the storm day's events (events/schemas/storm.py): shifts into `duty_shifts`,
storm mode into `storm_modes`. folds.py registers them with the others (this module does not
import it: no cycle)."""

from __future__ import annotations

import json
from collections.abc import Callable

from dispatch.service_layer.state import Event, State

Projector = Callable[[State, Event], None]
STORM_PROJECTORS: dict[str, Projector] = {}


def projects(*event_types: str) -> Callable[[Projector], Projector]:
    def register(projector: Projector) -> Projector:
        for event_type in event_types:
            STORM_PROJECTORS[event_type] = projector
        return projector

    return register


def shift_key(team_id: str, starts_at: str) -> str:
    """A shift's row id: its team and start, so a shift imported again is one row."""
    return f"{team_id}@{starts_at}"


@projects("roster.shifts_imported")
def shifts_imported(board: State, event: Event) -> None:
    p = event.payload
    shifts = board.rows("duty_shifts")
    for s in p["shifts"]:
        key = shift_key(s["team_id"], s["starts_at"])
        if key in shifts:
            shifts[key].update(ends_at=s["ends_at"], imported_by=p["actor"])
        else:
            shifts[key] = board.new_row(
                "duty_shifts",
                id=key,
                team_id=s["team_id"],
                starts_at=s["starts_at"],
                ends_at=s["ends_at"],
                imported_by=p["actor"],
            )


@projects("storm.declared")
def storm_declared(board: State, event: Event) -> None:
    p = event.payload
    values = {
        "active": True,
        "reason": p["reason"],
        "source": p["source"],
        "policy": json.dumps(p["policy"], sort_keys=True, ensure_ascii=False),
        "declared_by": p["actor"],
        "declared_at": p["declared_at"],
        "ended_by": None,
        "ended_at": None,
    }
    modes = board.rows("storm_modes")
    if p["division"] in modes:
        modes[p["division"]].update(values)
    else:
        modes[p["division"]] = board.new_row("storm_modes", division=p["division"], **values)


@projects("storm.ended")
def storm_ended(board: State, event: Event) -> None:
    p = event.payload
    modes = board.rows("storm_modes")
    if p["division"] in modes:
        modes[p["division"]].update(active=False, ended_by=p["actor"], ended_at=p["ended_at"])


@projects("reserve.activated", "reserve.released")
def reserve_changed(board: State, event: Event) -> None:
    """No row changes: routing derives a reserve's place in the pool from its division's storm
    mode; the events are the record of who was called up and released, and when."""
