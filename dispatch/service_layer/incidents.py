"""The dispatch center's commands on an incident: cancel it, change its priority, unlink a
report grouped as a duplicate. Each in one transaction (`cancel`, ...) or inside a caller's
(`cancel_in`, ...)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow, clock_of
from dispatch.service_layer.access import Actor, actor_of, check_dispatcher
from dispatch.service_layer.clocks import (
    facts_of,
    open_clocks,
    policy_of,
    snapshot,
    target_of,
    write_clock,
)
from dispatch.service_layer.lifecycle import apply_clock_effects, lock_incident, run_command
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import emit, release_team
from dispatch.views.board import IncidentView
from events.schemas.tasks import IncidentCancelled, IncidentReprioritized, IncidentUnlinked
from models.incident import IncidentState, Priority
from models.lifecycle import WITH_TEAM, Action, transition
from models.sla import ClockState


def cancel_in(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Actor,
    reason: str,
    now: datetime,
) -> IncidentRow:
    """Called off (false alarm, handled otherwise): clocks stop, the team is freed."""
    check_dispatcher(caller, "cancel an incident")
    incident = lock_incident(session, incident_id)
    with_team = IncidentState(incident.state) in WITH_TEAM
    transition(incident.state, Action.CANCEL, f"incident {incident_id}")
    released = incident.team_id if with_team else None
    clocks = apply_clock_effects(session, services, incident, Action.CANCEL, released, now)
    incident.state, incident.waiting_since = IncidentState.CANCELLED.value, None
    payload = IncidentCancelled(
        incident_id=incident.id,
        actor=actor_of(caller),
        state=incident.state,
        clocks=[snapshot(c) for c in clocks],
        reason=reason,
        released_team_id=released,
        cancelled_at=now,
    )
    emit(session, services, incident.region, [payload], now)
    release_team(session, released)
    return incident


def change_priority_in(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Actor,
    priority: Priority,
    now: datetime,
) -> IncidentRow:
    """New priority; running clocks get its targets, counted from their original start."""
    check_dispatcher(caller, "change a priority")
    incident = lock_incident(session, incident_id)
    transition(incident.state, Action.CHANGE_PRIORITY, f"incident {incident_id}")
    old = incident.priority
    if Priority(old) is Priority(priority):
        return incident
    incident.priority = Priority(priority).value
    policy, facts = policy_of(services), facts_of(incident)
    changed = []
    for row in open_clocks(session, incident.id):
        clock = clock_of(row)
        if clock.state in (ClockState.RUNNING, ClockState.PAUSED):
            write_clock(row, clock.retarget(target_of(policy, clock.kind, facts)))
            changed.append(row)
    payload = IncidentReprioritized(
        incident_id=incident.id,
        actor=actor_of(caller),
        state=incident.state,
        clocks=[snapshot(c) for c in changed],
        old_priority=old,
        new_priority=incident.priority,
    )
    emit(session, services, incident.region, [payload], now)
    return incident


def unlink_duplicate_in(
    session: Session, services: Services, incident_id: str, caller: Actor, now: datetime
) -> IncidentRow:
    """Not a duplicate after all: queued to be routed on its own; its clocks resume."""
    check_dispatcher(caller, "unlink a duplicate")
    incident = lock_incident(session, incident_id)
    step = transition(incident.state, Action.UNLINK, f"incident {incident_id}")
    former = str(incident.master_id)
    changed = []
    for row in open_clocks(session, incident.id):
        write_clock(row, clock_of(row).resume(now))
        changed.append(row)
    incident.state, incident.master_id, incident.waiting_since = step.target.value, None, now
    payload = IncidentUnlinked(
        incident_id=incident.id,
        actor=actor_of(caller),
        state=incident.state,
        clocks=[snapshot(c) for c in changed],
        former_master_id=former,
    )
    emit(session, services, incident.region, [payload], now)
    return incident


def cancel(services: Services, incident_id: str, caller: Actor, reason: str) -> IncidentView:
    return run_command(
        services,
        incident_id,
        lambda s, now: cancel_in(s, services, incident_id, caller, reason, now),
    )


def change_priority(
    services: Services, incident_id: str, caller: Actor, priority: Priority
) -> IncidentView:
    return run_command(
        services,
        incident_id,
        lambda s, now: change_priority_in(s, services, incident_id, caller, priority, now),
    )


def unlink_duplicate(services: Services, incident_id: str, caller: Actor) -> IncidentView:
    return run_command(
        services,
        incident_id,
        lambda s, now: unlink_duplicate_in(s, services, incident_id, caller, now),
    )
