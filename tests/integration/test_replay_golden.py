"""The golden v1 log (tests/golden, written once by tests/golden/scenario.py: every event type
of the system at version 1) still replays to the state it produced. Run after every schema
change, it shows that old events are upcast and read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from dispatch.adapters.orm import create_schema
from dispatch.audit.bulk_write import write_board
from dispatch.audit.verify import check_entries
from dispatch.service_layer.folds import fold
from events import schemas
from events.schemas.incidents import IncidentQueued
from tests.golden.golden import load_log, state_of

GOLDEN = Path(__file__).parents[1] / "golden"


def replayed_state() -> dict[str, list[dict[str, Any]]]:
    entries = load_log(GOLDEN / "v1_log.jsonl")
    last, finding = check_entries(entries)
    assert finding is None and last.seq == len(entries)
    board = fold(entries)
    assert not board.unprojected, board.unprojected
    engine = create_engine("sqlite://", poolclass=StaticPool)
    create_schema(engine)
    write_board(board, engine)
    return state_of(engine)


def assert_matches_golden(state: dict[str, list[dict[str, Any]]]) -> None:
    """Tables and columns of the golden state must match; columns added since are not judged."""
    golden = json.loads((GOLDEN / "v1_state.json").read_text())
    for table, rows in golden.items():
        got = [{k: row[k] for k in rows[0]} for row in state[table]] if rows else state[table]
        assert got == rows, f"{table} differs from the golden state"


def test_golden_v1_log_replays_to_its_recorded_state() -> None:
    assert_matches_golden(replayed_state())


def test_golden_log_still_replays_after_a_schema_gets_a_new_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """incident.queued gains a v2 with a new field: v1 entries are upcast on read."""

    class IncidentQueuedV2(IncidentQueued):
        VERSION = 2
        waiting_position: int

    upcasts: list[str] = []

    def v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
        upcasts.append(payload["incident_id"])
        return {**payload, "waiting_position": 0}

    monkeypatch.setitem(schemas._SCHEMAS, ("incident.queued", 2), IncidentQueuedV2)
    monkeypatch.setitem(schemas._UPCASTERS, ("incident.queued", 1), v1_to_v2)
    assert_matches_golden(replayed_state())
    queued = [
        json.loads(e.envelope)["payload"]["incident_id"]
        for e in load_log(GOLDEN / "v1_log.jsonl")
        if json.loads(e.envelope)["type"] == "incident.queued"
    ]
    assert upcasts == queued and queued
