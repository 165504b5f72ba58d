"""The comparison of a replay with the live projection compares stored values first and types
only those that differ: it must still name every changed value, missing row and extra row, and
call equal what is stored in another layout (JSON spacing), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection, Engine, text

from dispatch.adapters.orm import make_engine
from dispatch.audit.compare import Difference, compare_tables
from dispatch.audit.projection import projected_tables
from dispatch.audit.replay import replay
from dispatch.audit.source import open_read_only
from tests.integration.test_audit_tamper import logged

__all__ = ["logged"]  # the fixture: a database (each backend) holding the scenario's log


def replayed_then(
    live: Engine, tmp_path: Path, change: Callable[[Connection], None]
) -> list[Difference]:
    """Replay `live` into a SQLite file, apply `change` to the replay, compare the two."""
    target = make_engine(f"sqlite:///{tmp_path / 'replayed.db'}")
    auditor = open_read_only(live.url.render_as_string(hide_password=False))
    try:
        with auditor.connect() as source, source.begin():
            assert replay(source, target).identical
            with target.begin() as replayed:
                change(replayed)
            with target.connect() as replayed:
                return compare_tables(source, replayed, projected_tables())
    finally:
        auditor.dispose()
        target.dispose()


def one_assignment(connection: Connection) -> tuple[int, str, str]:
    found = connection.execute(
        text("SELECT id, incident_id, explanation FROM assignments ORDER BY id LIMIT 1")
    )
    incident = found.one()
    return int(incident[0]), str(incident[1]), str(incident[2])


def test_a_changed_value_is_named_with_both_sides(logged: Engine, tmp_path: Path) -> None:
    def change(connection: Connection) -> None:
        connection.execute(text("UPDATE teams SET active_tasks = active_tasks + 7 WHERE id = ("
                                "SELECT min(id) FROM teams)"))  # fmt: skip

    differences = replayed_then(logged, tmp_path, change)
    assert len(differences) == 1
    (found,) = differences
    assert (found.table, found.column) == ("teams", "active_tasks")
    assert found.replayed == found.live + 7


def test_a_changed_time_and_json_value_are_named(logged: Engine, tmp_path: Path) -> None:
    def change(connection: Connection) -> None:
        row_id, _, explanation = one_assignment(connection)
        edited = json.loads(explanation)
        edited.append({"forged": True})
        connection.execute(
            text(
                "UPDATE assignments SET explanation = :e, distance_km = distance_km + 1 "
                "WHERE id = :i"
            ),
            {"e": json.dumps(edited), "i": row_id},
        )

    differences = replayed_then(logged, tmp_path, change)
    assert sorted(d.column for d in differences) == ["distance_km", "explanation"]
    explained = next(d for d in differences if d.column == "explanation")
    assert explained.replayed == [*explained.live, {"forged": True}]


def test_json_stored_in_another_layout_is_no_difference(logged: Engine, tmp_path: Path) -> None:
    def relayout(connection: Connection) -> None:
        row_id, _, explanation = one_assignment(connection)
        spaced = json.dumps(json.loads(explanation), indent=2)
        assert spaced != explanation
        connection.execute(
            text("UPDATE assignments SET explanation = :e WHERE id = :i"),
            {"e": spaced, "i": row_id},
        )

    assert replayed_then(logged, tmp_path, relayout) == []


def test_missing_and_extra_rows_are_named(logged: Engine, tmp_path: Path) -> None:
    def change(connection: Connection) -> None:
        _, incident_id, _ = one_assignment(connection)
        connection.execute(
            text("DELETE FROM assignments WHERE incident_id = :i"), {"i": incident_id}
        )
        connection.execute(
            text(
                "INSERT INTO incident_exclusions (incident_id, team_id, reason) "
                "VALUES (:i, 'T-none', 'forged')"
            ),
            {"i": incident_id},
        )

    differences = replayed_then(logged, tmp_path, change)
    rows = [(d.table, d.live, d.replayed) for d in differences if d.column == "(row)"]
    assert ("incident_exclusions", "absent", "present") in rows
    assert ("assignments", "present", "absent") in rows
    assert all(d.column == "(row)" for d in differences)


def test_a_key_time_stored_in_another_layout_is_no_difference(
    logged: Engine, tmp_path: Path
) -> None:
    """assigned_at is part of the assignments' natural key: stored as
    "2026-07-01 08:00:00" instead of "2026-07-01 08:00:00.000000", it is the same instant."""

    def relayout(connection: Connection) -> None:
        row_id = one_assignment(connection)[0]
        connection.execute(
            text("UPDATE assignments SET assigned_at = substr(assigned_at, 1, 19) WHERE id = :i"),
            {"i": row_id},
        )
        stored = connection.execute(
            text("SELECT assigned_at FROM assignments WHERE id = :i"), {"i": row_id}
        )
        assert len(stored.scalar_one()) == 19

    assert replayed_then(logged, tmp_path, relayout) == []
