"""What a team's phone hears on the live stream: its own tasks from assignment to the event that
takes them away, and nothing of another team's."""

from __future__ import annotations

import json
from itertools import count
from typing import Any

from dispatch.views.log_tail import Logged
from dispatch.views.team_events import TeamEvents

_seq = count(1)


def logged(event_type: str, **payload: Any) -> Logged:
    envelope = {"type": event_type, "key": "wuhan", "payload": payload}
    return Logged(next(_seq), event_type, json.dumps(envelope, sort_keys=True))


def heard(team: TeamEvents, events: list[Logged]) -> list[str]:
    return [e.type for e in events if team.hears(e)]


def test_a_team_hears_its_task_from_assignment_to_resolution_and_no_other() -> None:
    team_a = TeamEvents("team-a", [])
    events = [
        logged("incident.reported", id="inc-1"),
        logged("team.assigned", incident_id="inc-1", team_id="team-a"),
        logged("sla.clocks_started", incident_id="inc-1", state="assigned"),
        logged("team.assigned", incident_id="inc-2", team_id="team-b"),
        logged("sla.clocks_started", incident_id="inc-2", state="assigned"),
        logged("task.acknowledged", incident_id="inc-1", team_id="team-a", state="acknowledged"),
        logged("incident.reprioritized", incident_id="inc-1", state="acknowledged"),
        logged("task.resolved", incident_id="inc-1", team_id="team-a", state="resolved"),
        logged("incident.reprioritized", incident_id="inc-1", state="resolved"),
    ]
    assert heard(team_a, events) == [
        "team.assigned",
        "sla.clocks_started",
        "task.acknowledged",
        "incident.reprioritized",
        "task.resolved",
    ]
    assert team_a.held == set()


def test_a_task_withdrawn_or_handed_on_is_heard_leaving_then_no_more() -> None:
    team_a = TeamEvents("team-a", ["inc-1", "inc-2"])  # its open tasks when the phone connected
    events = [
        logged("sla.breached", incident_id="inc-1", state="assigned"),
        logged("task.reassigned", incident_id="inc-1", from_team_id="team-a", state="queued"),
        logged("team.assigned", incident_id="inc-1", team_id="team-b"),
        logged("task.acknowledged", incident_id="inc-1", team_id="team-b", state="acknowledged"),
        logged(
            "incident.reassigned",
            incident_id="inc-2",
            from_team_id="team-a",
            to_team_id="team-c",
            state="assigned",
        ),
        logged("team.assigned", incident_id="inc-2", team_id="team-c"),
        logged("sla.warning", incident_id="inc-2", state="assigned"),
    ]
    assert heard(team_a, events) == ["sla.breached", "task.reassigned", "incident.reassigned"]
    assert team_a.held == set()


def test_a_task_handed_to_the_team_is_followed_and_a_cancelled_one_let_go() -> None:
    team_c = TeamEvents("team-c", [])
    events = [
        logged(
            "incident.reassigned",
            incident_id="inc-2",
            from_team_id="team-a",
            to_team_id="team-c",
            state="assigned",
        ),
        logged("sla.clocks_started", incident_id="inc-2", state="assigned"),
        logged(
            "incident.cancelled", incident_id="inc-2", released_team_id="team-c", state="cancelled"
        ),
        logged("sla.clocks_started", incident_id="inc-2", state="cancelled"),
    ]
    assert heard(team_c, events) == [
        "incident.reassigned",
        "sla.clocks_started",
        "incident.cancelled",
    ]


def test_a_team_hears_its_acknowledge_clock_start_before_the_assignment() -> None:
    team_a = TeamEvents("team-a", [])
    clock = {"kind": "acknowledge", "attempt": 1, "team_id": "team-a"}
    events = [
        logged("sla.clocks_started", incident_id="inc-1", state="reported", clocks=[]),
        logged("sla.clocks_started", incident_id="inc-1", state="assigned", clocks=[clock]),
        logged("team.assigned", incident_id="inc-1", team_id="team-a"),
        logged("sla.clocks_started", incident_id="inc-3", clocks=[clock | {"team_id": "team-b"}]),
    ]
    assert heard(team_a, events) == ["sla.clocks_started", "team.assigned"]
    assert team_a.held == {"inc-1"}


def test_a_team_whose_id_is_inside_another_is_not_mistaken_for_it() -> None:
    team_1 = TeamEvents("HB-WH-001", [])
    other = logged("team.assigned", incident_id="inc-9", team_id="HB-WH-0012")
    assert not team_1.hears(other)
    assert team_1.held == set()
