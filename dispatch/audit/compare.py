"""Compare two databases' projections table by table: (table, key, column, live, replayed).

Rows are matched by a natural key, never by surrogate ids: a live id sequence has gaps from
rolled-back transactions that a replay cannot (and need not) reproduce.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Dialect,
    Integer,
    Table,
    UniqueConstraint,
    inspect,
)

from dispatch.service_layer.state import gc_paused

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


class _Table(NamedTuple):
    """One side's rows of a table as stored: raw values by natural key, and how to type them."""

    columns: list[str]
    rows: dict[tuple[Any, ...], tuple[Any, ...]]
    processors: list[Processor | None]

    def typed(self, raw: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v if f is None else f(v) for f, v in zip(self.processors, raw, strict=True))


Processor = Callable[[Any], Any]


def _processor(column: Column[Any], dialect: Dialect, coltype: Any) -> Processor | None:
    """How SQLAlchemy types a stored value of `column` (`coltype`: the driver's type code, as
    in cursor.description); JSON text is parsed by orjson (the same values, several times
    faster), falling back to SQLAlchemy's parser for what orjson refuses."""
    process = column.type.dialect_impl(dialect).result_processor(dialect, coltype)
    if not isinstance(column.type, JSON):
        return process

    def load(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass  # NaN, huge integers: json's own reading below
        return value if process is None else process(value)

    return load


def _read_raw(connection: Connection, table: Table, typed_keys: bool = True) -> _Table:
    """Every row by natural key (a repeated key gets a running number appended), values as the
    driver gives them: SQLAlchemy's per-value type processing is most of a comparison's time,
    and equal stored values need none. Keys are typed unless `typed_keys` is false (then they
    match only the same kind of database's keys, stored alike)."""
    columns = [c for c in table.columns if not _is_surrogate(c)]
    names = [c.name for c in columns]
    if not inspect(connection).has_table(table.name):
        return _Table(names, {}, [None] * len(names))
    key = natural_key(table)
    quote = connection.dialect.identifier_preparer.quote
    order = [*key, *(c.name for c in table.primary_key.columns)]
    query = (
        f"SELECT {', '.join(map(quote, names))} FROM {quote(table.name)} "
        f"ORDER BY {', '.join(map(quote, order))}"
    )
    cursor = connection.connection.cursor()
    try:
        cursor.execute(query)
        rows = cursor.fetchall()
        coltypes = [d[1] for d in cursor.description]
    finally:
        cursor.close()
    processors = [
        _processor(c, connection.dialect, coltype)
        for c, coltype in zip(columns, coltypes, strict=True)
    ]
    found = _Table(names, {}, processors)
    key_of = _key_reader(
        [names.index(name) for name in key], processors if typed_keys else [None] * len(names)
    )
    for row in rows:
        base = key_of(row)
        n = 0
        while (*base, n) in found.rows:
            n += 1
        found.rows[(*base, n)] = row
    return found


def _key_reader(
    at: list[int], processors: list[Processor | None]
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    """A row's natural key, typed where `processors` say so."""
    if any(processors[i] for i in at):
        return lambda row: tuple(
            row[i] if processors[i] is None else processors[i](row[i])  # type: ignore[misc]
            for i in at
        )
    if len(at) == 1:
        (i,) = at
        return lambda row: (row[i],)
    return itemgetter(*at)


def read_table(connection: Connection, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Every row by natural key (a repeated key gets a running number appended), typed."""
    found = _read_raw(connection, table)
    return {
        key: dict(zip(found.columns, found.typed(raw), strict=True))
        for key, raw in found.rows.items()
    }


def compare_tables(
    live: Connection, replayed: Connection, tables: Iterable[Table]
) -> list[Difference]:
    differences: list[Difference] = []
    with gc_paused():  # many rows, no cycles: see dispatch.audit.projection
        for table in tables:
            differences += _compare_table(live, replayed, table)
    return differences


def _compare_table(live: Connection, replayed: Connection, table: Table) -> list[Difference]:
    """Rows of the same kind of database are matched by their keys as stored, which needs no
    typing; if the two sets of keys differ at all, both sides are keyed again, typed, so that
    only real differences are reported."""
    same_storage = live.dialect.name == replayed.dialect.name
    a, b = _read_raw(live, table, not same_storage), _read_raw(replayed, table, not same_storage)
    if same_storage and a.rows.keys() != b.rows.keys():
        a, b = _read_raw(live, table), _read_raw(replayed, table)
    return _compare_rows(table, a, b, same_storage)


def _compare_rows(
    table: Table, live: _Table, replayed: _Table, same_storage: bool
) -> list[Difference]:
    """Values equal as stored in the same kind of database are equal; others are compared
    typed. Differences come in the order of their keys' text."""
    suspects = [
        k for k, raw in live.rows.items() if replayed.rows.get(k) != raw or not same_storage
    ]
    suspects += [k for k in replayed.rows if k not in live.rows]
    found: list[tuple[tuple[Any, ...], list[tuple[str, Any, Any]]]] = []
    for row_key in suspects:
        a, b = live.rows.get(row_key), replayed.rows.get(row_key)
        if a is None or b is None:
            found.append((row_key, [("(row)", _presence(a), _presence(b))]))
            continue
        changed = []
        for name, x, y, type_x, type_y in zip(
            live.columns, a, b, live.processors, replayed.processors, strict=True
        ):
            if same_storage and x == y:
                continue
            x, y = (x if type_x is None else type_x(x)), (y if type_y is None else type_y(y))
            if x != y:
                changed.append((name, x, y))
        if changed:
            found.append((row_key, changed))
    key = natural_key(table)
    return [
        Difference(table.name, _label(key, row_key), name, x, y)
        for row_key, changed in sorted(found, key=lambda item: repr(item[0]))
        for name, x, y in changed
    ]


def _presence(row: tuple[Any, ...] | None) -> str:
    return "absent" if row is None else "present"


def _label(key: tuple[str, ...], values: tuple[Any, ...]) -> str:
    text = ", ".join(
        f"{name}={value.isoformat() if hasattr(value, 'isoformat') else value}"
        for name, value in zip(key, values, strict=False)
    )
    return text if values[-1] == 0 else f"{text} #{values[-1] + 1}"
