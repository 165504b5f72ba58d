"""Task lifecycle commands: what the teams and the dispatch center do to an incident.

Each command is one transaction: lock the incident, check the caller and the move
(models/lifecycle.py), change the incident and its SLA clocks (models/sla.py), log the events
and stage them for Kafka, release the team's load, and return the incident as the board shows
it. The `*_in` variants do the same inside a caller's transaction (the simulation batches them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow, SlaClockRow
from dispatch.adapters.storm_search import open_masters_near
from dispatch.bootstrap import Services
from dispatch.service_layer.clocks import (
    DISPATCHER,
    clock_of,
    emit,
    emit_all,
    exclude_team,
    facts_of,
    new_clock,
    next_attempt,
    open_clocks,
    policy_of,
    preload_clocks,
    release_team,
    snapshot,
    start_report_clocks,
    target_of,
    write_clock,
)
from dispatch.views.board import IncidentView, incident_view
from events.schemas import EventPayload
from events.schemas.tasks import (
    IncidentCancelled,
    IncidentMerged,
    IncidentReprioritized,
    IncidentUnlinked,
    TaskAcknowledged,
    TaskArrived,
    TaskDeclined,
    TaskDeparted,
    TaskResolved,
)
from models.errors import Forbidden, NotFound
from models.grouping import find_duplicates
from models.incident import Incident, IncidentState, Priority
from models.lifecycle import WITH_TEAM, Action, transition
from models.sla import ClockKind, ClockState, effects_of

DISPATCH_ROLES = frozenset({"dispatcher", "admin"})


class Caller(Protocol):
    """Who acts; access.Caller fits. Only its role, team and name matter here."""

    @property
    def role(self) -> str: ...

    @property
    def team_id(self) -> str | None: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True)
class SystemCaller:
    """A caller for in-process actors (the simulation's crews, the demo)."""

    role: str = "dispatcher"
    team_id: str | None = None
    name: str = "system"


def actor_of(caller: Caller) -> str:
    if caller.name:
        return caller.name
    return f"team:{caller.team_id}" if str(caller.role) == "team" else str(caller.role)


def _check_team(caller: Caller, incident: IncidentRow) -> None:
    """A team acts on its own tasks only; the dispatch center may act for any team."""
    role = str(caller.role)
    if role == "team":
        if caller.team_id is None or caller.team_id != incident.team_id:
            raise Forbidden(f"incident {incident.id} is not a task of team {caller.team_id}")
    elif role not in DISPATCH_ROLES:
        raise Forbidden(f"a caller with role {role} cannot act on tasks")


def _check_dispatcher(caller: Caller, what: str) -> None:
    if str(caller.role) not in DISPATCH_ROLES:
        raise Forbidden(f"only the dispatch center can {what}")


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


def _lock(session: Session, incident_id: str) -> IncidentRow:
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
            continue  # started by routing, through clocks.start_clocks
        attempt = next_attempt(session, incident.id, kind)
        policy = policy_of(services)
        changed.append(
            new_clock(
                session, policy, facts_of(incident), kind, now, attempt=attempt, team_id=team_id
            )
        )
    return changed


# --- team commands -----------------------------------------------------------------------


def _team_step(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Caller,
    action: Action,
    now: datetime,
    payload_of: Callable[[IncidentRow, str, list[SlaClockRow]], EventPayload],
) -> IncidentRow:
    incident = _lock(session, incident_id)
    _check_team(caller, incident)
    step = transition(incident.state, action, f"incident {incident_id}")
    team_id = str(incident.team_id)
    clocks = apply_clock_effects(session, services, incident, action, team_id, now)
    incident.state = step.target.value
    emit(session, services, incident.region, [payload_of(incident, team_id, clocks)], now)
    return incident


def _task_fields(
    incident: IncidentRow, caller: Caller, team_id: str, clocks: list[SlaClockRow]
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
    session: Session, services: Services, incident_id: str, caller: Caller, now: datetime
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
    caller: Caller,
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

    declining = _lock(session, incident_id).team_id
    incident = _team_step(session, services, incident_id, caller, Action.DECLINE, now, payload)
    release_team(session, declining)
    return incident


def mark_en_route_in(
    session: Session, services: Services, incident_id: str, caller: Caller, now: datetime
) -> IncidentRow:
    def payload(incident: IncidentRow, team_id: str, clocks: list[SlaClockRow]) -> EventPayload:
        return TaskDeparted(
            **_task_fields(incident, caller, team_id, clocks),
            departed_at=now,
        )

    return _team_step(session, services, incident_id, caller, Action.DEPART, now, payload)


def mark_on_scene_in(
    session: Session, services: Services, incident_id: str, caller: Caller, now: datetime
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
    caller: Caller,
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


# --- dispatch-center commands ------------------------------------------------------------


def cancel_in(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Caller,
    reason: str,
    now: datetime,
) -> IncidentRow:
    """Called off (false alarm, handled otherwise): clocks stop, the team is freed."""
    _check_dispatcher(caller, "cancel an incident")
    incident = _lock(session, incident_id)
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
    caller: Caller,
    priority: Priority,
    now: datetime,
) -> IncidentRow:
    """New priority; running clocks get its targets, counted from their original start."""
    _check_dispatcher(caller, "change a priority")
    incident = _lock(session, incident_id)
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
    session: Session, services: Services, incident_id: str, caller: Caller, now: datetime
) -> IncidentRow:
    """Not a duplicate after all: queued to be routed on its own; its clocks resume."""
    _check_dispatcher(caller, "unlink a duplicate")
    incident = _lock(session, incident_id)
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


# --- intake hook (called by routing before it routes) --------------------------


def on_reported(
    session: Session, services: Services, incidents: Sequence[Incident], now: datetime
) -> list[Incident]:
    """New reports were stored: start their arrive clocks, link storm duplicates to their
    masters (state merged, clocks paused), and return the reports that still need a team."""
    if not incidents:
        return []
    settings = services.settings
    window = timedelta(minutes=settings.storm_window_min)
    radius = settings.storm_radius_m
    masters = open_masters_near(session, incidents, radius, window)
    links = find_duplicates(incidents, masters, radius, window)
    merged_ids = {link.incident_id for link in links}
    # the clocks start (and the event says so) before duplicates pause theirs
    paused = start_report_clocks(session, services, incidents, now, merged_ids)
    if not links:
        return list(incidents)
    regions = {i.id: i.region for i in incidents}
    session.execute(
        update(IncidentRow),
        [
            {
                "id": link.incident_id,
                "state": "merged",
                "master_id": link.master_id,
                "waiting_since": None,
            }
            for link in links
        ],
    )
    items: list[tuple[str, EventPayload]] = []
    for link in links:
        merged = IncidentMerged(
            incident_id=link.incident_id,
            actor=DISPATCHER,
            state=IncidentState.MERGED.value,
            clocks=[snapshot(paused[link.incident_id])],
            master_id=link.master_id,
            distance_m=link.distance_m,
            minutes_apart=link.minutes_apart,
        )
        items.append((regions[link.incident_id], merged))
    emit_all(session, services, items, now)
    return [i for i in incidents if i.id not in merged_ids]


# --- the contract's commands: one transaction each, returning the board's view ------------


def _run(
    services: Services, incident_id: str, act: Callable[[Session, datetime], IncidentRow]
) -> IncidentView:
    now = services.clock.now()
    with services.sessions.begin() as session:
        act(session, now)
        session.flush()
        return incident_view(session, incident_id)


def acknowledge(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    """The team takes the task: its acknowledge clock is met."""
    return _run(
        services, incident_id, lambda s, now: acknowledge_in(s, services, incident_id, caller, now)
    )


def decline(services: Services, incident_id: str, caller: Caller, reason: str) -> IncidentView:
    """The team cannot take it: back to the queue, that team excluded."""
    return _run(
        services,
        incident_id,
        lambda s, now: decline_in(s, services, incident_id, caller, reason, now),
    )


def mark_en_route(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    return _run(
        services,
        incident_id,
        lambda s, now: mark_en_route_in(s, services, incident_id, caller, now),
    )


def mark_on_scene(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    """The team arrived: the arrive clock is met, the resolve clock starts."""
    return _run(
        services,
        incident_id,
        lambda s, now: mark_on_scene_in(s, services, incident_id, caller, now),
    )


def resolve(services: Services, incident_id: str, caller: Caller, notes: str = "") -> IncidentView:
    """The job is done: the team is free for the next task."""
    return _run(
        services,
        incident_id,
        lambda s, now: resolve_in(s, services, incident_id, caller, notes, now),
    )


def cancel(services: Services, incident_id: str, caller: Caller, reason: str) -> IncidentView:
    return _run(
        services,
        incident_id,
        lambda s, now: cancel_in(s, services, incident_id, caller, reason, now),
    )


def change_priority(
    services: Services, incident_id: str, caller: Caller, priority: Priority
) -> IncidentView:
    return _run(
        services,
        incident_id,
        lambda s, now: change_priority_in(s, services, incident_id, caller, priority, now),
    )


def unlink_duplicate(services: Services, incident_id: str, caller: Caller) -> IncidentView:
    return _run(
        services,
        incident_id,
        lambda s, now: unlink_duplicate_in(s, services, incident_id, caller, now),
    )


def finish_in(
    session: Session,
    services: Services,
    incident_id: str,
    caller: Caller,
    notes: str,
    now: datetime,
) -> IncidentRow:
    """Walk a task through the steps its crew did not report, then resolve it."""
    incident = _lock(session, incident_id)
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
