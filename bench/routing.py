"""Routing speed: the policy's team selection against a geopy-geodesic brute force, both
measured in this run, among the 310 Hubei teams and among 100,000 synthetic teams.

Selections per second count CPU time of this thread (`time.thread_time`), so other work on a
shared machine does not distort them; wall-clock figures are printed beside. The last line is
JSON: the 310-team figures, with the 100,000-team ones under "large".

    .venv/bin/python bench/routing.py [--incidents N] [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from geopy.distance import geodesic

from models.grid import assign_cell_owners, cell_of
from models.hubei import DIVISIONS, area_class_at, hubei_registry
from models.incident import Incident, IncidentKind
from models.policy import RoutingPolicy
from models.routing import Choice, Fix, Request, TeamPool, TeamState
from models.team import GeoPoint, Skill, Team

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
KINDS = {
    IncidentKind.REPAIR: 0.45,
    IncidentKind.OUTAGE: 0.25,
    IncidentKind.VULNERABLE_ASSISTANCE: 0.12,
    IncidentKind.EQUIPMENT_CHECK: 0.10,
    IncidentKind.DISASTER_RELIEF: 0.08,
}


def synthetic_teams(count: int, seed: int = 11) -> list[Team]:
    """`count` teams spread over the 17 divisions by population, around each division centre."""
    rng = random.Random(seed)
    weights = [d.population_m for d in DIVISIONS]
    teams = []
    for n in range(count):
        d = rng.choices(DIVISIONS, weights)[0]
        km, bearing = d.jitter_km * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        lat = d.latitude + km * math.cos(bearing) / 111.32
        lon = d.longitude + km * math.sin(bearing) / (111.32 * math.cos(math.radians(lat)))
        skills = {Skill.REPAIR} | {s for s in Skill if rng.random() < 0.8}
        teams.append(
            Team(
                id=f"SYN-{n:06d}",
                name=f"synthetic {n}",
                region=d.code,
                home=GeoPoint(latitude=lat, longitude=lon),
                members=1,
                party_members=1,
                skills=frozenset(skills),
                capacity=rng.randint(2, 5),
            )
        )
    return teams


def states_in_a_storm(teams: Sequence[Team], seed: int = 3) -> list[TeamState]:
    """A busy afternoon: a fifth of the teams full, half with a fix (some stale), some resting."""
    rng = random.Random(seed)
    states = []
    for t in teams:
        fix = None
        if rng.random() < 0.5:
            age = timedelta(minutes=rng.uniform(0, 60))
            fix = Fix(
                t.home.latitude + rng.gauss(0, 0.03),
                t.home.longitude + rng.gauss(0, 0.03),
                NOW - age,
            )
        finished = NOW - timedelta(minutes=rng.uniform(0, 20)) if rng.random() < 0.1 else None
        load = t.capacity if rng.random() < 0.2 else rng.randint(0, t.capacity - 1)
        states.append(
            TeamState(
                t.id,
                t.home.latitude,
                t.home.longitude,
                t.skills,
                t.capacity,
                load,
                True,
                fix,
                finished,
            )
        )
    return states


def incidents_near(teams: Sequence[Team], count: int, seed: int = 5) -> list[Request]:
    """Reports scattered a few km around the teams' bases, as a storm brings them."""
    rng = random.Random(seed)
    kinds, weights = list(KINDS), list(KINDS.values())
    requests = []
    for n in range(count):
        home = rng.choice(teams).home
        lat, lon = home.latitude + rng.gauss(0, 0.06), home.longitude + rng.gauss(0, 0.07)
        incident = Incident(
            id=f"bench-{n:06d}",
            kind=rng.choices(kinds, weights)[0],
            latitude=lat,
            longitude=lon,
            area_class=area_class_at(lat, lon),
            reported_at=NOW - timedelta(minutes=rng.uniform(0, 10)),
        )
        requests.append(Request(incident))
    return requests


def grid_owners(teams: Sequence[Team]) -> dict[str, str]:
    """The registry's real ownership map; for the synthetic crowd (far more members than
    Hubei's towns have cells) each team simply owns its home cell if no one had it first."""
    if len(teams) <= 1_000:
        return assign_cell_owners(teams)
    owners: dict[str, str] = {}
    for t in teams:
        owners.setdefault(cell_of(t.home.latitude, t.home.longitude), t.id)
    return owners


def geopy_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(geodesic((lat1, lon1), (lat2, lon2)).km)


def timed(fn: Callable[[], Any], repeats: int) -> tuple[float, float, Any]:
    """Best CPU seconds and best wall seconds over `repeats` runs, and the last result."""
    cpu, wall, result = math.inf, math.inf, None
    for _ in range(repeats):
        c0, w0 = time.thread_time(), time.perf_counter()
        result = fn()
        cpu, wall = min(cpu, time.thread_time() - c0), min(wall, time.perf_counter() - w0)
    return cpu, wall, result


def bench(teams: list[Team], incidents: int, baseline_runs: int, repeats: int) -> dict[str, Any]:
    print(f"\n== {len(teams):,} teams, {incidents:,} incidents ==")
    policy = RoutingPolicy()
    t0 = time.perf_counter()
    owners = grid_owners(teams)
    owners_s = time.perf_counter() - t0
    states = states_in_a_storm(teams)
    t0 = time.perf_counter()
    pool = TeamPool(states, NOW, policy, owners)
    build_s = time.perf_counter() - t0
    requests = incidents_near(teams, incidents)
    print(f"grid owners {owners_s:.2f} s ({len(owners):,} cells); pool built in {build_s:.3f} s")

    cpu, wall, fast = timed(lambda: pool.choose_many(requests, book=False), repeats)
    per_s, per_s_wall = len(requests) / cpu, len(requests) / wall
    print(f"policy:   {per_s:>12,.0f} selections/s (CPU; wall {per_s_wall:,.0f}/s)")

    burst = requests[: min(len(requests), 2_000)]
    fresh_pools = iter([TeamPool(states, NOW, policy, owners) for _ in range(repeats)])
    booking_cpu, _, booked = timed(lambda: next(fresh_pools).choose_many(burst), repeats)
    assigned = sum(c is not None for c in booked)
    print(
        f"booking:  {len(burst) / booking_cpu:>12,.0f} selections/s in a {len(burst):,} burst "
        f"that books each team as it goes ({assigned:,} assigned, the rest would wait)"
    )

    sample = requests[:baseline_runs]
    base_cpu, base_wall, reference = timed(
        lambda: [pool.choose_exhaustive(r, distance=geopy_km) for r in sample], 1
    )
    base_per_s = len(sample) / base_cpu
    agree = sum(_same(a, b) for a, b in zip(fast, reference, strict=False))
    print(
        f"baseline: {base_per_s:>12,.2f} selections/s (geopy geodesic to every team that can "
        f"go; {len(sample)} runs, wall {len(sample) / base_wall:,.2f}/s)"
    )
    print(f"speedup:  {per_s / base_per_s:>12,.0f}x; same team and rule in {agree}/{len(sample)}")
    rules: dict[str, int] = {}
    for c in fast:
        key = c.rule.value if c else "queued"
        rules[key] = rules.get(key, 0) + 1
    return {
        "teams": len(teams),
        "incidents": len(requests),
        "selections_per_s": round(per_s),
        "selections_per_s_wall": round(per_s_wall),
        "booking_selections_per_s": round(len(burst) / booking_cpu),
        "baseline_selections_per_s": round(base_per_s, 3),
        "baseline_runs": len(sample),
        "speedup": round(per_s / base_per_s, 1),
        "agreement": f"{agree}/{len(sample)}",
        "rules": rules,
        "pool_build_s": round(build_s, 3),
    }


def _same(a: Choice | None, b: Choice | None) -> bool:
    if a is None or b is None:
        return a is b
    return (a.team_id, a.rule) == (b.team_id, b.rule)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=20_000)
    parser.add_argument("--quick", action="store_true", help="smaller run, for a smoke test")
    args = parser.parse_args()
    incidents = 2_000 if args.quick else args.incidents
    small = bench(hubei_registry(), incidents, baseline_runs=5 if args.quick else 30, repeats=3)
    print(json.dumps(small))
    large_teams = 10_000 if args.quick else 100_000
    large = bench(
        synthetic_teams(large_teams), incidents, baseline_runs=1 if args.quick else 2, repeats=3
    )
    print(json.dumps(large))
    print(json.dumps({**small, "large": large}))


if __name__ == "__main__":
    main()
