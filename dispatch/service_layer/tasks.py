"""A team's task, step by step: acknowledge, decline, set off, arrive, resolve. Each step is
a command in one transaction (`acknowledge`, ...) or inside a caller's (`acknowledge_in`, ...).
A team acts on its own tasks; the dispatch center may act for any team."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow, SlaClockRow
from dispatch.service_layer.access import Actor, SystemCaller, actor_of, check_team
from dispatch.service_layer.clocks import snapshot
from dispatch.service_layer.lifecycle import (
    apply_clock_effects,
    exclude_team,
    lock_incident,
    run_command,
)
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import emit, release_team
from dispatch.views.board import IncidentView
from events.schemas import EventPayload
from events.schemas.tasks import (
    TaskAcknowledged,
    TaskArrived,
    TaskDeclined,
    TaskDeparted,
    TaskResolved,
)
from models.incident import IncidentState
from models.lifecycle import Action, transition


def _team_step(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Actor,
    action: Action,
    now: datetime,
    payload_of: Callable[[IncidentRow, str, list[SlaClockRow]], EventPayload],
) -> IncidentRow:
    incident = lock_incident(session, incident_id)
    check_team(caller, incident)
    step = transition(incident.state, action, f"incident {incident_id}")
    team_id = str(incident.team_id)
    clocks = apply_clock_effects(session, services, incident, action, team_id, now)
    incident.state = step.target.value
    emit(session, services, incident.region, [payload_of(incident, team_id, clocks)], now)
    return incident


def _task_fields(
    incident: IncidentRow, caller: Actor, team_id: str, clocks: list[SlaClockRow]
) -> dict[str, Any]:
    """What every task event says: whose task, who acted, where it stands, its clocks."""
    return {
        "incident_id": incident.id,
        "actor": actor_of(caller),
        "state": incident.state,
        "clocks": [snapshot(c) for c in clocks],
        "team_id": team_id,
    }


def acknowledge_in(
    session: Session, services: Services, incident_id: str, caller: Actor, now: datetime
) -> IncidentRow:
    def payload(incident: IncidentRow, team_id: str, clocks: list[SlaClockRow]) -> EventPayload:
        incident.acknowledged_at = now
        return TaskAcknowledged(
            **_task_fields(incident, caller, team_id, clocks),
            acknowledged_at=now,
        )

    return _team_step(session, services, incident_id, caller, Action.ACKNOWLEDGE, now, payload)


def decline_in(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Actor,
    reason: str,
    now: datetime,
) -> IncidentRow:
    """The team says no: excluded from this incident, which is queued for the next team."""

    def payload(incident: IncidentRow, team_id: str, clocks: list[SlaClockRow]) -> EventPayload:
        incident.team_id, incident.acknowledged_at, incident.waiting_since = None, None, now
        exclude_team(session, incident.id, team_id, f"declined: {reason}")
        return TaskDeclined(
            **_task_fields(incident, caller, team_id, clocks),
            reason=reason,
            declined_at=now,
        )

    declining = lock_incident(session, incident_id).team_id
    incident = _team_step(session, services, incident_id, caller, Action.DECLINE, now, payload)
    release_team(session, declining)
    return incident


def mark_en_route_in(
    session: Session, services: Services, incident_id: str, caller: Actor, now: datetime
) -> IncidentRow:
    def payload(incident: IncidentRow, team_id: str, clocks: list[SlaClockRow]) -> EventPayload:
        return TaskDeparted(
            **_task_fields(incident, caller, team_id, clocks),
            departed_at=now,
        )

    return _team_step(session, services, incident_id, caller, Action.DEPART, now, payload)


def mark_on_scene_in(
    session: Session, services: Services, incident_id: str, caller: Actor, now: datetime
) -> IncidentRow:
    def payload(incident: IncidentRow, team_id: str, clocks: list[SlaClockRow]) -> EventPayload:
        incident.arrived_at = now
        return TaskArrived(
            **_task_fields(incident, caller, team_id, clocks),
            arrived_at=now,
        )

    return _team_step(session, services, incident_id, caller, Action.ARRIVE, now, payload)


def resolve_in(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Actor,
    notes: str,
    now: datetime,
) -> IncidentRow:
    def payload(incident: IncidentRow, team_id: str, clocks: list[SlaClockRow]) -> EventPayload:
        incident.resolved_at = now
        return TaskResolved(
            **_task_fields(incident, caller, team_id, clocks),
            resolved_at=now,
            notes=notes,
        )

    incident = _team_step(session, services, incident_id, caller, Action.RESOLVE, now, payload)
    release_team(session, incident.team_id, finished_at=now)
    return incident


def acknowledge(services: Services, incident_id: str, caller: Actor) -> IncidentView:
    """The team takes the task: its acknowledge clock is met."""
    return run_command(
        services, incident_id, lambda s, now: acknowledge_in(s, services, incident_id, caller, now)
    )


def decline(services: Services, incident_id: str, caller: Actor, reason: str) -> IncidentView:
    """The team cannot take it: back to the queue, that team excluded."""
    return run_command(
        services,
        incident_id,
        lambda s, now: decline_in(s, services, incident_id, caller, reason, now),
    )


def mark_en_route(services: Services, incident_id: str, caller: Actor) -> IncidentView:
    return run_command(
        services,
        incident_id,
        lambda s, now: mark_en_route_in(s, services, incident_id, caller, now),
    )


def mark_on_scene(services: Services, incident_id: str, caller: Actor) -> IncidentView:
    """The team arrived: the arrive clock is met, the resolve clock starts."""
    return run_command(
        services,
        incident_id,
        lambda s, now: mark_on_scene_in(s, services, incident_id, caller, now),
    )


def resolve(services: Services, incident_id: str, caller: Actor, notes: str = "") -> IncidentView:
    """The job is done: the team is free for the next task."""
    return run_command(
        services,
        incident_id,
        lambda s, now: resolve_in(s, services, incident_id, caller, notes, now),
    )


def finish_in(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Actor,
    notes: str,
    now: datetime,
) -> IncidentRow:
    """Walk a task through the steps its crew did not report, then resolve it."""
    incident = lock_incident(session, incident_id)
    if incident.state == IncidentState.ASSIGNED.value:
        acknowledge_in(session, services, incident_id, caller, now)
    if incident.state in (IncidentState.ACKNOWLEDGED.value, IncidentState.EN_ROUTE.value):
        mark_on_scene_in(session, services, incident_id, caller, now)
    return resolve_in(session, services, incident_id, caller, notes, now)


def resolve_task(services: Services, incident_id: str, team_id: str, notes: str = "") -> None:
    """The spine's entry point (dispatch/simulation/load.py): the team reports the job done."""
    caller = SystemCaller(role="team", team_id=team_id, name=f"team:{team_id}")
    now = services.clock.now()
    with services.sessions.begin() as session:
        finish_in(session, services, incident_id, caller, notes, now)
