"""A transaction's database rows as the folds (folds.py) see them: the same `State` a replay
folds into in memory, here backed by the session's ORM rows. The live write side decides its
events, then folds them here; no other code changes these rows.

The rows are also this transaction's repository: incidents locked once, their clocks loaded
once, team loads written last (lock order as in clocks.py: incidents, clocks, the event log
head, teams).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import (
    AssignmentRow,
    Base,
    DutyShiftRow,
    IncidentExclusionRow,
    IncidentRow,
    MemberDutyRow,
    SlaClockRow,
    StormModeRow,
    TaskNoticeRow,
    TeamRow,
    TeamStoryRow,
)
from dispatch.service_layer.state import apply_load, clock_row, moment, new_row
from events.log import UtcDateTime
from models.errors import NotFound

_CHUNK = 500  # ids per IN (...) list


def _time_columns(model: type[Base]) -> frozenset[str]:
    return frozenset(c.name for c in model.__table__.columns if isinstance(c.type, UtcDateTime))


_TIMES: dict[type[Base], frozenset[str]] = {
    m: _time_columns(m)
    for m in (
        IncidentRow,
        TeamRow,
        SlaClockRow,
        AssignmentRow,
        IncidentExclusionRow,
        TaskNoticeRow,
        MemberDutyRow,
        DutyShiftRow,
        StormModeRow,
        TeamStoryRow,
    )
}


def _stored(model: type[Base], values: dict[str, Any]) -> dict[str, Any]:
    """A fold's row values (times as ISO text, as payloads carry them) as the ORM takes them."""
    times = _TIMES[model]
    return {k: moment(v) if k in times else v for k, v in values.items()}


class RowView(MutableMapping[str, Any]):
    """An ORM row as a fold's dict: reads and writes its columns, times converted on write."""

    __slots__ = ("_columns", "_row", "_times")

    def __init__(self, row: Base) -> None:
        self._row = row
        self._columns = type(row).__table__.columns
        self._times = _TIMES[type(row)]

    def __getitem__(self, name: str) -> Any:
        if name not in self._columns:
            raise KeyError(name)
        return getattr(self._row, name)

    def __setitem__(self, name: str, value: Any) -> None:
        if name not in self._columns:
            raise KeyError(name)
        setattr(self._row, name, moment(value) if name in self._times else value)

    def __delitem__(self, name: str) -> None:
        raise TypeError("a row's columns cannot be removed")

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns.keys())

    def __len__(self) -> int:
        return len(self._columns)


class _Table(MutableMapping[Any, Any]):
    """One table's rows by primary key, loaded as the folds ask for them."""

    def __init__(self, rows: LiveRows) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("a transaction's rows are looked up by key, not listed")

    def __len__(self) -> int:
        raise TypeError("a transaction's rows are looked up by key, not counted")


class _Incidents(_Table):
    def __getitem__(self, incident_id: str) -> RowView:
        return RowView(self._rows.incident(incident_id))

    def __setitem__(self, incident_id: str, values: dict[str, Any]) -> None:
        row = IncidentRow(**_stored(IncidentRow, values))
        self._rows.session.add(row)
        self._rows.locked[incident_id] = row

    def __delitem__(self, incident_id: str) -> None:
        raise TypeError("incidents are never deleted")


class _Teams(_Table):
    def __getitem__(self, team_id: str) -> RowView:
        row = self._rows.session.get(TeamRow, team_id, with_for_update=True)
        if row is None:
            raise KeyError(team_id)
        return RowView(row)

    def __setitem__(self, team_id: str, values: dict[str, Any]) -> None:
        self._rows.session.add(TeamRow(**_stored(TeamRow, values)))

    def __delitem__(self, team_id: str) -> None:
        if self._rows.session.get(TeamRow, team_id) is None:
            raise KeyError(team_id)
        self._rows.session.execute(delete(TeamRow).where(TeamRow.id == team_id))


class _Clocks(_Table):
    """Clocks by (incident, kind, attempt); a fold keeps each clock's latest snapshot here."""

    def _find(self, key: tuple[str, str, int]) -> SlaClockRow | None:
        incident_id, kind, attempt = key
        for row in self._rows.clocks_of(incident_id):
            if row.kind == kind and row.attempt == attempt:
                return row
        return None

    def __getitem__(self, key: tuple[str, str, int]) -> RowView:
        row = self._find(key)
        if row is None:
            raise KeyError(key)
        return RowView(row)

    def __setitem__(self, key: tuple[str, str, int], kept: dict[str, Any]) -> None:
        values = _stored(SlaClockRow, clock_row(kept))
        row = self._find(key)
        if row is None:
            row = SlaClockRow(**values)
            self._rows.session.add(row)
            self._rows.clocks_of(key[0]).append(row)
            return
        for name, value in values.items():
            setattr(row, name, value)

    def __delitem__(self, key: tuple[str, str, int]) -> None:
        raise TypeError("clocks are never deleted")


class _Exclusions(_Table):
    def __getitem__(self, key: tuple[str, str]) -> RowView:
        row = self._rows.session.get(IncidentExclusionRow, key)
        if row is None:
            raise KeyError(key)
        return RowView(row)

    def __setitem__(self, key: tuple[str, str], values: dict[str, Any]) -> None:
        self._rows.session.add(IncidentExclusionRow(**values))

    def __delitem__(self, key: tuple[str, str]) -> None:
        raise TypeError("exclusions are never deleted")


class _ByKey(_Table):
    """A table's rows by primary key, locked as read (the notices' and duty's folds)."""

    def __init__(self, rows: LiveRows, model: type[Base]) -> None:
        super().__init__(rows)
        self._model = model
        self._added: dict[Any, Base] = {}  # rows made in this transaction, not yet flushed

    def __getitem__(self, key: Any) -> RowView:
        row = self._added.get(key) or self._rows.session.get(self._model, key, with_for_update=True)
        if row is None:
            raise KeyError(key)
        return RowView(row)

    def __setitem__(self, key: Any, values: dict[str, Any]) -> None:
        row = self._model(**_stored(self._model, values))
        self._rows.session.add(row)
        self._added[key] = row

    def __delitem__(self, key: Any) -> None:
        raise TypeError("notices and duty are never deleted")


_APPENDED: dict[str, type[Base]] = {"assignments": AssignmentRow}


class LiveRows:
    """A transaction's rows: the `State` the live write side folds its events into."""

    def __init__(self, session: Session) -> None:
        self.session = session
        # strong references: the identity map alone would let unused rows be collected
        self.locked: dict[str, IncidentRow] = {}
        self._clocks: dict[str, list[SlaClockRow]] = {}
        self._loads: dict[str, tuple[int, Any]] = {}
        self.keyed: dict[str, MutableMapping[Any, Any]] = {
            "incidents": _Incidents(self),
            "teams": _Teams(self),
            "sla_clocks": _Clocks(self),
            "incident_exclusions": _Exclusions(self),
            "task_notices": _ByKey(self, TaskNoticeRow),
            "member_duty": _ByKey(self, MemberDutyRow),
            "duty_shifts": _ByKey(self, DutyShiftRow),
            "storm_modes": _ByKey(self, StormModeRow),
            "team_stories": _ByKey(self, TeamStoryRow),
        }

    # --- the State the folds change ---------------------------------------------------------

    def rows(self, table: str) -> MutableMapping[Any, Any]:
        return self.keyed[table]

    def append(self, table: str, row: dict[str, Any]) -> None:
        model = _APPENDED[table]
        self.session.add(model(**_stored(model, row)))

    def new_row(self, table: str, **values: Any) -> dict[str, Any]:
        return new_row(table, **values)

    def change_load(self, team_id: str | None, delta: int, finished_at: Any = None) -> None:
        """Kept until `write_loads`: team rows are locked last."""
        if team_id is None:
            return
        tasks, finished = self._loads.get(team_id, (0, None))
        self._loads[team_id] = (tasks + delta, finished_at or finished)

    def flush(self) -> None:
        """The team loads the folds changed, one locked write per team, in id order (the
        other rows are ORM objects: the session writes them)."""
        loads, self._loads = self._loads, {}
        for team_id in sorted(loads):
            row = self.session.get(TeamRow, team_id, with_for_update=True)
            if row is not None:  # retired from the registry since: nothing to change
                apply_load(RowView(row), *loads[team_id])

    # --- the repository ---------------------------------------------------------------------

    def incident(self, incident_id: str) -> IncidentRow:
        """The incident, locked for this transaction (at once if already locked)."""
        row = self.locked.get(incident_id)
        if row is None:
            row = self.session.get(IncidentRow, incident_id, with_for_update=True)
            if row is None:
                raise NotFound(f"no incident {incident_id}")
            self.locked[incident_id] = row
        return row

    def lock_incidents(self, incident_ids: Sequence[str]) -> list[IncidentRow]:
        """Lock many incidents and their clocks at once (in id order), so the commands that
        follow need no query of their own; for batches such as the simulated crews."""
        rows = self.session.scalars(
            select(IncidentRow)
            .where(IncidentRow.id.in_(sorted(set(incident_ids))))
            .order_by(IncidentRow.id)
            .with_for_update()
        ).all()
        self.locked.update((r.id, r) for r in rows)
        self.preload_clocks([r.id for r in rows])
        return list(rows)

    def clocks_of(self, incident_id: str) -> list[SlaClockRow]:
        """Every clock of the incident, locked, in the order they were started."""
        if incident_id not in self._clocks:
            self.preload_clocks([incident_id])
        return self._clocks[incident_id]

    def preload_clocks(self, incident_ids: Sequence[str]) -> None:
        ids = sorted(set(incident_ids) - self._clocks.keys())
        for incident_id in ids:
            self._clocks[incident_id] = []
        for start in range(0, len(ids), _CHUNK):
            for row in self.session.scalars(
                select(SlaClockRow)
                .where(SlaClockRow.incident_id.in_(ids[start : start + _CHUNK]))
                .order_by(SlaClockRow.incident_id, SlaClockRow.id)
                .with_for_update()
            ):
                self._clocks[row.incident_id].append(row)

    def loaded_clocks(self) -> list[SlaClockRow]:
        return [row for rows in self._clocks.values() for row in rows]
