"""The lifecycle commands on both databases with the real broker: every step logged, staged,
and reflected in the team's load and the SLA clocks."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.adapters.orm import IncidentExclusionRow, OutboxRow
from dispatch.service_layer import incidents, tasks
from dispatch.service_layer.services import Services
from models.clock import ManualClock
from models.errors import Forbidden, InvalidTransition, NotFound
from models.incident import Priority
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import (
    DESK,
    clock_row,
    crew,
    event_types,
    incident_row,
    payloads,
    route,
    team_row,
)


def one_assigned(services: Services, **kind: str) -> str:
    seed_teams(services, [team("near", 30.60, 114.30), team("far", 30.90, 114.30)])
    inc = incident(1, 30.601, 114.301, services.clock.now(), **kind)
    route(services, [inc])
    assert incident_row(services, inc.id).team_id == "near"
    return inc.id


def test_a_task_goes_from_assigned_to_resolved_with_every_step_logged(
    services: Services, clock: ManualClock
) -> None:
    incident_id = one_assigned(services)
    me = crew("near")
    clock.advance(minutes=2)
    view = tasks.acknowledge(services, incident_id, me)
    assert view.state == "acknowledged" and view.team_id == "near"
    clock.advance(minutes=1)
    assert tasks.mark_en_route(services, incident_id, me).state == "en_route"
    clock.advance(minutes=20)
    assert tasks.mark_on_scene(services, incident_id, me).state == "on_scene"
    clock.advance(minutes=60)
    view = tasks.resolve(services, incident_id, me, notes="fuse replaced")

    assert view.state == "resolved"
    assert event_types(services, incident_id) == [
        "incident.reported",
        "sla.clocks_started",  # arrive clock, at the report
        "sla.clocks_started",  # acknowledge clock, at the assignment
        "team.assigned",
        "task.acknowledged",
        "task.departed",
        "task.arrived",
        "task.resolved",
    ]
    assert [e.type for e in view.timeline][-1] == "task.resolved"
    assert view.timeline[-1].actor == "crew of near"
    states = {(c.kind, c.state) for c in view.clocks}
    assert states == {("acknowledge", "met"), ("arrive", "met"), ("resolve", "met")}
    near = team_row(services, "near")
    assert near.active_tasks == 0 and near.last_finished_at == clock.now()
    row = incident_row(services, incident_id)
    assert row.acknowledged_at is not None and row.arrived_at is not None
    with services.reads() as session:
        staged = [json.loads(v)["type"] for v in session.scalars(select(OutboxRow.value))]
    # everything but the report (it came from Kafka) and the SLA clocks (the dispatcher's
    # bookkeeping, on the audit topic only) is announced through the outbox
    announced = [t for t in event_types(services, incident_id)[1:] if t != "sla.clocks_started"]
    assert sorted(staged) == sorted(announced)


def test_resolved_payload_carries_what_a_replay_needs(services: Services) -> None:
    incident_id = one_assigned(services)
    me = crew("near")
    tasks.acknowledge(services, incident_id, me)
    tasks.mark_on_scene(services, incident_id, me)
    tasks.resolve(services, incident_id, me, notes="done")
    (arrived,) = payloads(services, incident_id, "task.arrived")
    kinds = {c["kind"]: c for c in arrived["clocks"]}  # type: ignore[union-attr]
    assert kinds["arrive"]["state"] == "met" and kinds["resolve"]["state"] == "running"
    assert kinds["resolve"]["deadline"] and kinds["resolve"]["target_minutes"] == 180
    assert arrived["team_id"] == "near" and arrived["actor"] == "crew of near"


def test_a_team_cannot_act_on_another_teams_task(services: Services) -> None:
    incident_id = one_assigned(services)
    with pytest.raises(Forbidden):
        tasks.acknowledge(services, incident_id, crew("far"))
    with pytest.raises(NotFound):
        tasks.acknowledge(services, "inc-nope", crew("near"))


def test_an_invalid_step_is_refused_naming_the_current_state(services: Services) -> None:
    incident_id = one_assigned(services)
    with pytest.raises(InvalidTransition, match="it is assigned"):
        tasks.mark_en_route(services, incident_id, crew("near"))
    with pytest.raises(InvalidTransition, match="it is assigned"):
        tasks.resolve(services, incident_id, crew("near"))
    assert incident_row(services, incident_id).state == "assigned"


def test_a_decline_queues_the_incident_and_frees_and_excludes_the_team(
    services: Services,
) -> None:
    incident_id = one_assigned(services)
    view = tasks.decline(services, incident_id, crew("near"), "truck broken down")
    assert view.state == "queued" and view.team_id is None
    assert team_row(services, "near").active_tasks == 0
    with services.reads() as session:
        excluded = session.get(IncidentExclusionRow, (incident_id, "near"))
        assert excluded is not None and "truck broken down" in excluded.reason
    assert clock_row(services, incident_id, "acknowledge").state == "stopped"
    assert clock_row(services, incident_id, "arrive").state == "running"  # the caller still waits

    route(services)  # the dispatcher's next pass

    row = incident_row(services, incident_id)
    assert (row.state, row.team_id) == ("assigned", "far")
    assert clock_row(services, incident_id, "acknowledge", attempt=2).team_id == "far"


def test_cancelling_frees_the_team_and_stops_the_clocks(services: Services) -> None:
    incident_id = one_assigned(services)
    with pytest.raises(Forbidden):
        incidents.cancel(services, incident_id, crew("near"), "not mine to cancel")
    view = incidents.cancel(services, incident_id, DESK, "caller fixed it themselves")
    assert view.state == "cancelled"
    assert {c.state for c in view.clocks} == {"stopped"}
    assert team_row(services, "near").active_tasks == 0
    with pytest.raises(InvalidTransition, match="it is cancelled"):
        tasks.acknowledge(services, incident_id, DESK)


def test_priority_change_applies_the_new_target_from_the_original_report_time(
    services: Services, clock: ManualClock
) -> None:
    incident_id = one_assigned(services)
    reported = incident_row(services, incident_id).reported_at
    tasks.acknowledge(services, incident_id, crew("near"))
    assert clock_row(services, incident_id, "arrive").deadline == reported + timedelta(minutes=45)
    clock.advance(minutes=20)

    view = incidents.change_priority(services, incident_id, DESK, Priority.CRITICAL)

    arrive = next(c for c in view.clocks if c.kind == "arrive")
    assert arrive.deadline == reported + timedelta(minutes=30)  # not 20 + 30 minutes
    (event,) = payloads(services, incident_id, "incident.reprioritized")
    assert (event["old_priority"], event["new_priority"]) == ("normal", "critical")
    assert event["actor"] == "desk-1"
