"""What the lifecycle commands share (tasks.py for the teams', incidents.py for the dispatch
center's): locking the incident, the clocks an action closes and starts, excluding a team, and
running a command in a transaction of its own that returns the incident as the board shows it.

Each command is one transaction: lock the incident, check the caller (access.py) and the move
(models/lifecycle.py), change the incident and its SLA clocks (models/sla.py), log the events
and stage them for Kafka, release the team's load, and return the incident as the board shows
it. The `*_in` variants do the same inside a caller's transaction (the simulation batches them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentExclusionRow, IncidentRow, SlaClockRow, clock_of
from dispatch.service_layer.clocks import (
    facts_of,
    new_clock,
    next_attempt,
    open_clocks,
    policy_of,
    preload_clocks,
    write_clock,
)
from dispatch.service_layer.services import Services
from dispatch.views.board import IncidentView, incident_view
from models.errors import NotFound
from models.lifecycle import Action
from models.sla import ClockKind, ClockState, effects_of

_LOCKED = "everycall.locked_incidents"


def lock_incidents(session: Session, incident_ids: Sequence[str]) -> list[IncidentRow]:
    """Lock many incidents at once (in id order), so the commands that follow skip the
    per-incident lock query; for batches such as the simulated crews."""
    rows = session.scalars(
        select(IncidentRow)
        .where(IncidentRow.id.in_(sorted(incident_ids)))
        .order_by(IncidentRow.id)
        .with_for_update()
    ).all()
    # strong references: the identity map alone would let unused rows be collected
    session.info.setdefault(_LOCKED, {}).update((r.id, r) for r in rows)
    preload_clocks(session, [r.id for r in rows])
    return list(rows)


def lock_incident(session: Session, incident_id: str) -> IncidentRow:
    """The incident, locked for this transaction (at once if `lock_incidents` holds it)."""
    locked: dict[str, IncidentRow] = session.info.get(_LOCKED, {})
    row = locked.get(incident_id)
    if row is None:
        row = session.get(IncidentRow, incident_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    return row


def apply_clock_effects(
    session: Session,
    services: Services,
    incident: IncidentRow,
    action: Action,
    team_id: str | None,
    now: datetime,
) -> list[SlaClockRow]:
    """Close and start the clocks `action` closes and starts; returns the clocks changed."""
    effects = effects_of(action)
    changed = []
    if effects.closes:
        for row in open_clocks(session, incident.id):
            verdict = effects.closes.get(ClockKind(row.kind))
            if verdict is None:
                continue
            write_clock(row, clock_of(row).close(now, verdict))
            if row.team_id is None and verdict is ClockState.MET:
                row.team_id = team_id  # the team that met the arrive or resolve clock
            changed.append(row)
    for kind in effects.starts:
        if kind is ClockKind.ACKNOWLEDGE:
            continue  # started by routing (clock_starts.start_clocks)
        attempt = next_attempt(session, incident.id, kind)
        policy = policy_of(services)
        changed.append(
            new_clock(
                session, policy, facts_of(incident), kind, now, attempt=attempt, team_id=team_id
            )
        )
    return changed


def exclude_team(session: Session, incident_id: str, team_id: str, reason: str) -> None:
    """Routing will not choose this team for this incident again."""
    if session.get(IncidentExclusionRow, (incident_id, team_id)) is None:
        session.add(
            IncidentExclusionRow(incident_id=incident_id, team_id=team_id, reason=reason[:200])
        )


def run_command(
    services: Services, incident_id: str, act: Callable[[Session, datetime], IncidentRow]
) -> IncidentView:
    """One command in one transaction; returns the incident as the board shows it after."""
    now = services.clock.now()
    with services.sessions.begin() as session:
        act(session, now)
        session.flush()
        return incident_view(session, incident_id)
