"""State as the folds (folds.py) see it: events, and the `Board`, rows by table and key, held in
memory. Replay folds the whole log into a board (dispatch/audit); the live write side folds
each transaction's events into its rows (live_rows.py presents the session's rows the same way).

Folds are deterministic: they read nothing but the event and the rows (no clock, no registry);
everything a state change needs travels in its payload.
"""

from __future__ import annotations

import gc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Column

from dispatch.adapters.orm import Base
from models.sla import ClockKind, ClockState, SlaClock


class Event(NamedTuple):
    """A logged event as projectors see it: the payload already upcast to the newest version."""

    seq: int
    event_id: str
    type: str
    occurred_at: str
    producer: str
    payload: dict[str, Any]


def moment(value: Any) -> datetime | None:
    """An ISO timestamp (as payloads and board rows hold them) as an aware datetime."""
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def sqlite_time(value: Any) -> str | None:
    """An ISO timestamp as SQLAlchemy stores it in SQLite (naive UTC, microseconds)."""
    if value is None:
        return None
    if isinstance(value, str) and value[-1:] == "Z" and value[10:11] == "T":
        if len(value) == 20:  # "2026-07-01T08:01:00Z": the common case, without parsing
            return f"{value[:10]} {value[11:19]}.000000"
        if len(value) == 27:
            return f"{value[:10]} {value[11:26]}"
    parsed = moment(value)
    return (
        None
        if parsed is None
        else parsed.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    )


class State(Protocol):
    """What a fold changes: rows by table and key (`keyed`, `rows`), rows appended in order, and
    team loads. `Board` holds them in memory; live_rows.py holds a transaction's database rows."""

    @property
    def keyed(self) -> Mapping[str, MutableMapping[Any, Any]]: ...

    def rows(self, table: str) -> MutableMapping[Any, Any]: ...

    def append(self, table: str, row: dict[str, Any]) -> None: ...

    def new_row(self, table: str, **values: Any) -> dict[str, Any]: ...

    def change_load(self, team_id: str | None, delta: int, finished_at: Any = None) -> None: ...


@dataclass
class Board:
    """Every projected table as rows in memory: keyed tables by primary key, others in order.

    Times stay ISO text, as the payloads carry them: `write_board` converts them once per row.
    """

    keyed: dict[str, dict[Any, dict[str, Any]]] = field(default_factory=lambda: defaultdict(dict))
    appended: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    events: int = 0
    last_seq: int = 0
    last_occurred_at: str = ""
    unprojected: Counter[str] = field(default_factory=Counter)

    def rows(self, table: str) -> dict[Any, dict[str, Any]]:
        return self.keyed[table]

    def append(self, table: str, row: dict[str, Any]) -> None:
        self.appended[table].append(row)

    def new_row(self, table: str, **values: Any) -> dict[str, Any]:
        return new_row(table, **values)

    def change_load(self, team_id: str | None, delta: int, finished_at: Any = None) -> None:
        team = self.keyed["teams"].get(team_id) if team_id else None
        if team is not None:  # a retired team's tasks no longer count anywhere
            apply_load(team, delta, finished_at)


def apply_load(team: MutableMapping[str, Any], delta: int, finished_at: Any = None) -> None:
    """Tasks taken (+) or given up (-) by a team, never below none; `finished_at` when it
    finished a job, for rest rotation."""
    team["active_tasks"] = max(0, team["active_tasks"] + delta)
    if finished_at is not None:
        team["last_finished_at"] = finished_at


def new_row(table: str, **values: Any) -> dict[str, Any]:
    """A full row of `table`: the given values, column defaults for the rest."""
    return {**column_defaults(table), **values}


_DEFAULTS: dict[str, dict[str, Any]] = {}


def column_defaults(table: str) -> dict[str, Any]:
    if table not in _DEFAULTS:
        _DEFAULTS[table] = {
            column.name: _scalar_default(column)
            for column in Base.metadata.tables[table].columns
            if not (column.primary_key and column.autoincrement is True)
        }
    return _DEFAULTS[table]


def _scalar_default(column: Column[Any]) -> Any:
    default = column.default
    return getattr(default, "arg", None) if default is not None and default.is_scalar else None


@contextmanager
def gc_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector during a bulk fold or write. The board's hundreds of
    thousands of dicts hold no cycles, yet every collection re-scans them: about a fifth of a
    replay's CPU time. Whatever garbage a cycle leaves is collected once it is switched back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --- clocks: a board keeps each clock's latest snapshot and makes its row once -------------


def clock_row(kept: dict[str, Any]) -> dict[str, Any]:
    """A clock's row from its snapshot: the deadline it carries, and when it is next due."""
    c: dict[str, Any] = kept["snapshot"]
    target = timedelta(minutes=c["target_minutes"])
    started_at, deadline = c["started_at"], c["deadline"]  # ISO text, stored as such
    # exact from the deadline: the snapshot's minutes are rounded
    paused_for = datetime.fromisoformat(deadline) - datetime.fromisoformat(started_at) - target
    return new_row(
        "sla_clocks",
        incident_id=kept["incident_id"],
        kind=c["kind"],
        attempt=c["attempt"],
        team_id=c.get("team_id"),
        state=c["state"],
        started_at=started_at,
        target_s=target.total_seconds(),
        paused_s=paused_for.total_seconds(),
        paused_since=c.get("paused_since"),
        deadline=deadline,
        warned_50=c["warned_50"],
        warned_75=c["warned_75"],
        next_due_at=_next_due_at(c, target, paused_for) if c["state"] == "running" else None,
        closed_at=c.get("closed_at"),
    )


def _next_due_at(c: dict[str, Any], target: timedelta, paused_for: timedelta) -> datetime | None:
    """The domain's own rule (models/sla.py), for a clock that still runs."""
    warned = frozenset(f for f, on in ((0.5, c["warned_50"]), (0.75, c["warned_75"])) if on)
    clock = SlaClock(
        kind=ClockKind(c["kind"]),
        started_at=datetime.fromisoformat(c["started_at"]),
        target=target,
        state=ClockState(c["state"]),
        paused_for=paused_for,
        warned=warned,
    )
    return clock.next_due_at()


FINISHERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {"sla_clocks": clock_row}
