"""Compare two databases' projections table by table: (table, key, column, live, replayed).

Rows are matched by a natural key, never by surrogate ids: a live id sequence has gaps from
rolled-back transactions that a replay cannot (and need not) reproduce.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Connection, Integer, Table, UniqueConstraint, inspect, select

# Tables whose rows are best told apart by more than their primary key.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "assignments": ("incident_id", "assigned_at", "team_id"),
}


@dataclass(frozen=True)
class Difference:
    table: str
    key: str
    column: str
    live: Any
    replayed: Any

    def __str__(self) -> str:
        return (
            f"{self.table} [{self.key}] {self.column}: "
            f"live {self.live!r} != replayed {self.replayed!r}"
        )


def _is_surrogate(column: Column[Any]) -> bool:
    return column.primary_key and isinstance(column.type, Integer) and column.name == "id"


def natural_key(table: Table) -> tuple[str, ...]:
    if table.name in NATURAL_KEYS:
        return NATURAL_KEYS[table.name]
    primary = [c for c in table.primary_key.columns]
    if not (len(primary) == 1 and _is_surrogate(primary[0])):
        return tuple(c.name for c in primary)
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint):
            return tuple(c.name for c in constraint.columns)
    return tuple(c.name for c in table.columns if not _is_surrogate(c))


def read_table(connection: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every row by natural key (a repeated key gets a running number appended)."""
    columns = [c for c in table.columns if not _is_surrogate(c)]
    key = natural_key(table)
    if not inspect(connection).has_table(table.name):
        return {}
    rows: dict[tuple[Any, ...], dict[str, Any]] = {}
    order = [table.c[name] for name in key] + [c for c in table.primary_key.columns]
    for row in connection.execute(select(*columns).order_by(*order)).mappings():
        base = tuple(row[name] for name in key)
        n = 0
        while (*base, n) in rows:
            n += 1
        rows[(*base, n)] = dict(row)
    return rows


def compare_tables(
    live: Connection, replayed: Connection, tables: Iterable[Table]
) -> list[Difference]:
    differences: list[Difference] = []
    for table in tables:
        differences += _compare_rows(
            table, natural_key(table), read_table(live, table), read_table(replayed, table)
        )
    return differences


def _compare_rows(
    table: Table,
    key: tuple[str, ...],
    live: dict[tuple[Any, ...], dict[str, Any]],
    replayed: dict[tuple[Any, ...], dict[str, Any]],
) -> list[Difference]:
    differences = []
    for row_key in sorted(live.keys() | replayed.keys(), key=repr):
        label = _label(key, row_key)
        a, b = live.get(row_key), replayed.get(row_key)
        if a is None or b is None:
            presence = ("present" if a else "absent", "present" if b else "absent")
            differences.append(Difference(table.name, label, "(row)", *presence))
            continue
        differences += [
            Difference(table.name, label, name, a[name], b[name])
            for name in a
            if a[name] != b[name]
        ]
    return differences


def _label(key: tuple[str, ...], values: tuple[Any, ...]) -> str:
    text = ", ".join(
        f"{name}={value.isoformat() if hasattr(value, 'isoformat') else value}"
        for name, value in zip(key, values, strict=False)
    )
    return text if values[-1] == 0 else f"{text} #{values[-1] + 1}"
