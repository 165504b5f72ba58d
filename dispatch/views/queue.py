"""The queue: every incident waiting for a team (reported or queued), oldest report first.

One read model for the board (GET /queue) and `everycall queue`, so both answer "who is
waiting longest" alike: each entry has its age since the report, how long it has waited for a
team since it last lost one (`waiting_since`), its priority after ageing, the teams
excluded from it, and when help should come (`eta_on_site`, `ert`: views/estimates.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentExclusionRow, IncidentRow
from models.estimates import Estimate
from models.incident import PRIORITY_RANK, Priority
from models.lifecycle import WAITING
from models.policy import RoutingPolicy, aged_rank

_CHUNK = 500  # ids per IN (...) list
_PRIORITY_OF_RANK = {rank: priority for priority, rank in PRIORITY_RANK.items()}


def waiting_queue(
    session: Session,
    now: datetime,
    policy: RoutingPolicy,
    estimates: Mapping[str, Estimate] | None = None,
) -> list[dict[str, Any]]:
    """Incidents waiting for a team, oldest report first, with their estimates when given."""
    rows = session.scalars(
        select(IncidentRow)
        .where(IncidentRow.state.in_([s.value for s in WAITING]))
        .order_by(IncidentRow.reported_at, IncidentRow.id)
    ).all()
    excluded = _excluded_teams(session, [r.id for r in rows])
    found = estimates or {}
    return [
        {**_entry(r, now, policy, excluded.get(r.id, [])), **_estimated(found.get(r.id))}
        for r in rows
    ]


def _estimated(found: Estimate | None) -> dict[str, str | None]:
    """ETA on site and (outages) power back, ISO 8601 in UTC; None when no team could go."""
    return {
        "eta_on_site": found.on_site_at.isoformat() if found else None,
        "ert": found.restored_at.isoformat() if found and found.restored_at else None,
    }


def _excluded_teams(session: Session, ids: list[str]) -> dict[str, list[str]]:
    excluded: dict[str, list[str]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        for incident_id, team_id in session.execute(
            select(IncidentExclusionRow.incident_id, IncidentExclusionRow.team_id).where(
                IncidentExclusionRow.incident_id.in_(ids[start : start + _CHUNK])
            )
        ):
            excluded[incident_id].append(team_id)
    return excluded


def _entry(
    row: IncidentRow, now: datetime, policy: RoutingPolicy, excluded: list[str]
) -> dict[str, Any]:
    rank = aged_rank(Priority(row.priority), row.reported_at, now, policy)
    return {
        "id": row.id,
        "kind": row.kind,
        "priority": row.priority,
        "effective_priority": _PRIORITY_OF_RANK[rank].value,
        "region": row.region,
        "state": row.state,
        "reported_at": row.reported_at.isoformat(),
        "age_min": _minutes(now - row.reported_at),
        "waiting_min": _minutes(now - (row.waiting_since or row.reported_at)),
        "escalated": bool(row.escalated),
        "excluded_teams": sorted(excluded),
    }


def _minutes(span: timedelta) -> float:
    return round(span.total_seconds() / 60, 1)
