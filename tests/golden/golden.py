"""Reading and writing the golden log (JSON Lines of entries) and its state (JSON)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from dispatch.audit.compare import read_table
from dispatch.audit.projection import projected_tables
from events.log import Entry, entry_message, entry_of_message, read_entries


def dump_log(engine: Engine, path: Path) -> None:
    with engine.connect() as connection, path.open("w", encoding="utf-8") as out:
        for entry in read_entries(connection):
            out.write(entry_message(entry).decode() + "\n")


def load_log(path: Path) -> list[Entry]:
    return [entry_of_message(line.encode()) for line in path.read_text().splitlines() if line]


def state_of(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Every projected table as JSON-able rows in natural-key order."""
    state: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as connection:
        for table in projected_tables():
            rows = read_table(connection, table)
            state[table.name] = [_jsonable(rows[key]) for key in sorted(rows, key=repr)]
    return state


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def dump_state(engine: Engine, path: Path) -> None:
    path.write_text(json.dumps(state_of(engine), indent=1, ensure_ascii=False) + "\n")
