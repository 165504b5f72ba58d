"""The team pool's mechanics: one batch query, widening when the short list runs dry, booking."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from models.incident import Incident, IncidentKind
from models.policy import RoutingPolicy
from models.routing import Request, TeamPool, TeamState
from models.team import Skill

NOW = datetime(2026, 7, 1, tzinfo=UTC)
ALL = frozenset(Skill)


def incident(n: int, lat: float, lon: float, kind: str = "repair") -> Incident:
    return Incident(
        id=f"inc-{n}", kind=IncidentKind(kind), latitude=lat, longitude=lon, reported_at=NOW
    )


def crowd(count: int, seed: int = 1) -> list[TeamState]:
    rng = random.Random(seed)
    return [
        TeamState(f"t{n:04d}", rng.uniform(30, 31), rng.uniform(114, 115), ALL, capacity=1)
        for n in range(count)
    ]


def test_a_batch_decides_as_one_incident_at_a_time() -> None:
    teams = crowd(200)
    rng = random.Random(2)
    requests = [
        Request(incident(n, rng.uniform(30, 31), rng.uniform(114, 115))) for n in range(150)
    ]
    batch = TeamPool(teams, NOW).choose_many(requests)
    single = TeamPool(teams, NOW)
    one_by_one = [single.choose(r) for r in requests]
    assert [c and c.team_id for c in batch] == [c and c.team_id for c in one_by_one]
    assert all(c is not None for c in batch)
    assert len({c.team_id for c in batch if c}) == 150  # capacity 1: every team once


def test_the_search_widens_past_the_first_neighbours_when_they_are_all_taken() -> None:
    teams = crowd(300)
    pool = TeamPool(teams, NOW, RoutingPolicy(index_neighbours=4, shortlist_size=2))
    requests = [Request(incident(n, 30.5, 114.5)) for n in range(300)]
    choices = pool.choose_many(requests)
    assert len({c.team_id for c in choices if c}) == 300
    distances = [c.distance_km for c in choices if c]
    assert distances == sorted(distances)  # each time the nearest of those left
    assert pool.choose(Request(incident(999, 30.5, 114.5))) is None


def test_an_incident_nobody_has_the_skill_for_waits() -> None:
    teams = [TeamState("a", 30.5, 114.5, frozenset({Skill.REPAIR}), capacity=3)]
    pool = TeamPool(teams, NOW)
    assert pool.choose(Request(incident(1, 30.5, 114.5, kind="disaster_relief"))) is None
    assert pool.load_of("a") == 0


def test_an_empty_pool_chooses_no_one() -> None:
    assert TeamPool([], NOW).choose_many([Request(incident(1, 30.5, 114.5))]) == [None]
