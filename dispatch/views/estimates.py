"""When help will come: the estimated time on site (ETA) of every open incident, and for
outages when power will be back (ERT), computed for the whole open set in one pass.

Four reads (the teams, the open incidents, the recent resolve times, the log's head) and
then pure arithmetic (models/estimates.py): the tasks teams hold fill their places first;
then the waiting incidents, in the order routing serves them (priority after ageing, oldest
report first), each take the nearest eligible team that can reach them soonest. An answer is
kept for a minute while the log's head stays, and for five seconds once it moves, so the
board's reads in a storm pay for one pass every few seconds, and a change is shown soon.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from scipy.spatial import cKDTree
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow, TeamRow
from events.log import EVENT_LOG
from models.estimates import (
    Estimate,
    ResolveTimes,
    Waiting,
    estimate_assigned,
    places,
    serve_queue,
)
from models.geodesy import spherical_km_from_chord, unit_vectors
from models.incident import IncidentKind, IncidentState
from models.lifecycle import OPEN, WAITING
from models.policy import RoutingPolicy, aged_rank
from models.sla import SlaPolicy
from models.storm import DutyConditions
from models.team import SKILL_FOR_KIND, TeamStatus

# eligible teams each waiting incident weighs: routing's nearest few decide nearly always
NEAREST_TEAMS = 5
# resolved tasks the time on site is learned from: the newest, so a storm's pace shows soon
LEARNED_FROM = 2000
_OPEN_STATES = sorted(s.value for s in OPEN)
_WAITING_STATES = frozenset(s.value for s in WAITING)


@dataclass(frozen=True)
class _Team:
    team_id: str
    latitude: float
    longitude: float
    skills: frozenset[str]
    capacity: int
    eligible: bool


def learned_resolve_times(session: Session, policy: SlaPolicy) -> ResolveTimes:
    """The time on site (arrival to resolved) of the newest resolved tasks, per kind and area."""
    resolve = ResolveTimes(policy)
    rows = session.execute(
        select(
            IncidentRow.kind,
            IncidentRow.area_class,
            IncidentRow.arrived_at,
            IncidentRow.resolved_at,
        )
        .where(IncidentRow.state == IncidentState.RESOLVED.value)
        .where(IncidentRow.arrived_at.is_not(None))
        .order_by(IncidentRow.resolved_at.desc())
        .limit(LEARNED_FROM)
    )
    for kind, area, arrived_at, resolved_at in rows:
        if resolved_at is not None and arrived_at is not None:
            resolve.observe(kind, area, (resolved_at - arrived_at).total_seconds() / 60)
    return resolve


def _teams(
    session: Session, now: datetime, routing: RoutingPolicy, duty: DutyConditions
) -> dict[str, _Team]:
    """Every team where routing would measure from, and whether routing may send it now: on
    duty by the roster, a reserve squad only under storm mode, with the storm's capacity."""
    fresh_after = now - timedelta(minutes=routing.fix_max_age_min)
    teams = {}
    for row in session.execute(
        select(
            TeamRow.id,
            TeamRow.home_lat,
            TeamRow.home_lon,
            TeamRow.fix_lat,
            TeamRow.fix_lon,
            TeamRow.fix_at,
            TeamRow.skills,
            TeamRow.capacity,
            TeamRow.status,
            TeamRow.region,
            TeamRow.reserve,
        ).order_by(TeamRow.id)
    ):
        storm = duty.storms.get(row.region)
        withheld = duty.withheld(row.id, row.region, bool(row.reserve))
        # where routing would measure from: a fresh fix, else the home base
        fresh = row.fix_at is not None and row.fix_lat is not None and row.fix_at >= fresh_after
        teams[row.id] = _Team(
            team_id=row.id,
            latitude=row.fix_lat if fresh else row.home_lat,
            longitude=row.fix_lon if fresh else row.home_lon,
            skills=frozenset(s for s in row.skills.split(",") if s),
            capacity=(storm and storm.capacity_per_team) or row.capacity,
            eligible=row.status == TeamStatus.AVAILABLE.value and withheld is None,
        )
    return teams


def _km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> Any:
    """Great-circle km between rows of points (numpy arrays)."""
    chord = np.linalg.norm(unit_vectors(lat1, lon1) - unit_vectors(lat2, lon2), axis=-1)
    return spherical_km_from_chord(chord)


def _held(
    rows: Sequence[Any],
    teams: dict[str, _Team],
    now: datetime,
    resolve: ResolveTimes,
) -> tuple[dict[str, Estimate], dict[str, list[float]]]:
    """Estimates of the incidents teams hold, and when each such task should be done."""
    held = [r for r in rows if r.team_id in teams]
    if not held:
        return {}, {}
    team_of = [teams[r.team_id] for r in held]
    km = _km(
        np.array([t.latitude for t in team_of]),
        np.array([t.longitude for t in team_of]),
        np.array([r.latitude for r in held]),
        np.array([r.longitude for r in held]),
    ).tolist()
    found: dict[str, Estimate] = {}
    done_in: dict[str, list[float]] = {}
    for row, distance in zip(held, km, strict=True):
        found[row.id] = estimate_assigned(
            now,
            kind=row.kind,
            area=row.area_class,
            team_id=row.team_id,
            assigned_at=row.assigned_at or now,
            distance_km=distance,
            arrived_at=row.arrived_at,
            resolve=resolve,
        )
        on_site = (found[row.id].on_site_at - now).total_seconds() / 60
        done = on_site + resolve.minutes(row.kind, row.area_class)
        done_in.setdefault(row.team_id, []).append(done)
    return found, done_in


def _waiting(rows: Sequence[Any], teams: dict[str, _Team]) -> list[Waiting]:
    """Each waiting incident with its nearest eligible teams of the skill its kind needs."""
    by_skill: dict[str, list[Any]] = {}
    for row in rows:
        by_skill.setdefault(SKILL_FOR_KIND[IncidentKind(row.kind)].value, []).append(row)
    candidates: dict[str, list[tuple[str, float]]] = {}
    for skill, wanting in by_skill.items():
        able = [t for t in teams.values() if t.eligible and skill in t.skills]
        if not able:
            continue
        tree = cKDTree(
            unit_vectors(
                np.array([t.latitude for t in able]), np.array([t.longitude for t in able])
            )
        )
        k, ids = min(NEAREST_TEAMS, len(able)), np.array([t.team_id for t in able], dtype=object)
        lat = np.array([r.latitude for r in wanting])
        lon = np.array([r.longitude for r in wanting])
        chord, idx = tree.query(unit_vectors(lat, lon), k=k)
        km = spherical_km_from_chord(np.reshape(chord, (len(wanting), k))).tolist()
        near = ids[np.reshape(idx, (len(wanting), k))].tolist()
        for row, teams_near, far in zip(wanting, near, km, strict=True):
            candidates[row.id] = list(zip(teams_near, far, strict=True))
    return [
        Waiting(r.id, r.kind, r.area_class, candidates[r.id]) for r in rows if r.id in candidates
    ]


def compute_estimates(
    session: Session,
    now: datetime,
    routing: RoutingPolicy,
    sla: SlaPolicy,
    duty: DutyConditions | None = None,
) -> dict[str, Estimate]:
    """Every open incident's estimate, by id (none for one no team could take); `duty`: the
    roster and storm mode as routing reads them (service_layer/storm.py), none by default."""
    teams = _teams(session, now, routing, duty or DutyConditions())
    resolve = learned_resolve_times(session, sla)
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.kind,
            IncidentRow.priority,
            IncidentRow.area_class,
            IncidentRow.latitude,
            IncidentRow.longitude,
            IncidentRow.state,
            IncidentRow.team_id,
            IncidentRow.assigned_at,
            IncidentRow.arrived_at,
            IncidentRow.reported_at,
        ).where(IncidentRow.state.in_(_OPEN_STATES))
    ).all()
    waiting = [r for r in rows if r.state in _WAITING_STATES]
    found, done_in = _held([r for r in rows if r.state not in _WAITING_STATES], teams, now, resolve)
    waiting.sort(
        key=lambda r: (
            aged_rank(r.priority, r.reported_at, now, routing),  # a StrEnum's text keys it
            r.reported_at,
            r.id,
        )
    )
    free_in = {t.team_id: places(t.capacity, done_in.get(t.team_id, [])) for t in teams.values()}
    found.update(serve_queue(now, _waiting(waiting, teams), free_in, resolve))
    return found


_lock = threading.Lock()
_kept: dict[Any, tuple[tuple[int, datetime], dict[str, Estimate]]] = {}
KEPT_FOR = timedelta(minutes=1)
# in a storm the log moves many times a second, and every board rereads the queue on each
# batch of events: one pass per process in this long serves them all; estimates are given
# to the minute, so a few seconds behind the log changes nothing anyone reads
FRESH_ENOUGH = timedelta(seconds=5)


def open_estimates(
    session: Session,
    now: datetime,
    routing: RoutingPolicy,
    sla: SlaPolicy,
    duty: Callable[[], DutyConditions] | None = None,
) -> dict[str, Estimate]:
    """`compute_estimates`, kept per database for a minute while the log's head stays, and
    for a few seconds after it moves (FRESH_ENOUGH); `duty` is read only for a fresh pass."""
    head = int(session.scalar(select(func.coalesce(func.max(EVENT_LOG.c.seq), 0))) or 0)
    bind = session.get_bind()
    key = (id(bind), str(getattr(bind, "url", "")), id(routing), id(sla))
    with _lock:
        kept = _kept.get(key)
    if kept is not None:
        (kept_head, kept_at), found = kept
        age = now - kept_at
        if timedelta(0) <= age < (KEPT_FOR if kept_head == head else FRESH_ENOUGH):
            return found
    found = compute_estimates(session, now, routing, sla, duty() if duty else None)
    with _lock:
        _kept[key] = ((head, now), found)
    return found


def fields_of(found: Estimate | None) -> dict[str, datetime | None]:
    """The estimate as the API names it: `eta_on_site`, and `ert` for an outage."""
    if found is None:
        return {"eta_on_site": None, "ert": None}
    return {"eta_on_site": found.on_site_at, "ert": found.restored_at}
