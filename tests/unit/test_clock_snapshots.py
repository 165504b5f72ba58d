"""Clock snapshots and clocks_started payloads are built without validation (a hot path): they
must serialise exactly as validated ones would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.service_layer.clock_starts import _started
from dispatch.service_layer.clocks import ClockValues, snapshot
from events.schemas.tasks import ClockSnapshot, SlaClocksStarted
from models.incident import IncidentState
from models.sla import ClockKind, SlaClock

T0 = datetime(2026, 7, 1, 8, 0, 0, 123456, tzinfo=UTC)


def clocks() -> list[ClockValues]:
    running = SlaClock(ClockKind.ACKNOWLEDGE, T0, timedelta(minutes=5))
    paused = SlaClock(ClockKind.ARRIVE, T0, timedelta(minutes=45)).pause(T0 + timedelta(1))
    return [
        ClockValues.of("inc-1", running, attempt=2, team_id="team-7"),
        ClockValues.of("inc-1", paused),
    ]


def test_a_built_snapshot_serialises_as_a_validated_one() -> None:
    for values in clocks():
        built = snapshot(values)
        validated = ClockSnapshot.model_validate(built.model_dump())
        assert built.model_dump(mode="json") == validated.model_dump(mode="json")
        assert built.model_dump_json() == validated.model_dump_json()


def test_a_built_clocks_started_serialises_as_a_validated_one() -> None:
    built = _started("inc-1", IncidentState.ASSIGNED, clocks())
    validated = SlaClocksStarted.model_validate(built.model_dump())
    assert built.model_dump(mode="json") == validated.model_dump(mode="json")
    assert built.model_dump(mode="json")["clocks"][1]["state"] == "paused"
