"""The routing policy's rules, one behaviour at a time: owners, spill-over, fixes, rest, queue."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.grid import cell_of
from models.incident import AreaClass, Incident, IncidentKind, Priority
from models.policy import RoutingPolicy, dispatch_order, effective_rank
from models.routing import Fix, Request, TeamPool, TeamState
from models.rules import Rule
from models.team import Skill

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
ALL = frozenset(Skill)
HERE = (30.60, 114.30)


def team(
    team_id: str,
    lat: float,
    lon: float,
    *,
    capacity: int = 2,
    load: int = 0,
    available: bool = True,
    skills: frozenset[Skill] = ALL,
    fix: Fix | None = None,
    finished: datetime | None = None,
) -> TeamState:
    return TeamState(team_id, lat, lon, skills, capacity, load, available, fix, finished)


def incident(
    lat: float = HERE[0],
    lon: float = HERE[1],
    kind: str = "repair",
    priority: Priority = Priority.NORMAL,
    at: datetime = NOW,
    area: AreaClass = AreaClass.URBAN,
    incident_id: str = "inc-1",
) -> Incident:
    return Incident(
        id=incident_id,
        kind=IncidentKind(kind),
        priority=priority,
        latitude=lat,
        longitude=lon,
        area_class=area,
        reported_at=at,
    )


def owned_by(team_id: str, lat: float = HERE[0], lon: float = HERE[1]) -> dict[str, str]:
    return {cell_of(lat, lon): team_id}


def test_nearest_eligible_team_is_chosen_when_the_cell_has_no_owner() -> None:
    pool = TeamPool(
        [team("far", 31.5, 114.3), team("near", 30.61, 114.30), team("mid", 30.9, 114.3)], NOW
    )
    choice = pool.choose(Request(incident()))
    assert choice is not None
    assert (choice.team_id, choice.rule) == ("near", Rule.NEAREST)
    assert [r.team_id for r in choice.shortlist] == ["near", "mid", "far"]
    assert 1.0 < choice.distance_km < 1.2
    assert choice.eta_min == pytest.approx(choice.distance_km / 25.0 * 60)  # urban: 25 km/h


def test_full_unavailable_unskilled_and_excluded_teams_are_never_chosen() -> None:
    pool = TeamPool(
        [
            team("full", 30.600, 114.30, capacity=1, load=1),
            team("off", 30.601, 114.31, available=False),
            team("no-skill", 30.602, 114.32, skills=frozenset({Skill.ASSISTANCE})),
            team("declined", 30.603, 114.30),
            team("ok", 30.80, 114.30, capacity=1),
        ],
        NOW,
    )
    request = Request(incident(), excluded={"declined": "declined: truck broke down"})
    choice = pool.choose(request)
    assert choice is not None and choice.team_id == "ok"
    assert [r.team_id for r in choice.shortlist] == ["ok"]
    assert pool.choose(request) is None  # "ok" is now booked to capacity


def test_an_eligible_grid_owner_within_reach_wins_over_a_nearer_team() -> None:
    teams = [team("nearer", 30.601, 114.30), team("owner", 30.70, 114.30)]  # owner 11 km
    pool = TeamPool(teams, NOW, owners=owned_by("owner"))
    choice = pool.choose(Request(incident()))
    assert choice is not None
    assert (choice.team_id, choice.rule) == ("owner", Rule.GRID_OWNER)
    assert choice.eta_min < 45
    decision, *entries = choice.explanation()
    assert decision["decision"] == "grid_owner" and decision["cell_owner"] == "owner"
    assert [e["team_id"] for e in entries] == ["nearer", "owner"]
    assert [e["chosen"] for e in entries] == [False, True]


def test_an_owner_beyond_reach_spills_over_to_the_nearest() -> None:
    teams = [team("nearer", 30.601, 114.30), team("owner", 31.20, 114.30)]  # 67 km: 160 min
    pool = TeamPool(teams, NOW, owners=owned_by("owner"))
    choice = pool.choose(Request(incident()))
    assert choice is not None
    assert (choice.team_id, choice.rule) == ("nearer", Rule.SPILL_OVER)
    assert "beyond reach" in choice.owner_status and "spill-over" in choice.reason


def test_an_owner_without_capacity_spills_over_and_the_reason_says_so() -> None:
    teams = [team("other", 30.65, 114.30), team("owner", 30.60, 114.30, capacity=1, load=1)]
    pool = TeamPool(teams, NOW, owners=owned_by("owner"))
    choice = pool.choose(Request(incident()))
    assert choice is not None
    assert (choice.team_id, choice.rule) == ("other", Rule.SPILL_OVER)
    assert "owner has no capacity left" in choice.reason


def test_reach_depends_on_the_area_class() -> None:
    teams = [team("nearer", 30.601, 114.30), team("owner", 30.90, 114.30)]  # 33 km
    pool = TeamPool(teams, NOW, owners=owned_by("owner"))
    urban = pool.choose(Request(incident(area=AreaClass.URBAN)), book=False)
    rural = pool.choose(Request(incident(area=AreaClass.RURAL)), book=False)
    assert urban is not None and rural is not None
    assert (urban.rule, rural.rule) == (Rule.SPILL_OVER, Rule.GRID_OWNER)


def test_a_fresh_fix_is_used_and_a_stale_fix_falls_back_to_home_saying_so() -> None:
    moved = Fix(30.60, 114.30, NOW - timedelta(minutes=10))  # right at the incident
    stale = Fix(30.60, 114.301, NOW - timedelta(minutes=31))
    teams = [
        team("moved", 31.0, 114.3, fix=moved),
        team("stale", 31.1, 114.3, fix=stale),
        team("home", 30.7, 114.3),
    ]
    choice = TeamPool(teams, NOW).choose(Request(incident()))
    assert choice is not None and choice.team_id == "moved"
    entries = {e["team_id"]: e for e in choice.explanation()[1:]}
    assert entries["moved"]["position"] == "fix" and entries["moved"]["fix_age_min"] == 10.0
    assert entries["stale"]["position"] == "home_stale_fix"
    assert entries["stale"]["fix_age_min"] == 31.0
    assert float(str(entries["stale"]["distance_km"])) > 50  # measured from home, not the fix
    assert entries["home"]["position"] == "home"


def test_fix_age_limit_is_a_knob() -> None:
    fix = Fix(30.60, 114.30, NOW - timedelta(minutes=40))
    teams = [team("fixed", 31.0, 114.3, fix=fix), team("home", 30.7, 114.3)]
    strict = TeamPool(teams, NOW).choose(Request(incident()))
    lenient = TeamPool(teams, NOW, RoutingPolicy(fix_max_age_min=60)).choose(Request(incident()))
    assert strict is not None and lenient is not None
    assert (strict.team_id, lenient.team_id) == ("home", "fixed")


def test_a_resting_team_is_skipped_when_another_is_close_enough() -> None:
    just_done = NOW - timedelta(minutes=5)
    teams = [team("tired", 30.601, 114.30, finished=just_done), team("fresh", 30.63, 114.30)]
    choice = TeamPool(teams, NOW).choose(Request(incident()))
    assert choice is not None
    assert (choice.team_id, choice.rule) == ("fresh", Rule.REST_ROTATION)
    assert "tired" in choice.reason and "rests" in choice.reason


def test_a_resting_team_still_goes_when_no_one_else_is_close_enough() -> None:
    just_done = NOW - timedelta(minutes=5)
    teams = [team("tired", 30.601, 114.30, finished=just_done), team("far", 30.75, 114.30)]
    choice = TeamPool(teams, NOW).choose(Request(incident()))  # "far": 16 km, 38 min slower
    assert choice is not None and (choice.team_id, choice.rule) == ("tired", Rule.NEAREST)
    rested_long_ago = [team("tired", 30.601, 114.30, finished=NOW - timedelta(minutes=20))]
    again = TeamPool(rested_long_ago + teams[1:], NOW).choose(Request(incident()))
    assert again is not None and again.team_id == "tired"


def test_rest_rotation_can_be_turned_off() -> None:
    teams = [
        team("tired", 30.601, 114.30, finished=NOW - timedelta(minutes=5)),
        team("fresh", 30.63, 114.30),
    ]
    choice = TeamPool(teams, NOW, RoutingPolicy(rest_min=0)).choose(Request(incident()))
    assert choice is not None and choice.team_id == "tired"


def test_a_queued_incident_is_assigned_with_the_rule_that_says_it_waited() -> None:
    pool = TeamPool([team("a", 30.61, 114.30)], NOW)
    earlier = incident(at=NOW - timedelta(minutes=12))
    choice = pool.choose(Request(earlier, queued=True))
    assert choice is not None
    assert (choice.rule, choice.selected_by) == (Rule.QUEUED_THEN_ASSIGNED, Rule.NEAREST)
    assert choice.reason.startswith("waited 12 min in the queue")
    assert choice.explanation()[0]["waited_min"] == 12.0


def test_booking_fills_capacity_in_batch_order() -> None:
    pool = TeamPool([team("a", 30.61, 114.30, capacity=2)], NOW)
    requests = [Request(incident(incident_id=f"i{n}")) for n in range(3)]
    choices = pool.choose_many(requests)
    assert [c.team_id if c else None for c in choices] == ["a", "a", None]
    assert pool.load_of("a") == 2


def test_priority_comes_first_then_first_come_first_served() -> None:
    policy = RoutingPolicy()
    normal_early = incident(incident_id="n1", at=NOW - timedelta(minutes=5))
    normal_late = incident(incident_id="n2", at=NOW - timedelta(minutes=1))
    hardship = incident(incident_id="h", priority=Priority.HARDSHIP, at=NOW)
    critical = incident(incident_id="c", priority=Priority.CRITICAL, at=NOW)
    order = dispatch_order([normal_late, hardship, normal_early, critical], NOW, policy)
    assert [i.id for i in order] == ["c", "h", "n1", "n2"]


def test_ageing_lifts_a_long_wait_above_newer_urgent_calls() -> None:
    policy = RoutingPolicy(ageing_step_min=30)
    old_low = incident(incident_id="old", priority=Priority.LOW, at=NOW - timedelta(minutes=95))
    new_critical = incident(incident_id="new", priority=Priority.CRITICAL, at=NOW)
    assert effective_rank(old_low, NOW, policy) == 0  # 3 levels in 95 min
    order = dispatch_order([new_critical, old_low], NOW, policy)
    assert [i.id for i in order] == ["old", "new"]
    younger = incident(incident_id="young", priority=Priority.LOW, at=NOW - timedelta(minutes=50))
    assert effective_rank(younger, NOW, policy) == 2
    assert [i.id for i in dispatch_order([younger, new_critical], NOW, policy)] == [
        "new",
        "young",
    ]


def test_the_knobs_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from dispatch.config import Settings

    monkeypatch.setenv("EVERYCALL_ROUTING__FIX_MAX_AGE_MIN", "20")
    monkeypatch.setenv("EVERYCALL_ROUTING__REACH_MIN", '{"urban": 30, "rural": 60, "remote": 90}')
    policy = Settings().routing
    assert policy.fix_max_age_min == 20
    assert policy.reach_min[AreaClass.URBAN] == 30 and policy.reach_km(AreaClass.URBAN) == 12.5
    assert policy.rest_min == RoutingPolicy().rest_min  # the rest keep their defaults


def test_a_reach_or_speed_table_must_cover_every_area_class() -> None:
    with pytest.raises(ValueError, match="missing area classes: rural, remote"):
        RoutingPolicy(reach_min={AreaClass.URBAN: 30.0})
    with pytest.raises(ValueError, match="positive"):
        RoutingPolicy(speed_kmh={AreaClass.URBAN: 0.0, AreaClass.RURAL: 1.0, AreaClass.REMOTE: 1.0})
