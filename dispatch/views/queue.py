"""The queue: incidents waiting for a team, oldest report first, with the teams excluded from
each. The board's (`queue_view`, GET /queue) lists every waiting state and counts the wait from
`waiting_since`; `everycall queue`'s (`queued_incidents`) lists queued incidents only, with
their priority after ageing, and counts their age from the report."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentExclusionRow, IncidentRow
from models.incident import PRIORITY_RANK, IncidentState, Priority
from models.lifecycle import WAITING
from models.policy import RoutingPolicy, aged_rank


def queue_view(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Incidents waiting for a team, oldest report first, with the teams excluded from each."""
    rows = session.scalars(
        select(IncidentRow)
        .where(IncidentRow.state.in_([s.value for s in WAITING]))
        .order_by(IncidentRow.reported_at, IncidentRow.id)
    ).all()
    excluded: dict[str, list[str]] = defaultdict(list)
    ids = [r.id for r in rows]
    for start in range(0, len(ids), 500):
        for incident_id, team_id in session.execute(
            select(IncidentExclusionRow.incident_id, IncidentExclusionRow.team_id).where(
                IncidentExclusionRow.incident_id.in_(ids[start : start + 500])
            )
        ):
            excluded[incident_id].append(team_id)
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "priority": r.priority,
            "region": r.region,
            "state": r.state,
            "reported_at": r.reported_at.isoformat(),
            "waiting_min": round(
                (now - (r.waiting_since or r.reported_at)).total_seconds() / 60, 1
            ),
            "escalated": bool(r.escalated),
            "excluded_teams": sorted(excluded.get(r.id, [])),
        }
        for r in rows
    ]


def queued_incidents(
    session: Session, now: datetime, policy: RoutingPolicy
) -> list[dict[str, Any]]:
    """The queued incidents, oldest report first, with their priority after ageing."""
    rows = list(
        session.scalars(
            select(IncidentRow)
            .where(IncidentRow.state == IncidentState.QUEUED.value)
            .order_by(IncidentRow.reported_at, IncidentRow.id)
        )
    )
    excluded: dict[str, list[str]] = {}
    for incident_id, team_id in session.execute(
        select(IncidentExclusionRow.incident_id, IncidentExclusionRow.team_id).where(
            IncidentExclusionRow.incident_id.in_([r.id for r in rows])
        )
    ):
        excluded.setdefault(incident_id, []).append(team_id)
    return [_waiting(r, now, policy, excluded.get(r.id, [])) for r in rows]


def _waiting(
    row: IncidentRow, now: datetime, policy: RoutingPolicy, excluded: list[str]
) -> dict[str, Any]:
    rank = aged_rank(Priority(row.priority), row.reported_at, now, policy)
    return {
        "incident_id": row.id,
        "priority": row.priority,
        "effective_priority": _PRIORITY_OF_RANK[rank].value,
        "kind": row.kind,
        "region": row.region,
        "reported_at": row.reported_at.isoformat(),
        "age_min": round((now - row.reported_at).total_seconds() / 60, 1),
        "excluded_teams": sorted(excluded),
    }


_PRIORITY_OF_RANK = {rank: priority for priority, rank in PRIORITY_RANK.items()}
