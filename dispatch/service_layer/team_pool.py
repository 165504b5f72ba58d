"""The teams as a routing pass sees them: every team row (and the ones this pass may book),
each team's state for the pool (models/routing.py), the grid's owners cached per registry,
and the teams excluded from each incident."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentExclusionRow, TeamRow
from dispatch.service_layer.services import Services
from models.grid import assign_cell_owners
from models.routing import Fix, TeamState
from models.team import Skill, TeamStatus

_CHUNK = 5_000  # ids per IN (...) list, well under every backend's parameter limit


def team_rows(session: Session) -> tuple[list[TeamRow], set[str]]:
    """Every team, and the ids this pass holds locked and so may book.

    Locked: loads are written back as counts, and lifecycle changes them concurrently. A row
    another transaction holds (a team's call under way, perhaps stuck) is skipped, not waited
    for, so one team's call never stops routing for the others (tests/faults). SQLite has one
    writer at a time, so there every row is free.
    """
    bookable = set(session.scalars(select(TeamRow.id).with_for_update(skip_locked=True)))
    return list(session.scalars(select(TeamRow).order_by(TeamRow.id))), bookable


def state_of(row: TeamRow, bookable: bool = True) -> TeamState:
    fix = None
    if row.fix_lat is not None and row.fix_lon is not None and row.fix_at is not None:
        fix = Fix(row.fix_lat, row.fix_lon, row.fix_at)
    return TeamState(
        team_id=row.id,
        latitude=row.home_lat,
        longitude=row.home_lon,
        skills=_skills(row.skills),
        capacity=row.capacity,
        load=row.active_tasks,
        available=bookable and row.status == TeamStatus.AVAILABLE.value,
        fix=fix,
        last_finished_at=row.last_finished_at,
    )


@cache
def _skills(text: str) -> frozenset[Skill]:
    """A team's skills from their stored form (a pass reads every team: parse each form once)."""
    return frozenset(Skill(s) for s in text.split(",") if s)


_owners_lock = threading.Lock()
_owners_cache: tuple[int, dict[str, str]] | None = None


def cell_owners(rows: Sequence[TeamRow]) -> dict[str, str]:
    """The grid's owners for this registry: computed once per registry, then cached.

    The key is a fingerprint of what ownership depends on (ids, homes, members), so an import
    in another process invalidates the cache here too.
    """
    global _owners_cache
    key = hash(tuple((r.id, r.home_lat, r.home_lon, r.members) for r in rows))
    with _owners_lock:
        if _owners_cache is None or _owners_cache[0] != key:
            _owners_cache = (key, assign_cell_owners(r.to_team() for r in rows))
        return _owners_cache[1]


def warm_routing(services: Services) -> int:
    """Compute the grid owners now, before a dispatcher joins its consumer group, so the first
    batch does not pay for it; returns the number of owned cells."""
    with services.reads() as session:
        rows = list(session.scalars(select(TeamRow).order_by(TeamRow.id)))
    return len(cell_owners(rows))


def exclusions(session: Session, incident_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Teams that declined or missed the acknowledgement, per incident, with the reason."""
    excluded: dict[str, dict[str, str]] = {}
    for start in range(0, len(incident_ids), _CHUNK):
        rows = session.execute(
            select(
                IncidentExclusionRow.incident_id,
                IncidentExclusionRow.team_id,
                IncidentExclusionRow.reason,
            ).where(IncidentExclusionRow.incident_id.in_(incident_ids[start : start + _CHUNK]))
        )
        for incident_id, team_id, reason in rows:
            excluded.setdefault(incident_id, {})[team_id] = reason
    return excluded
