"""Projectors, the fold and the chain check, on hand-made entries: no database, no broker."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dispatch.audit.verify import GENESIS, Digest, check_entries
from dispatch.service_layer.folds import PROJECTORS, fold, projects
from dispatch.service_layer.state import Event
from events.envelope import Envelope
from events.log import Entry, chain_hash
from events.schemas import EventPayload, register, register_upcaster

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def chain(events: list[tuple[str, dict[str, Any], int]], version: int = 1) -> list[Entry]:
    """Entries as the log would store them: (type, payload, minutes after T0)."""
    entries, prev = [], GENESIS.hash
    for seq, (kind, payload, minutes) in enumerate(events, 1):
        envelope = Envelope(
            type=kind,
            version=version,
            occurred_at=T0 + timedelta(minutes=minutes),
            producer="test",
            key="wuhan",
            payload=payload,
        ).canonical_json()
        digest = chain_hash(prev, envelope)
        entries.append(Entry(seq, envelope, prev, digest))
        prev = digest
    return entries


TEAM = {
    "id": "T1",
    "name": "Team 1",
    "region": "wuhan",
    "home": {"latitude": 30.6, "longitude": 114.3},
    "leader": "",
    "members": 5,
    "party_members": 3,
    "skills": ["repair", "assistance"],
    "capacity": 2,
    "reserve": False,
    "status": "available",
}
REPORT = {
    "id": "inc-1",
    "kind": "repair",
    "priority": "normal",
    "latitude": 30.61,
    "longitude": 114.31,
    "address": "",
    "area_class": "urban",
    "channel": "app",
    "region": "wuhan",
    "reported_at": "2026-07-01T08:01:00Z",
}
ASSIGNED = {
    "incident_id": "inc-1",
    "team_id": "T1",
    "assigned_at": "2026-07-01T08:02:00Z",
    "distance_km": 1.3,
    "rule": "nearest",
    "explanation": [{"team_id": "T1", "distance_km": 1.3}],
}
RESOLVED = {"incident_id": "inc-1", "team_id": "T1", "resolved_at": "2026-07-01T09:00:00Z"}
STORY = [
    ("team.registered", TEAM, 0),
    ("incident.reported", REPORT, 1),
    ("team.assigned", ASSIGNED, 2),
    ("task.resolved", RESOLVED, 60),
]


def test_report_assign_resolve_leaves_the_incident_resolved_and_the_team_free() -> None:
    board = fold(chain(STORY))
    incident = board.rows("incidents")["inc-1"]
    assert incident["state"] == "resolved" and incident["team_id"] == "T1"
    assert incident["assigned_at"] == "2026-07-01T08:02:00Z"  # times stay ISO text
    assert board.rows("teams")["T1"]["active_tasks"] == 0
    assert board.rows("teams")["T1"]["skills"] == "assistance,repair"
    assert [a["team_id"] for a in board.appended["assignments"]] == ["T1"]
    assert (board.events, board.last_seq, board.unprojected) == (4, 4, {})


def test_until_stops_before_the_first_later_event() -> None:
    board = fold(chain(STORY), until=T0 + timedelta(minutes=30))
    assert board.last_seq == 3
    assert board.rows("incidents")["inc-1"]["state"] == "assigned"
    assert board.rows("teams")["T1"]["active_tasks"] == 1


def test_folding_twice_gives_the_same_board() -> None:
    entries = chain(STORY)
    assert fold(entries).keyed == fold(entries).keyed


def test_re_registering_a_team_keeps_its_workload_and_retiring_removes_it() -> None:
    renamed = {**TEAM, "name": "Team One", "capacity": 4}
    story = [*STORY[:3], ("team.registered", renamed, 5)]
    team = fold(chain(story)).rows("teams")["T1"]
    assert (team["name"], team["capacity"], team["active_tasks"]) == ("Team One", 4, 1)
    retired = fold(chain([*story, ("team.retired", {"team_id": "T1"}, 6)]))
    assert "T1" not in retired.rows("teams")


def test_an_event_type_without_projector_is_counted_not_ignored() -> None:
    board = fold(chain([*STORY, ("weather.observed", {"rain_mm": 80}, 61)]))
    assert board.unprojected == {"weather.observed.v1": 1}


@register
class _GaugeReadV2(EventPayload):
    """A test-only type whose v1 named its field differently."""

    TYPE = "test.gauge_read"
    VERSION = 2
    level_m: float


@register_upcaster("test.gauge_read", 1)
def _gauge_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    return {"level_m": payload.pop("level_cm") / 100}


def test_old_versions_are_upcast_before_the_projector_sees_them() -> None:
    seen: list[dict[str, Any]] = []

    @projects("test.gauge_read")
    def gauge(board: Any, event: Event) -> None:
        seen.append(event.payload)

    try:
        fold(chain([("test.gauge_read", {"level_cm": 250}, 0)], version=1))
    finally:
        PROJECTORS.pop("test.gauge_read")
    assert seen == [{"level_m": 2.5}]


def test_chain_check_names_the_first_modified_missing_or_unlinked_entry() -> None:
    entries = chain(STORY)
    assert check_entries(entries) == (Digest(4, entries[-1].hash), None)
    forged = entries[2]._replace(envelope=entries[2].envelope.replace("1.3", "9.9"))
    modified = check_entries([*entries[:2], forged, entries[3]])[1]
    assert str(modified).startswith("seq 3: its content")
    assert str(check_entries([entries[0], entries[2]])[1]).startswith("seq 2: missing")
    swapped = [entries[0], entries[2]._replace(seq=2), entries[1]._replace(seq=3)]
    assert str(check_entries(swapped)[1]) == "seq 2: does not chain to the entry before it"


@pytest.mark.parametrize("text", ["", "12", "x:abc", "3:" + "g" * 64, "-1:" + "0" * 64])
def test_a_digest_that_is_not_seq_colon_hash_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        Digest.parse(text)


def test_a_digest_round_trips() -> None:
    digest = Digest(42, "a" * 64)
    assert Digest.parse(str(digest)) == digest
