"""Several teams for one incident (response plans), on both databases: a critical disaster
relief call gets two distinct teams, each with its own task, clocks and acknowledgement; a
support task that waits is routed later and never to a team on its incident already; a
dispatcher raises the level up to the plans' ceiling; the lead resolves last; calling the lead
off calls its supports off; storm grouping never merges into a support; and a replay of it all
equals the live tables."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select

from dispatch.adapters.orm import AssignmentRow, IncidentRow, SlaClockRow
from dispatch.service_layer import incidents, tasks
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.reassignment import candidates, reassign
from dispatch.service_layer.routing import route_queue
from dispatch.service_layer.services import Services
from dispatch.service_layer.support_tasks import raise_level
from dispatch.service_layer.watchdog import run_watchdog
from dispatch.views.board import incident_view
from dispatch.views.timeline import incident_timeline
from models.clock import ManualClock
from models.errors import (
    Forbidden,
    InvalidTransition,
    LevelAtCeiling,
    NoEligibleTeam,
    SupportsStillOpen,
)
from models.incident import Incident, IncidentKind, Priority
from models.team import Skill, Team
from tests.integration.spine_helpers import WUHAN, seed_teams, team
from tests.integration.test_lifecycle_support import crew, payloads, route
from tests.integration.test_replay_scenario import replay_live

ZHANG = Caller(Role.DISPATCHER, name="user:zhang.wei")
RELIEF = frozenset({Skill.REPAIR, Skill.DISASTER_RELIEF})


def relief_team(team_id: str, north_deg: float, capacity: int = 1) -> Team:
    base = team(team_id, WUHAN[0] + north_deg, WUHAN[1], capacity=capacity)
    return base.model_copy(update={"skills": RELIEF})


def call(n: int, at: object, kind: str = "disaster_relief", priority: str = "critical") -> Incident:
    return Incident(
        id=f"call-{n}",
        kind=IncidentKind(kind),
        priority=Priority(priority),
        latitude=WUHAN[0],
        longitude=WUHAN[1],
        region="wuhan",
        reported_at=at,  # type: ignore[arg-type]
    )


def rows(services: Services, ids: Sequence[str]) -> dict[str, IncidentRow]:
    with services.reads() as session:
        found = session.scalars(select(IncidentRow).where(IncidentRow.id.in_(ids))).all()
        return {r.id: r for r in found}


def teams_of(services: Services, *ids: str) -> list[str | None]:
    found = rows(services, ids)
    return [found[i].team_id for i in ids]


@pytest.fixture
def relief(services: Services) -> Services:
    """Three relief teams, nearest first, and a repair team nearer than all of them."""
    seed_teams(
        services,
        [
            relief_team("relief-1", 0.01),
            relief_team("relief-2", 0.02),
            relief_team("relief-3", 0.03),
            team("repair-only", WUHAN[0], WUHAN[1]).model_copy(
                update={"skills": frozenset({Skill.REPAIR})}
            ),
        ],
    )
    return services


def test_critical_disaster_relief_gets_two_distinct_teams_with_their_own_clocks(
    relief: Services,
) -> None:
    outcome = route(relief, [call(1, relief.clock.now())])
    assert outcome.assigned == 2
    assert teams_of(relief, "call-1", "call-1.1") == ["relief-1", "relief-2"]
    (requested,) = payloads(relief, "call-1.1", "incident.support_requested")
    assert (requested["lead_id"], requested["teams_wanted"], requested["actor"]) == (
        "call-1",
        2,
        "dispatcher",
    )
    with relief.reads() as session:
        clocks = session.execute(
            select(SlaClockRow.incident_id, SlaClockRow.kind, SlaClockRow.team_id).where(
                SlaClockRow.kind == "acknowledge"
            )
        ).all()
        view = incident_view(session, "call-1.1")
    assert sorted(clocks) == [
        ("call-1", "acknowledge", "relief-1"),
        ("call-1.1", "acknowledge", "relief-2"),
    ]
    assert view.lead_id == "call-1"
    assert [(t.incident_id, t.lead, t.team_id) for t in view.group] == [
        ("call-1", True, "relief-1"),
        ("call-1.1", False, "relief-2"),
    ]
    # each team acknowledges its own task only
    with pytest.raises(Forbidden):
        tasks.acknowledge(relief, "call-1", crew("relief-2"))
    tasks.acknowledge(relief, "call-1.1", crew("relief-2"))
    found = rows(relief, ["call-1", "call-1.1"])
    assert (found["call-1"].state, found["call-1.1"].state) == ("assigned", "acknowledged")


def test_an_ordinary_call_gets_one_team(relief: Services) -> None:
    outcome = route(relief, [call(1, relief.clock.now(), kind="repair", priority="normal")])
    assert outcome.assigned == 1
    assert set(rows(relief, ["call-1", "call-1.1"])) == {"call-1"}


def test_a_waiting_support_task_is_routed_later_and_never_to_a_team_on_its_incident(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, [relief_team("relief-1", 0.01, capacity=3)])
    route(services, [call(1, services.clock.now())])
    # the one relief team has room, but it holds the lead: the support waits
    assert teams_of(services, "call-1", "call-1.1") == ["relief-1", None]
    assert rows(services, ["call-1.1"])["call-1.1"].state == "queued"
    offered = {c.team_id: c for c in candidates(services, "call-1.1")}
    assert not offered["relief-1"].eligible
    assert offered["relief-1"].problem == "on_sibling_task"
    with pytest.raises(NoEligibleTeam, match="another task of this incident"):
        reassign(services, "call-1.1", ZHANG, "relief-1", "they are there already")
    seed_teams(services, [relief_team("relief-1", 0.01, capacity=3), relief_team("far", 0.2)])
    with services.sessions.begin() as session:
        route_queue(session, services, clock.now())
    assert teams_of(services, "call-1", "call-1.1") == ["relief-1", "far"]


def test_a_declined_support_goes_to_a_third_team_not_back_to_the_lead_team(
    relief: Services,
) -> None:
    route(relief, [call(1, relief.clock.now())])
    tasks.decline(relief, "call-1.1", crew("relief-2"), "truck stuck")
    with relief.sessions.begin() as session:
        route_queue(session, relief, relief.clock.now())
    assert teams_of(relief, "call-1", "call-1.1") == ["relief-1", "relief-3"]


def test_an_unacknowledged_support_is_withdrawn_on_its_own_clock(
    relief: Services, clock: ManualClock
) -> None:
    route(relief, [call(1, relief.clock.now())])
    tasks.acknowledge(relief, "call-1", crew("relief-1"))
    clock.advance(minutes=10)  # past the critical acknowledge target
    run_watchdog(relief)
    found = rows(relief, ["call-1", "call-1.1"])
    assert (found["call-1"].state, found["call-1"].team_id) == ("acknowledged", "relief-1")
    assert found["call-1.1"].state in ("queued", "assigned")
    assert found["call-1.1"].team_id != "relief-1"
    assert payloads(relief, "call-1.1", "task.reassigned")
    assert not payloads(relief, "call-1", "task.reassigned")


def test_raising_the_level_adds_a_team_up_to_the_ceiling_naming_the_dispatcher(
    relief: Services,
) -> None:
    route(relief, [call(1, relief.clock.now())])
    view = raise_level(relief, "call-1.1", ZHANG, "two streets flooded 两条街被淹")
    assert view.id == "call-1.1"  # raised through a support: the lead's incident gains one
    (requested,) = payloads(relief, "call-1.2", "incident.support_requested")
    assert (requested["lead_id"], requested["actor"], requested["teams_wanted"]) == (
        "call-1",
        "user:zhang.wei",
        3,
    )
    with relief.sessions.begin() as session:
        route_queue(session, relief, relief.clock.now())
    assert teams_of(relief, "call-1", "call-1.1", "call-1.2") == [
        "relief-1",
        "relief-2",
        "relief-3",
    ]
    raise_level(relief, "call-1", ZHANG, "more")
    raise_level(relief, "call-1", ZHANG, "more")  # five tasks: the built-in ceiling
    with pytest.raises(LevelAtCeiling, match="5 tasks open"):
        raise_level(relief, "call-1", ZHANG, "more")
    with pytest.raises(Forbidden):
        raise_level(relief, "call-1", Caller(Role.AUDITOR, name="auditor:li"), "more")
    with pytest.raises(Forbidden):
        raise_level(relief, "call-1", crew("relief-1"), "more")


def test_the_lead_resolves_after_its_supports(relief: Services) -> None:
    route(relief, [call(1, relief.clock.now())])
    for incident_id, team_id in (("call-1", "relief-1"), ("call-1.1", "relief-2")):
        tasks.acknowledge(relief, incident_id, crew(team_id))
        tasks.mark_on_scene(relief, incident_id, crew(team_id))
    with pytest.raises(SupportsStillOpen, match=r"call-1\.1"):
        tasks.resolve(relief, "call-1", crew("relief-1"))
    assert rows(relief, ["call-1"])["call-1"].state == "on_scene"
    tasks.resolve(relief, "call-1.1", crew("relief-2"), "trees cleared")
    tasks.resolve(relief, "call-1", crew("relief-1"), "power back")
    found = rows(relief, ["call-1", "call-1.1"])
    assert (found["call-1"].state, found["call-1.1"].state) == ("resolved", "resolved")
    with pytest.raises(InvalidTransition):
        raise_level(relief, "call-1", ZHANG, "too late")


def test_calling_off_the_lead_calls_off_its_open_supports_and_frees_their_teams(
    relief: Services,
) -> None:
    route(relief, [call(1, relief.clock.now())])
    raise_level(relief, "call-1", ZHANG, "one more")  # waits in the queue
    incidents.cancel(relief, "call-1", ZHANG, "false alarm 误报")
    found = rows(relief, ["call-1", "call-1.1", "call-1.2"])
    assert {r.state for r in found.values()} == {"cancelled"}
    (cancelled,) = payloads(relief, "call-1.1", "incident.cancelled")
    assert cancelled["released_team_id"] == "relief-2" and "call-1" in str(cancelled["reason"])
    with relief.reads() as session:
        assigned = session.scalars(select(AssignmentRow.team_id)).all()
    assert sorted(assigned) == ["relief-1", "relief-2"]
    outcome = route(relief, [call(2, relief.clock.now())])
    assert outcome.assigned == 2  # both teams free again


def test_a_report_near_a_lead_merges_into_the_lead_never_into_its_support(
    relief: Services,
) -> None:
    relief.settings.storm_radius_m = 200.0  # grouping on, as in production
    route(relief, [call(1, relief.clock.now())])
    route(relief, [call(2, relief.clock.now())])
    found = rows(relief, ["call-2"])
    assert (found["call-2"].state, found["call-2"].master_id) == ("merged", "call-1")


def test_replay_of_support_tasks_equals_live(relief: Services) -> None:
    route(relief, [call(1, relief.clock.now())])
    raise_level(relief, "call-1", ZHANG, "one more")
    tasks.decline(relief, "call-1.1", crew("relief-2"), "truck stuck")
    with relief.sessions.begin() as session:
        route_queue(session, relief, relief.clock.now())
    incidents.cancel(relief, "call-1.2", ZHANG, "not needed")
    result = replay_live(relief)
    assert result.compared and result.differences == []
    assert result.written["incidents"] == 3
    # the lead's audit timeline names each support task asked for, by whom and why
    with relief.engine.connect() as connection:
        requested = [
            (s.who, s.what)
            for s in incident_timeline(connection, "call-1")
            if s.type == "incident.support_requested"
        ]
    assert requested == [
        (
            "dispatcher",
            "支援任务 support task call-1.1 of call-1, 2 teams in all:"
            " 响应预案 response plan: 2 支队伍 teams",
        ),
        ("user:zhang.wei", "支援任务 support task call-1.2 of call-1, 3 teams in all: one more"),
    ]
