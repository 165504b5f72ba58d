"""A team's task, step by step: acknowledge, decline, set off, arrive, resolve. Each step is
a command in a unit of work of its own (`acknowledge`, ...) or inside a caller's
(`acknowledge_in`, ...). A team acts on its own tasks; the dispatch center may act for any team.
Each decides one event; the folds (folds.py) apply it to the incident, its clocks and the team."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer import support_tasks
from dispatch.service_layer.access import Caller, Role, check_team
from dispatch.service_layer.clocks import ClockValues, snapshot
from dispatch.service_layer.lifecycle import clock_effects, run_command
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import Commands, unit_of_work
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

# what a step's event says besides the fields every task event shares (`_task_fields`)
StepPayload = Callable[[dict[str, Any]], EventPayload]


def _team_step(
    uow: Commands,
    incident_id: str,
    caller: Caller,
    action: Action,
    now: datetime,
    payload_of: StepPayload,
) -> IncidentRow:
    incident = uow.rows.incident(incident_id)
    check_team(caller, incident)
    step = transition(incident.state, action, f"incident {incident_id}")
    team_id = str(incident.team_id)
    clocks = clock_effects(uow, incident, action, team_id, now)
    fields = _task_fields(incident, caller, team_id, step.target, clocks)
    uow.record(incident.region, [payload_of(fields)], now)
    return incident


def _task_fields(
    incident: IncidentRow,
    caller: Caller,
    team_id: str,
    state: IncidentState,
    clocks: list[ClockValues],
) -> dict[str, Any]:
    """What every task event says: whose task, who acted, where it stands after, its clocks."""
    return {
        "incident_id": incident.id,
        "actor": caller.actor,
        "state": state.value,
        "clocks": [snapshot(c) for c in clocks],
        "team_id": team_id,
    }


def acknowledge_in(uow: Commands, incident_id: str, caller: Caller, now: datetime) -> IncidentRow:
    def payload(fields: dict[str, Any]) -> EventPayload:
        return TaskAcknowledged(**fields, acknowledged_at=now)

    return _team_step(uow, incident_id, caller, Action.ACKNOWLEDGE, now, payload)


def decline_in(
    uow: Commands, incident_id: str, caller: Caller, reason: str, now: datetime
) -> IncidentRow:
    """The team says no: excluded from this incident, which is queued for the next team."""

    def payload(fields: dict[str, Any]) -> EventPayload:
        return TaskDeclined(**fields, reason=reason, declined_at=now)

    return _team_step(uow, incident_id, caller, Action.DECLINE, now, payload)


def mark_en_route_in(uow: Commands, incident_id: str, caller: Caller, now: datetime) -> IncidentRow:
    def payload(fields: dict[str, Any]) -> EventPayload:
        return TaskDeparted(**fields, departed_at=now)

    return _team_step(uow, incident_id, caller, Action.DEPART, now, payload)


def mark_on_scene_in(uow: Commands, incident_id: str, caller: Caller, now: datetime) -> IncidentRow:
    def payload(fields: dict[str, Any]) -> EventPayload:
        return TaskArrived(**fields, arrived_at=now)

    return _team_step(uow, incident_id, caller, Action.ARRIVE, now, payload)


def resolve_in(
    uow: Commands, incident_id: str, caller: Caller, notes: str, now: datetime
) -> IncidentRow:
    """The team's job is done; a lead task only once its support tasks are (SupportsStillOpen)."""
    support_tasks.check_supports_done(uow.session, uow.rows.incident(incident_id))

    def payload(fields: dict[str, Any]) -> EventPayload:
        return TaskResolved(**fields, resolved_at=now, notes=notes)

    return _team_step(uow, incident_id, caller, Action.RESOLVE, now, payload)


def acknowledge(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    """The team takes the task: its acknowledge clock is met."""
    return run_command(
        services, incident_id, lambda uow, now: acknowledge_in(uow, incident_id, caller, now)
    )


def decline(services: Services, incident_id: str, caller: Caller, reason: str) -> IncidentView:
    """The team cannot take it: back to the queue, that team excluded."""
    return run_command(
        services,
        incident_id,
        lambda uow, now: decline_in(uow, incident_id, caller, reason, now),
    )


def mark_en_route(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    return run_command(
        services, incident_id, lambda uow, now: mark_en_route_in(uow, incident_id, caller, now)
    )


def mark_on_scene(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    """The team arrived: the arrive clock is met, the resolve clock starts."""
    return run_command(
        services, incident_id, lambda uow, now: mark_on_scene_in(uow, incident_id, caller, now)
    )


def resolve(services: Services, incident_id: str, caller: Caller, notes: str = "") -> IncidentView:
    """The job is done: the team is free for the next task."""
    return run_command(
        services,
        incident_id,
        lambda uow, now: resolve_in(uow, incident_id, caller, notes, now),
    )


def finish_in(
    uow: Commands, incident_id: str, caller: Caller, notes: str, now: datetime
) -> IncidentRow:
    """Walk a task through the steps its crew did not report, then resolve it."""
    incident = uow.rows.incident(incident_id)
    if incident.state == IncidentState.ASSIGNED.value:
        acknowledge_in(uow, incident_id, caller, now)
    if incident.state in (IncidentState.ACKNOWLEDGED.value, IncidentState.EN_ROUTE.value):
        mark_on_scene_in(uow, incident_id, caller, now)
    return resolve_in(uow, incident_id, caller, notes, now)


def resolve_task(services: Services, incident_id: str, team_id: str, notes: str = "") -> None:
    """The spine's entry point (dispatch/simulation/load.py): the team reports the job done."""
    caller = Caller(Role.TEAM, team_id=team_id)
    now = services.clock.now()
    with unit_of_work(services) as uow:
        finish_in(uow, incident_id, caller, notes, now)
