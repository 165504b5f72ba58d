"""The rows of a routing batch as the folds (folds.py) see them: an in-memory board, written in
bulk at each `flush` (the rows it made inserted, the columns the folds changed updated), with
Core statements and no ORM object per row: routing's hot path.

A batch holds only the rows its events touch: the new reports, the queued incidents it routes
and the teams it books (`load`).
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, and_, bindparam, update
from sqlalchemy.orm import Session

from dispatch.adapters.orm import Base
from dispatch.service_layer.state import FINISHERS, Board, moment
from events.log import UtcDateTime

# the columns a row is found by, for the tables whose rows a batch changes
_KEYS: dict[str, tuple[str, ...]] = {
    "incidents": ("id",),
    "teams": ("id",),
    "sla_clocks": ("incident_id", "kind", "attempt"),
    "incident_exclusions": ("incident_id", "team_id"),
    "task_notices": ("incident_id", "team_id"),  # the notifier's batches (notify_record.py)
}


class BatchRows(Board):
    """A batch's board, with what the database already holds of each row, to write the
    difference."""

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self._stored: dict[str, dict[Any, dict[str, Any]]] = {table: {} for table in _KEYS}

    def load(self, table: str, rows: Iterable[dict[str, Any]]) -> None:
        """Rows as the database holds them (the columns the batch's folds may change, and the
        key): changes to them are written as updates."""
        key_of = itemgetter(*_KEYS[table])
        for row in rows:
            key = key_of(row)
            self.keyed[table][key] = row
            self._stored[table][key] = dict(row)

    def flush(self) -> None:
        """Write what changed since the last flush: new rows, changed columns, appended rows."""
        for table_name, rows in self.keyed.items():
            table = _table(table_name)
            stored = self._stored[table_name]
            finish = FINISHERS.get(table_name)
            new = [finish(r) if finish else r for k, r in rows.items() if k not in stored]
            if new:
                self.session.execute(table.insert(), [_bound(table, r) for r in new])
            self._update(table, stored, rows)
            stored.update((k, dict(r)) for k, r in rows.items())
        for table_name, appended in self.appended.items():
            if appended:
                table = _table(table_name)
                self.session.execute(table.insert(), [_bound(table, r) for r in appended])
                appended.clear()

    def _update(
        self, table: Table, stored: dict[Any, dict[str, Any]], rows: dict[Any, dict[str, Any]]
    ) -> None:
        """One executemany per set of changed columns (a batch's rows change alike)."""
        finish = FINISHERS.get(table.name)
        keys = _KEYS[table.name]
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for key, before in stored.items():
            after = rows[key]
            if after == before:
                continue
            if finish is not None:
                after, before = finish(after), finish(before)
            changed = tuple(sorted(name for name in after if after[name] != before.get(name)))
            if not changed:
                continue
            bound = _bound(table, {name: after[name] for name in changed})
            params = {f"new_{name}": value for name, value in bound.items()}
            params.update({f"key_{name}": after[name] for name in keys})
            by_columns.setdefault(changed, []).append(params)
        for changed, params_list in by_columns.items():
            statement = (
                update(table)
                .where(and_(*(table.c[name] == bindparam(f"key_{name}") for name in keys)))
                .values({name: bindparam(f"new_{name}") for name in changed})
            )
            self.session.execute(statement, params_list)


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


_TIMES: dict[str, frozenset[str]] = {}


def _bound(table: Table, row: dict[str, Any]) -> dict[str, Any]:
    """A fold's row (times as ISO text, as payloads carry them) as Core binds it."""
    times = _TIMES.get(table.name)
    if times is None:
        times = _TIMES[table.name] = frozenset(
            c.name for c in table.columns if isinstance(c.type, UtcDateTime)
        )
    return {name: moment(value) if name in times else value for name, value in row.items()}
