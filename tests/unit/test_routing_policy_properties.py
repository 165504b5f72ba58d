"""Properties of the routing policy over random teams and incidents (hypothesis).

The truth is computed here, independently of the pool: geographiclib geodesics from each
team's effective position (a fresh fix, else home) to the incident, over every team.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from models.geodesy import (
    ReducedPoints,
    geodesic_km,
    geodesic_km_exact,
    geodesic_lower_bound_km,
    unit_vectors,
)
from models.grid import cell_of
from models.incident import AreaClass, Incident, IncidentKind
from models.policy import RoutingPolicy
from models.routing import Choice, Fix, Request, TeamPool, TeamState
from models.rules import Rule
from models.team import SKILL_FOR_KIND, Skill

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
# around Wuhan, so that owners within reach, spill-over and far teams all occur
LAT, LON = st.floats(30.0, 31.2), st.floats(113.7, 114.9)


@st.composite
def team_states(draw: st.DrawFn, n: int) -> TeamState:
    fix = None
    if draw(st.booleans()):
        age = draw(st.floats(0, 60))
        fix = Fix(draw(LAT), draw(LON), NOW - timedelta(minutes=age))
    finished = None
    if draw(st.integers(0, 3)) == 0:
        finished = NOW - timedelta(minutes=draw(st.floats(0, 30)))
    capacity = draw(st.integers(1, 3))
    return TeamState(
        team_id=f"t{n:03d}",
        latitude=draw(LAT),
        longitude=draw(LON),
        skills=frozenset(draw(st.sets(st.sampled_from(list(Skill)), min_size=1))),
        capacity=capacity,
        load=draw(st.integers(0, capacity)),
        available=draw(st.integers(0, 5)) > 0,
        fix=fix,
        last_finished_at=finished,
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[TeamState], list[Request], dict[str, str]]:
    count = draw(st.integers(1, 30))
    teams = [draw(team_states(n)) for n in range(count)]
    requests = []
    owners: dict[str, str] = {}
    for n in range(draw(st.integers(1, 6))):
        lat, lon = draw(LAT), draw(LON)
        incident = Incident(
            id=f"inc-{n}",
            kind=draw(st.sampled_from(list(IncidentKind))),
            latitude=lat,
            longitude=lon,
            area_class=draw(st.sampled_from(list(AreaClass))),
            reported_at=NOW - timedelta(minutes=draw(st.floats(0, 120))),
        )
        excluded = {t.team_id: "declined" for t in teams if draw(st.integers(0, 6)) == 0}
        requests.append(Request(incident, excluded, queued=draw(st.booleans())))
        if draw(st.booleans()):
            owners[cell_of(lat, lon)] = draw(st.sampled_from(teams)).team_id
    return teams, requests, owners


POLICIES = st.sampled_from(
    [
        RoutingPolicy(),
        # tiny index queries and short lists: the widening path and its bound do the work
        RoutingPolicy(index_neighbours=1, shortlist_size=1),
        RoutingPolicy(index_neighbours=2, shortlist_size=3, rest_slack_min=30),
        RoutingPolicy(rest_min=0, fix_max_age_min=5),
    ]
)


@dataclass
class Truth:
    eta: dict[str, float]  # every eligible team's travel time, minutes

    @property
    def best(self) -> float:
        return min(self.eta.values())


def truth(
    teams: list[TeamState], request: Request, policy: RoutingPolicy, spare: dict[str, int]
) -> Truth:
    incident = request.incident
    skill = SKILL_FOR_KIND[incident.kind]
    eta = {}
    for t in teams:
        if not t.available or spare[t.team_id] <= 0 or skill not in t.skills:
            continue
        if t.team_id in request.excluded:
            continue
        fresh = t.fix is not None and NOW - t.fix.at <= timedelta(minutes=policy.fix_max_age_min)
        lat, lon = (
            (t.fix.latitude, t.fix.longitude) if fresh and t.fix else (t.latitude, t.longitude)
        )
        km = geodesic_km_exact(incident.latitude, incident.longitude, lat, lon)
        eta[t.team_id] = policy.eta_min(km, incident.area_class)
    return Truth(eta)


def resting(team: TeamState, policy: RoutingPolicy) -> bool:
    done = team.last_finished_at
    return (
        policy.rest_min > 0 and done is not None and NOW - done < timedelta(minutes=policy.rest_min)
    )


def check_choice(
    choice: Choice | None,
    request: Request,
    teams: list[TeamState],
    owners: dict[str, str],
    policy: RoutingPolicy,
    spare: dict[str, int],
) -> None:
    known = truth(teams, request, policy, spare)
    if not known.eta:
        assert choice is None  # nobody eligible: the incident waits
        return
    assert choice is not None  # someone eligible: never dropped
    # an unavailable, full, unskilled or excluded team is never chosen
    assert choice.team_id in known.eta
    eta = known.eta[choice.team_id]
    assert abs(choice.eta_min - eta) < 1e-6
    reach = policy.reach_min[request.incident.area_class]
    owner = owners.get(cell_of(request.incident.latitude, request.incident.longitude))
    by_id = {t.team_id: t for t in teams}
    slack = 1e-6
    # never farther than another eligible team by more than the rules allow
    if choice.selected_by in (Rule.NEAREST, Rule.SPILL_OVER):
        assert eta <= known.best + slack
    elif choice.selected_by is Rule.GRID_OWNER:
        assert choice.team_id == owner
        assert eta <= reach + slack or eta <= known.best + slack
    else:
        assert choice.selected_by is Rule.REST_ROTATION
        assert not resting(by_id[choice.team_id], policy)
        assert eta <= max(known.best, reach) + policy.rest_slack_min + slack
    # an eligible owner within reach wins, unless it rests and someone stands in
    if owner in known.eta and known.eta[owner] <= reach:
        if not resting(by_id[owner], policy):
            assert (choice.team_id, choice.selected_by) == (owner, Rule.GRID_OWNER)
        else:
            assert choice.selected_by in (Rule.GRID_OWNER, Rule.REST_ROTATION)
    assert (choice.rule is Rule.QUEUED_THEN_ASSIGNED) == request.queued


@settings(max_examples=120, deadline=None)
@given(scenarios(), POLICIES)
def test_every_choice_keeps_the_rules(
    scenario: tuple[list[TeamState], list[Request], dict[str, str]], policy: RoutingPolicy
) -> None:
    teams, requests, owners = scenario
    pool = TeamPool(teams, NOW, policy, owners)
    spare = {t.team_id: (t.capacity - t.load if t.available else 0) for t in teams}
    for request, choice in zip(requests, pool.choose_many(requests), strict=True):
        check_choice(choice, request, teams, owners, policy, spare)
        if choice is not None:
            spare[choice.team_id] -= 1


@settings(max_examples=80, deadline=None)
@given(scenarios(), POLICIES)
def test_the_fast_pool_decides_as_the_brute_force_reference(
    scenario: tuple[list[TeamState], list[Request], dict[str, str]], policy: RoutingPolicy
) -> None:
    teams, requests, owners = scenario
    fast, reference = TeamPool(teams, NOW, policy, owners), TeamPool(teams, NOW, policy, owners)
    for request, choice in zip(requests, fast.choose_many(requests), strict=True):
        expected = reference.choose_exhaustive(request)
        assert (choice and (choice.team_id, choice.rule)) == (
            expected and (expected.team_id, expected.rule)
        )
        if expected is not None:
            reference.take(expected.team_id)


@settings(max_examples=300, deadline=None)
@given(LAT, LON, st.floats(-80, 80), st.floats(-180, 180))
@example(30.0, 113.75, 30.000000000000004, 113.75)
def test_vincenty_matches_geographiclib_and_the_chord_bound_holds(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    a = ReducedPoints(np.array([lat1]), np.array([lon1]))
    b = ReducedPoints(np.array([lat2]), np.array([lon2]))
    km = float(geodesic_km(a, np.array([0]), b, np.array([0]))[0])
    exact = geodesic_km_exact(lat1, lon1, lat2, lon2)
    assert abs(km - exact) < 1e-6  # a millimetre
    chord = np.linalg.norm(
        unit_vectors(np.array(lat1), np.array(lon1)) - unit_vectors(np.array(lat2), np.array(lon2))
    )
    # up to rounding: unit vectors carry ~1e-16 of the earth's radius each (found in CI with
    # two points 4e-16 degrees apart, bound 8.6e-13 km against 7.1e-13 km)
    assert float(geodesic_lower_bound_km(np.array([chord]))[0]) <= exact + 1e-9  # a micrometre
