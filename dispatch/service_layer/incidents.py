"""The dispatch center's commands on an incident: cancel it, change its priority, unlink a
report grouped as a duplicate. Each in a unit of work of its own (`cancel`, ...) or inside a
caller's (`cancel_in`, ...); each decides one event, which the folds (folds.py) apply."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from dispatch.adapters.orm import IncidentRow, clock_of
from dispatch.service_layer import support_tasks
from dispatch.service_layer.access import Caller, check_dispatcher
from dispatch.service_layer.clocks import facts_of, policy_of, snapshot, target_of
from dispatch.service_layer.lifecycle import changed_clock, clock_effects, open_clocks, run_command
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import Commands
from dispatch.views.board import IncidentView
from events.schemas.tasks import IncidentCancelled, IncidentReprioritized, IncidentUnlinked
from models.incident import IncidentState, Priority
from models.lifecycle import WITH_TEAM, Action, transition
from models.sla import ClockState


def cancel_in(
    uow: Commands, incident_id: str, caller: Caller, reason: str, now: datetime
) -> IncidentRow:
    """Called off (false alarm, handled otherwise): clocks stop, the team is freed; a lead's
    open support tasks are called off with it."""
    check_dispatcher(caller, "cancel an incident")
    incident = uow.rows.incident(incident_id)
    for support_id in support_tasks.open_supports(uow.session, incident):
        why = f"lead {incident_id} cancelled 牵头事件已取消: {reason}"
        cancel_in(uow, support_id, caller, why[:500], now)
    with_team = IncidentState(incident.state) in WITH_TEAM
    step = transition(incident.state, Action.CANCEL, f"incident {incident_id}")
    released = incident.team_id if with_team else None
    clocks = clock_effects(uow, incident, Action.CANCEL, released, now)
    payload = IncidentCancelled(
        incident_id=incident.id,
        actor=caller.actor,
        state=step.target.value,
        clocks=[snapshot(c) for c in clocks],
        reason=reason,
        released_team_id=released,
        cancelled_at=now,
    )
    uow.record(incident.region, [payload], now)
    return incident


def change_priority_in(
    uow: Commands, incident_id: str, caller: Caller, priority: Priority, now: datetime
) -> IncidentRow:
    """New priority; running clocks get its targets, counted from their original start."""
    check_dispatcher(caller, "change a priority")
    incident = uow.rows.incident(incident_id)
    transition(incident.state, Action.CHANGE_PRIORITY, f"incident {incident_id}")
    old, new = Priority(incident.priority), Priority(priority)
    if old is new:
        return incident
    policy, facts = policy_of(uow.services), replace(facts_of(incident), priority=new.value)
    changed = []
    for row in open_clocks(uow, incident.id):
        clock = clock_of(row)
        if clock.state in (ClockState.RUNNING, ClockState.PAUSED):
            changed.append(changed_clock(row, clock.retarget(target_of(policy, clock.kind, facts))))
    payload = IncidentReprioritized(
        incident_id=incident.id,
        actor=caller.actor,
        state=incident.state,
        clocks=[snapshot(c) for c in changed],
        old_priority=old.value,
        new_priority=new.value,
    )
    uow.record(incident.region, [payload], now)
    return incident


def unlink_duplicate_in(
    uow: Commands, incident_id: str, caller: Caller, now: datetime
) -> IncidentRow:
    """Not a duplicate after all: queued to be routed on its own; its clocks resume."""
    check_dispatcher(caller, "unlink a duplicate")
    incident = uow.rows.incident(incident_id)
    step = transition(incident.state, Action.UNLINK, f"incident {incident_id}")
    changed = [
        changed_clock(row, clock_of(row).resume(now)) for row in open_clocks(uow, incident.id)
    ]
    payload = IncidentUnlinked(
        incident_id=incident.id,
        actor=caller.actor,
        state=step.target.value,
        clocks=[snapshot(c) for c in changed],
        former_master_id=str(incident.master_id),
    )
    uow.record(incident.region, [payload], now)
    return incident


def cancel(services: Services, incident_id: str, caller: Caller, reason: str) -> IncidentView:
    return run_command(
        services,
        incident_id,
        lambda uow, now: cancel_in(uow, incident_id, caller, reason, now),
    )


def change_priority(
    services: Services, incident_id: str, caller: Caller, priority: Priority
) -> IncidentView:
    return run_command(
        services,
        incident_id,
        lambda uow, now: change_priority_in(uow, incident_id, caller, priority, now),
    )


def unlink_duplicate(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    return run_command(
        services,
        incident_id,
        lambda uow, now: unlink_duplicate_in(uow, incident_id, caller, now),
    )
