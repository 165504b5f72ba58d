"""The routing policy in the service, on every database backend: explanations stored, the
queue drained as teams free up, exclusions honoured, location fixes used while fresh."""

from __future__ import annotations

import json

from sqlalchemy import select

from dispatch.adapters.orm import AssignmentRow, IncidentRow
from dispatch.service_layer import access, tasks
from dispatch.service_layer.registry import report_location
from dispatch.service_layer.routing import handle_incident_records, route_queue
from dispatch.service_layer.services import Services
from events.log import LoggedEvent
from models.clock import ManualClock
from models.incident import Incident
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_routing_service import as_record


def route(services: Services, incidents: list[Incident]) -> dict[str, int]:
    records = [as_record(services, inc, n) for n, inc in enumerate(incidents)]
    return dict(handle_incident_records(services, records).by_rule)


def assignments(services: Services) -> list[AssignmentRow]:
    with services.reads() as session:
        return list(session.scalars(select(AssignmentRow).order_by(AssignmentRow.id)))


def state_of(services: Services, incident_id: str) -> str:
    with services.reads() as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        return row.state


def test_each_assignment_stores_its_rule_and_ranked_explanation(services: Services) -> None:
    seed_teams(services, [team("near", 30.60, 114.30), team("far", 30.70, 114.30)])
    by_rule = route(services, [incident(1, 30.601, 114.301, services.clock.now())])
    assert by_rule == {"grid_owner": 1}  # "near" owns the cells around its home
    (row,) = assignments(services)
    assert (row.team_id, row.rule) == ("near", "grid_owner")
    decision, *ranked = row.explanation
    assert decision["decision"] == "grid_owner" and decision["cell_owner"] == "near"
    assert "near owns the cell" in decision["reason"]
    assert [(e["rank"], e["team_id"], e["chosen"]) for e in ranked] == [
        (1, "near", True),
        (2, "far", False),
    ]
    assert ranked[0]["distance_km"] < ranked[1]["distance_km"]
    assert ranked[1]["eta_min"] > ranked[0]["eta_min"] > 0
    with services.reads() as session:
        logged = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == "team.assigned")
        ).one()
    assert json.loads(logged)["payload"]["explanation"] == row.explanation


def test_a_queued_incident_is_assigned_once_a_team_frees_up(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, [team("only", 30.60, 114.30, capacity=1)])
    first, second = (incident(n, 30.601, 114.301, clock.now()) for n in (1, 2))
    assert route(services, [first, second]) == {"grid_owner": 1}
    assert state_of(services, second.id) == "queued"
    with services.sessions.begin() as session:
        assert route_queue(session, services, clock.now()).assigned == 0  # still busy
    clock.advance(minutes=40)
    tasks.resolve_task(services, first.id, "only")
    clock.advance(minutes=20)  # past the rest period: "only" is the only team anyway
    with services.sessions.begin() as session:
        result = route_queue(session, services, clock.now())
    assert (result.assigned, result.waiting, dict(result.by_rule)) == (
        1,
        0,
        {"queued_then_assigned": 1},
    )
    latest = assignments(services)[-1]
    assert (latest.incident_id, latest.team_id) == (second.id, "only")
    decision = latest.explanation[0]
    assert decision["selected_by"] == "grid_owner" and decision["waited_min"] == 60.0
    assert state_of(services, second.id) == "assigned"


def test_a_team_that_declined_is_not_chosen_again_for_that_incident(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, [team("near", 30.60, 114.30), team("other", 30.80, 114.30)])
    call = incident(1, 30.601, 114.301, clock.now())
    route(services, [call])
    assert assignments(services)[0].team_id == "near"
    crew = access.Caller(access.Role.TEAM, team_id="near", name="team:near")
    tasks.decline(services, call.id, crew, reason="truck broke down")
    assert state_of(services, call.id) == "queued"
    with services.sessions.begin() as session:
        result = route_queue(session, services, clock.now())
    assert result.assigned == 1
    latest = assignments(services)[-1]
    assert (latest.team_id, latest.rule) == ("other", "queued_then_assigned")
    decision = latest.explanation[0]
    assert decision["selected_by"] == "spill_over"
    assert "near is excluded (declined: truck broke down)" in decision["reason"]
    assert "near" not in [e["team_id"] for e in latest.explanation[1:]]


def test_a_location_fix_is_used_while_fresh_then_home_again(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, [team("home-near", 30.70, 114.30), team("roaming", 31.50, 114.30)])
    report_location(services, "roaming", 30.601, 114.301)
    route(services, [incident(1, 30.60, 114.30, clock.now())])
    first = assignments(services)[0]
    assert first.team_id == "roaming"
    assert first.explanation[1]["position"] == "fix"
    clock.advance(minutes=31)
    route(services, [incident(2, 30.60, 114.30, clock.now())])
    second = assignments(services)[-1]
    assert second.team_id == "home-near"
    roaming = next(e for e in second.explanation[1:] if e["team_id"] == "roaming")
    assert roaming["position"] == "home_stale_fix" and roaming["fix_age_min"] == 31.0
    with services.reads() as session:
        located = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == "team.located")
        ).one()
    assert json.loads(located)["payload"]["team_id"] == "roaming"


def test_a_team_that_just_finished_rests_while_another_is_close(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, [team("tired", 30.60, 114.30, capacity=1), team("fresh", 30.63, 114.30)])
    first = incident(1, 30.601, 114.301, clock.now())
    route(services, [first])
    tasks.resolve_task(services, first.id, "tired")
    clock.advance(minutes=5)
    assert route(services, [incident(2, 30.601, 114.301, clock.now())]) == {"rest_rotation": 1}
    assert assignments(services)[-1].team_id == "fresh"


def test_the_grid_follows_a_registry_change(services: Services, clock: ManualClock) -> None:
    seed_teams(services, [team("first", 30.60, 114.30), team("second", 30.606, 114.30)])
    route(services, [incident(1, 30.601, 114.301, clock.now())])
    assert assignments(services)[-1].explanation[0]["cell_owner"] == "first"
    # "first" moves its base away: the cells around the incident now belong to "second"
    seed_teams(services, [team("first", 31.60, 114.30), team("second", 30.606, 114.30)])
    route(services, [incident(2, 30.601, 114.301, clock.now())])
    latest = assignments(services)[-1]
    assert (latest.team_id, latest.explanation[0]["cell_owner"]) == ("second", "second")
