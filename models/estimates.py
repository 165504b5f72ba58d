"""Estimated times: when a team will be on site (ETA) and, for outages, when power will be back
(ERT). Pure arithmetic from an incident's place in the queue, the eligible teams' backlog,
travel time by distance and the resolve times seen so far."""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from models.incident import AreaClass, IncidentKind
from models.sla import ClockKind, SlaPolicy

# Average road speeds, km/h: town traffic; county roads; mountain roads in the west of Hubei
SPEED_KMH: dict[AreaClass, float] = {
    AreaClass.URBAN: 25.0,
    AreaClass.RURAL: 40.0,
    AreaClass.REMOTE: 30.0,
}
# Roads wind: the road distance is this many times the geodesic one
ROAD_FACTOR = 1.3


_MIN_PER_KM = {area: ROAD_FACTOR / speed * 60.0 for area, speed in SPEED_KMH.items()}
# Before any task is seen, the time on site is this share of the SLA policy's resolve target:
# the mean if times spread evenly up to it. The target is the promised longest, not the usual:
# taken whole, the storm simulation's first estimates were off by 233 minutes on average
# (eta_error_min_mean, 2,000 incidents), at half by 136.
PRIOR_SHARE = 0.5


def travel_minutes(distance_km: float, area: AreaClass | str) -> float:
    """Driving time over a geodesic distance in an area class (a StrEnum: its text keys it
    too; no enum is built, as the board's estimates call this for every candidate)."""
    return max(distance_km, 0.0) * _MIN_PER_KM[area]  # type: ignore[index]


@dataclass
class ResolveTimes:
    """The running mean of resolve times (arrival to resolved, minutes) per kind and area
    class; half the SLA policy's resolve target stands in until one is seen (PRIOR_SHARE)."""

    policy: SlaPolicy = field(default_factory=SlaPolicy)
    seen: dict[tuple[str, str], tuple[int, float]] = field(default_factory=dict)
    targets: dict[tuple[str, str], float] = field(default_factory=dict, repr=False)

    def observe(self, kind: IncidentKind | str, area: AreaClass | str, minutes: float) -> None:
        """Counts one resolved task's time on site."""
        key = (str(kind), str(area))
        count, mean = self.seen.get(key, (0, 0.0))
        self.seen[key] = (count + 1, mean + (max(minutes, 0.0) - mean) / (count + 1))

    def minutes(self, kind: IncidentKind | str, area: AreaClass | str) -> float:
        """The expected time on site of an incident of `kind` in `area`."""
        found = self.seen.get((str(kind), str(area)))
        if found is not None:
            return found[1]
        key = (str(kind), str(area))
        if key not in self.targets:  # a few kinds × areas, asked for every incident
            target = self.policy.target(ClockKind.RESOLVE, area=area, priority="normal", kind=kind)
            self.targets[key] = target.total_seconds() / 60.0 * PRIOR_SHARE
        return self.targets[key]


class Candidate(NamedTuple):
    """An eligible team as the estimate sees it: how far, and how much it still has to do
    (a tuple: the board's estimates make one per team weighed for each waiting incident)."""

    team_id: str
    distance_km: float
    backlog_min: float = 0.0  # its open tasks × the resolve times seen so far


def backlog_minutes(open_tasks: Iterable[tuple[str, str]], resolve: ResolveTimes) -> float:
    """A team's backlog: the expected time on site of each open task (kind, area class)."""
    return sum(resolve.minutes(kind, area) for kind, area in open_tasks)


@dataclass(frozen=True)
class Estimate:
    on_site_at: datetime
    restored_at: datetime | None  # outages only
    team_id: str


def estimate(
    now: datetime,
    *,
    kind: IncidentKind | str,
    area: AreaClass | str,
    candidates: Sequence[Candidate],
    queue_position: int = 0,
    resolve: ResolveTimes,
) -> Estimate | None:
    """The estimate of the incident `queue_position` places from the head of the queue (0: it
    is next, or a team is already on its way): the teams free up in the order of their
    backlog; each incident ahead takes the first free team for its travel and its time on
    site; this one gets the next. None when no team is eligible."""
    if not candidates:
        return None
    on_site_min = resolve.minutes(kind, area)
    free_at = [(c.backlog_min, c.team_id, c.distance_km) for c in candidates]
    heapq.heapify(free_at)
    for _ in range(max(queue_position, 0)):
        backlog, team_id, distance = heapq.heappop(free_at)
        busy = travel_minutes(distance, area) + on_site_min
        heapq.heappush(free_at, (backlog + busy, team_id, distance))
    backlog, team_id, distance = free_at[0]
    on_site_at = now + timedelta(minutes=backlog + travel_minutes(distance, area))
    return Estimate(on_site_at, _restored(str(kind), on_site_at, on_site_min), team_id)


@dataclass(frozen=True)
class Waiting:
    """An incident in the queue, with the teams that could take it (distance only)."""

    incident_id: str
    kind: str
    area: str
    # Candidates, or bare (team id, distance) pairs: the board's read makes 50,000 at a time
    candidates: Sequence[Candidate | tuple[str, float]]


def estimate_queue(
    now: datetime,
    waiting: Sequence[Waiting],
    backlog_min: dict[str, float],
    resolve: ResolveTimes,
) -> dict[str, Estimate]:
    """Estimates of a whole queue in the order it is served: each incident takes the candidate
    that reaches it first after its backlog, and that team's backlog grows by the trip and the
    time on site, so an incident further back waits for those ahead of it."""
    return serve_queue(now, waiting, {t: [b] for t, b in backlog_min.items()}, resolve)


def places(capacity: int, finishing_in: Iterable[float]) -> list[float]:
    """When each of a team's `capacity` places frees up, in minutes from now, given when each
    task it holds should be done: a team carries several tasks at once, so with one task of
    three places it has two free now. Holding more than its capacity, it frees its first
    place only when enough tasks are done to bring it under."""
    done = sorted(max(m, 0.0) for m in finishing_in)
    capacity = max(capacity, 1)
    if len(done) >= capacity:
        return done[len(done) - capacity :]
    return [0.0] * (capacity - len(done)) + done


def serve_queue(
    now: datetime,
    waiting: Sequence[Waiting],
    free_in: Mapping[str, Sequence[float]],
    resolve: ResolveTimes,
) -> dict[str, Estimate]:
    """Estimates of a whole queue in the order it is served, each team with its places
    (`places`): each incident takes the candidate that reaches it first from its earliest free
    place, which is then busy for the trip and the time on site, so an incident further back
    waits for those ahead of it. A candidate missing from `free_in` has one place free now."""
    heaps = {team_id: sorted(times) or [0.0] for team_id, times in free_in.items()}
    found: dict[str, Estimate] = {}
    for entry in waiting:
        per_km = _MIN_PER_KM[entry.area]  # type: ignore[index]
        reach = [
            (heaps.setdefault(team_id, [0.0])[0] + max(km, 0.0) * per_km, team_id)
            for team_id, km, *_ in entry.candidates
        ]
        if not reach:
            continue
        arrive_min, team_id = min(reach)
        on_site_min = resolve.minutes(entry.kind, entry.area)
        heapq.heapreplace(heaps[team_id], arrive_min + on_site_min)
        on_site_at = now + timedelta(minutes=arrive_min)
        found[entry.incident_id] = Estimate(
            on_site_at=on_site_at,
            restored_at=_restored(entry.kind, on_site_at, on_site_min),
            team_id=team_id,
        )
    return found


def estimate_assigned(
    now: datetime,
    *,
    kind: str,
    area: str,
    team_id: str,
    assigned_at: datetime,
    distance_km: float,
    arrived_at: datetime | None,
    resolve: ResolveTimes,
) -> Estimate:
    """An incident a team has: on site after the trip from where it was assigned (not before
    now if it is late), or already there; restored after the time on site seen so far."""
    on_site_at = arrived_at or max(
        now, assigned_at + timedelta(minutes=travel_minutes(distance_km, area))
    )
    on_site_min = resolve.minutes(kind, area)
    return Estimate(on_site_at, _restored(kind, on_site_at, on_site_min), team_id)


def _restored(kind: str, on_site_at: datetime, on_site_min: float) -> datetime | None:
    return on_site_at + timedelta(minutes=on_site_min) if kind == IncidentKind.OUTAGE else None
