"""Reassigning by hand, on both databases: the teams to choose from, nearest eligible first;
the former team's task withdrawn and the chosen team's acknowledge clock started, each step
logged with the person and the reason; every refusal leaves the log as it was; and a replay
of the log equals the live tables."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import pytest

from dispatch.service_layer import tasks
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.reassignment import candidates, reassign
from dispatch.service_layer.roster import import_shifts
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import declare_storm_mode
from models.clock import ManualClock
from models.errors import DomainError, Forbidden, InvalidTransition
from models.reassignment import TeamCannotGoNow, TeamUnfit
from models.roster import Shift
from models.team import Skill, Team, TeamStatus
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team
from tests.integration.test_lifecycle_support import (
    clock_row,
    crew,
    event_types,
    incident_row,
    payloads,
    route,
    team_row,
)
from tests.integration.test_replay_scenario import replay_live

ZHANG = Caller(Role.DISPATCHER, name="user:zhang.wei")
WHY = "光谷服务队被积水困住 team-a stuck behind a flooded road"


def _team(team_id: str, north_deg: float, **changes: object) -> Team:
    return team(team_id, WUHAN[0] + north_deg, WUHAN[1]).model_copy(update=changes)


TEAMS = [
    _team("team-a", 0.0),  # routing's pick for the incident at WUHAN
    _team("team-b", 0.05),  # about 5.5 km: the nearest that can go
    _team("team-c", 0.10),
    _team("team-full", -0.05, capacity=1),  # takes the report at its own base
    _team("team-busy", 0.01, status=TeamStatus.BUSY),
    _team("team-relief", 0.02, skills=frozenset({Skill.DISASTER_RELIEF})),
]


@dataclass
class World:
    services: Services
    task_id: str  # with team-a
    other_id: str  # with team-full, which is now full


@pytest.fixture
def world(services: Services) -> World:
    seed_teams(services, TEAMS)
    now = services.clock.now()
    task = incident(1, *WUHAN, now)
    other = incident(2, WUHAN[0] - 0.05, WUHAN[1], now)
    route(services, [task, other])
    assert incident_row(services, task.id).team_id == "team-a"
    assert incident_row(services, other.id).team_id == "team-full"
    return World(services, task.id, other.id)


def test_the_candidates_rank_the_nearest_eligible_first_and_say_why_the_others_cannot(
    world: World,
) -> None:
    ranked = candidates(world.services, world.task_id)
    assert [(c.team_id, c.rank) for c in ranked if c.eligible] == [("team-b", 1), ("team-c", 2)]
    assert ranked[0].distance_km == pytest.approx(5.54, abs=0.05)
    assert ranked[0].eta_min > 0 and (ranked[0].load, ranked[0].capacity) == (0, 2)
    problems = {c.team_id: c.problem for c in ranked if not c.eligible}
    assert problems == {
        "team-a": "current_team",
        "team-busy": "unavailable",
        "team-relief": "lacks_skill",
        "team-full": "full",
    }
    assert [c.team_id for c in ranked[2:]] == ["team-a", "team-busy", "team-relief", "team-full"]
    why = {c.team_id: c.why_not for c in ranked}
    assert why["team-full"] == "任务已满（1/1） full (1/1 tasks)"
    assert "lacks the skill repair" in why["team-relief"] and why["team-b"] == ""
    assert all(c.rank is None for c in ranked if not c.eligible)
    assert [c.team_id for c in candidates(world.services, world.task_id, limit=1)] == ["team-b"]


def test_an_assigned_task_is_handed_to_the_chosen_team_with_a_fresh_acknowledge_clock(
    world: World, clock: ManualClock
) -> None:
    services = world.services
    clock.advance(minutes=2)
    view = reassign(services, world.task_id, ZHANG, "team-c", WHY)

    assert (view.state, view.team_id) == ("assigned", "team-c")
    assert team_row(services, "team-a").active_tasks == 0
    assert team_row(services, "team-c").active_tasks == 1
    former = clock_row(services, world.task_id, "acknowledge", 1)
    assert (former.team_id, former.state, former.closed_at) == ("team-a", "stopped", clock.now())
    fresh = clock_row(services, world.task_id, "acknowledge", 2)
    assert (fresh.team_id, fresh.state, fresh.started_at) == ("team-c", "running", clock.now())
    assert clock_row(services, world.task_id, "arrive").state == "running"
    assert event_types(services, world.task_id)[-3:] == [
        "incident.reassigned",
        "team.assigned",
        "sla.clocks_started",
    ]
    (withdrawn,) = payloads(services, world.task_id, "incident.reassigned")
    assert (withdrawn["actor"], withdrawn["reason"]) == ("user:zhang.wei", WHY)
    assert (withdrawn["from_team_id"], withdrawn["to_team_id"]) == ("team-a", "team-c")
    decision, *listed = view.explanation
    assert decision["decision"] == "by_hand" and decision["by"] == "user:zhang.wei"
    assert decision["reason"] == f"人工改派 chosen by hand by user:zhang.wei: {WHY}"
    assert [(e["team_id"], e["rank"], e["chosen"]) for e in listed][-1] == ("team-c", 2, True)
    assert view.timeline[-1].actor == "user:zhang.wei"
    with pytest.raises(Forbidden):  # the task is no longer team-a's
        tasks.acknowledge(services, world.task_id, crew("team-a"))
    assert tasks.acknowledge(services, world.task_id, crew("team-c")).state == "acknowledged"


@pytest.mark.parametrize("steps", [["acknowledge"], ["acknowledge", "mark_en_route"]])
def test_a_task_under_way_is_taken_back_and_the_chosen_team_must_acknowledge_it(
    world: World, clock: ManualClock, steps: list[str]
) -> None:
    services = world.services
    for step in steps:
        getattr(tasks, step)(services, world.task_id, crew("team-a"))
    clock.advance(minutes=5)
    view = reassign(services, world.task_id, ZHANG, "team-b", WHY)

    assert (view.state, view.team_id) == ("assigned", "team-b")
    assert incident_row(services, world.task_id).acknowledged_at is None
    assert clock_row(services, world.task_id, "acknowledge", 1).state == "met"  # as it was
    assert clock_row(services, world.task_id, "acknowledge", 2).team_id == "team-b"
    assert team_row(services, "team-a").active_tasks == 0


def test_a_queued_incident_is_assigned_by_hand_even_to_a_team_routing_excludes(
    services: Services,
) -> None:
    seed_teams(services, [TEAMS[0], TEAMS[5]])  # team-a, and a team without the skill
    task = incident(1, *WUHAN, services.clock.now())
    route(services, [task])
    tasks.decline(services, task.id, crew("team-a"), "crew at another job")
    assert incident_row(services, task.id).state == "queued"
    (offered,) = [c for c in candidates(services, task.id) if c.eligible]
    assert offered.team_id == "team-a" and offered.excluded == "declined: crew at another job"

    view = reassign(services, task.id, ZHANG, "team-a", "the other job is done")
    assert (view.state, view.team_id) == ("assigned", "team-a")
    (withdrawn,) = payloads(services, task.id, "incident.reassigned")
    assert withdrawn["from_team_id"] is None
    assert clock_row(services, task.id, "acknowledge", 2).state == "running"


@pytest.mark.parametrize(
    ("team_id", "refused", "words"),
    [
        ("team-a", TeamCannotGoNow, "has the incident now"),
        ("team-full", TeamCannotGoNow, "full (1/1 tasks)"),
        ("team-busy", TeamCannotGoNow, "not available (busy)"),
        ("team-relief", TeamUnfit, "lacks the skill repair"),
        ("team-nowhere", TeamUnfit, "no such team"),
    ],
)
def test_a_team_that_cannot_take_it_is_refused_and_nothing_is_logged(
    world: World, team_id: str, refused: type[DomainError], words: str
) -> None:
    before = event_types(world.services, world.task_id)
    with pytest.raises(refused, match=re.escape(words)) as error:
        reassign(world.services, world.task_id, ZHANG, team_id, WHY)
    assert f"不能改派给队伍 {team_id}" in str(error.value)
    assert event_types(world.services, world.task_id) == before
    assert incident_row(world.services, world.task_id).team_id == "team-a"


def test_only_the_dispatch_center_reassigns_and_not_a_team_on_scene(world: World) -> None:
    services = world.services
    for caller in (crew("team-a"), Caller(Role.AUDITOR, name="user:li.na")):
        with pytest.raises(Forbidden):
            reassign(services, world.task_id, caller, "team-b", WHY)
    for step in (tasks.acknowledge, tasks.mark_on_scene):
        step(services, world.task_id, crew("team-a"))
    on_scene = "cannot reassign incident inc-00001: it is on_scene"
    with pytest.raises(InvalidTransition, match=on_scene):
        reassign(services, world.task_id, ZHANG, "team-b", WHY)
    assert incident_row(services, world.task_id).team_id == "team-a"


def test_a_replay_of_the_log_equals_the_live_tables_after_reassignments(
    world: World, clock: ManualClock
) -> None:
    services = world.services
    clock.advance(minutes=1)
    reassign(services, world.task_id, ZHANG, "team-b", WHY)
    clock.advance(minutes=1)
    tasks.acknowledge(services, world.task_id, crew("team-b"))
    reassign(services, world.task_id, ZHANG, "team-c", "team-b is needed elsewhere")
    result = replay_live(services)
    assert result.compared and not result.board.unprojected
    assert result.differences == [], result.differences[:5]
    assert team_row(services, "team-b").active_tasks == 0


def test_the_roster_and_storm_mode_bind_a_choice_by_hand_as_they_bind_routing(
    services: Services,
) -> None:
    """An off-duty team and a reserve squad on standby are listed with why not and refused
    (409); once storm mode is on in the division, the reserve squad may be chosen."""
    seed_teams(
        services,
        [_team("team-a", 0.0), _team("team-off", 0.01), _team("team-reserve", 0.02, reserve=True)],
    )
    now = services.clock.now()
    later = Shift("team-off", now + timedelta(hours=2), now + timedelta(hours=10))
    import_shifts(services, ZHANG, [later])
    task = incident(1, *WUHAN, now)
    route(services, [task])

    why_not = {c.team_id: (c.problem, c.why_not) for c in candidates(services, task.id)}
    assert why_not["team-off"] == ("off_duty", "不在值班时段 off duty by the roster")
    assert why_not["team-reserve"][0] == "reserve_standby"
    for team_id in ("team-off", "team-reserve"):
        with pytest.raises(TeamCannotGoNow, match=f"不能改派给队伍 {team_id}"):
            reassign(services, task.id, ZHANG, team_id, WHY)

    declare_storm_mode(services, ZHANG, "wuhan", "暴雨红色预警")
    chosen = {c.team_id: c.eligible for c in candidates(services, task.id)}
    assert chosen == {"team-a": False, "team-off": False, "team-reserve": True}
    view = reassign(services, task.id, ZHANG, "team-reserve", WHY)
    assert view.team_id == "team-reserve"
    assigned = payloads(services, task.id, "team.assigned")[-1]
    assert assigned["rule"] == "by_hand"
    assert assigned["explanation"][0]["storm_mode"]["division"] == "wuhan"  # type: ignore[index]
