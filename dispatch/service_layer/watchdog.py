"""The SLA watchdog: acts on the clocks whose warning or deadline has come, and on long waits.

A missed acknowledgement withdraws the task (the team is excluded from that incident and the
incident queued for the next eligible team); a second miss, or a long wait with no eligible
team, escalates the incident to its region's supervisor. Lock order as in clocks.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from dispatch.adapters.orm import IncidentRow, SlaClockRow, clock_of
from dispatch.service_layer.clocks import (
    ClockValues,
    facts_of,
    policy_of,
    shortest_target,
    snapshot,
    target_of,
)
from dispatch.service_layer.lifecycle import changed_clock
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import Commands, unit_of_work
from events.schemas.tasks import IncidentEscalated, SlaBreached, SlaWarning, TaskReassigned
from models.incident import IncidentState
from models.lifecycle import WAITING, Action, transition
from models.sla import ClockKind, ClockState

WATCHDOG = "sla-watchdog"  # the actor of what the watchdog does
ESCALATE_AFTER_MISSES = 2


def supervisor_of(region: str) -> str:
    return f"supervisor:{region or 'unknown'}"


def escalate(
    uow: Commands,
    incident: IncidentRow,
    reason: str,
    now: datetime,
    actor: str = WATCHDOG,
) -> bool:
    """Flag the incident for its region's supervisor, once; it keeps its state and retries."""
    if incident.escalated:
        return False
    transition(incident.state, Action.ESCALATE, f"incident {incident.id}")
    payload = IncidentEscalated(
        incident_id=incident.id,
        actor=actor,
        state=incident.state,
        region=incident.region,
        supervisor=supervisor_of(incident.region),
        reason=reason,
        escalated_at=now,
    )
    uow.record(incident.region, [payload], now)
    return True


@dataclass
class WatchdogOutcome:
    warned: int = 0
    breached: int = 0
    reassigned: int = 0
    escalated: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def watchdog_has_work(services: Services) -> bool:
    """Whether `run_watchdog` may find anything to act on now: two indexed reads, so a loop
    can ask often and start a watchdog run (a Prefect flow run) only when it is needed. Never
    no when a run would act; for a long wait, yes from the tightest acknowledge target on."""
    now = services.clock.now()
    shortest = shortest_target(policy_of(services), ClockKind.ACKNOWLEDGE)
    with services.reads() as session:
        due = session.scalar(select(SlaClockRow.id).where(SlaClockRow.next_due_at <= now).limit(1))
        if due is not None:
            return True
        waited = session.scalar(
            select(IncidentRow.id)
            .where(IncidentRow.state.in_([s.value for s in WAITING]))
            .where(IncidentRow.escalated.is_(False))
            .where(IncidentRow.waiting_since <= now - shortest)
            .limit(1)
        )
        return waited is not None


def run_watchdog(services: Services, limit: int = 5000) -> WatchdogOutcome:
    """Act on every clock whose warning or deadline has come, and on long waits, in one
    batched unit of work; returns what it did."""
    now = services.clock.now()
    outcome = WatchdogOutcome()
    with unit_of_work(services, batched=True) as uow:
        due_ids = uow.session.execute(
            select(SlaClockRow.id, SlaClockRow.incident_id)
            .where(SlaClockRow.next_due_at <= now)
            .order_by(SlaClockRow.next_due_at)
            .limit(limit)
        ).all()
        uow.rows.lock_incidents([incident_id for _, incident_id in due_ids])
        due = {clock_id for clock_id, _ in due_ids}
        clocks = [row for row in uow.rows.loaded_clocks() if row.id in due]
        clocks.sort(key=lambda row: (row.next_due_at or now, row.id))
        for row in clocks:
            _act_on_clock(uow, row, uow.rows.incident(row.incident_id), now, outcome)
        _escalate_long_waits(uow, now, outcome)
    return outcome


def _act_on_clock(
    uow: Commands,
    row: SlaClockRow,
    incident: IncidentRow,
    now: datetime,
    outcome: WatchdogOutcome,
) -> None:
    clock = clock_of(row)
    for due in clock.due(now):
        if due.fraction is not None:
            clock = clock.warn(due.fraction)
            warning = _warning(changed_clock(row, clock), incident, due.fraction)
            uow.record(incident.region, [warning], now)
            outcome.warned += 1
            continue
        outcome.breached += 1
        withdrawable = (
            clock.kind is ClockKind.ACKNOWLEDGE
            and incident.state == IncidentState.ASSIGNED.value
            and incident.team_id == row.team_id
        )
        if withdrawable:
            withdraw_task(uow, incident, row, now, outcome)
        else:
            breach = _breach(changed_clock(row, clock.breach()), incident, incident.state)
            uow.record(incident.region, [breach], now)


def _warning(row: ClockValues, incident: IncidentRow, fraction: float) -> SlaWarning:
    return SlaWarning(
        incident_id=incident.id,
        actor=WATCHDOG,
        state=incident.state,
        clocks=[snapshot(row)],
        kind=row.kind,
        fraction=fraction,
        team_id=row.team_id,
        deadline=row.deadline,
    )


def _breach(row: ClockValues, incident: IncidentRow, state: str) -> SlaBreached:
    return SlaBreached(
        incident_id=incident.id,
        actor=WATCHDOG,
        state=state,
        clocks=[snapshot(row)],
        kind=row.kind,
        team_id=row.team_id,
        deadline=row.deadline,
    )


def withdraw_task(
    uow: Commands,
    incident: IncidentRow,
    clock_row: SlaClockRow,
    now: datetime,
    outcome: WatchdogOutcome,
) -> None:
    """No acknowledgement by the deadline: take the task back, exclude that team, queue the
    incident for the next eligible team; escalate at the second miss."""
    step = transition(incident.state, Action.WITHDRAW, f"incident {incident.id}")
    team_id = str(incident.team_id)
    missed = changed_clock(clock_row, clock_of(clock_row).close(now, ClockState.BREACHED))
    misses = 1 + sum(
        1
        for row in uow.rows.clocks_of(incident.id)
        if row.kind == ClockKind.ACKNOWLEDGE.value
        and row.state == ClockState.BREACHED.value
        and row is not clock_row
    )
    minutes = round(clock_row.target_s / 60, 1)
    reason = f"no acknowledgement within {minutes:g} min"
    reassigned = TaskReassigned(
        incident_id=incident.id,
        actor=WATCHDOG,
        state=step.target.value,
        clocks=[snapshot(missed)],
        from_team_id=team_id,
        reason=reason,
        misses=misses,
        withdrawn_at=now,
    )
    breach = _breach(missed, incident, step.target.value)
    uow.record(incident.region, [breach, reassigned], now)
    outcome.reassigned += 1
    if misses >= ESCALATE_AFTER_MISSES and escalate(
        uow, incident, f"{misses} acknowledgement deadlines missed", now
    ):
        outcome.escalated += 1


def _escalate_long_waits(uow: Commands, now: datetime, outcome: WatchdogOutcome) -> None:
    """An incident that waited a whole acknowledge target with no team: no eligible team."""
    policy = policy_of(uow.services)
    shortest = shortest_target(policy, ClockKind.ACKNOWLEDGE)
    waiting_ids = uow.session.scalars(
        select(IncidentRow.id)
        .where(IncidentRow.state.in_([s.value for s in WAITING]))
        .where(IncidentRow.escalated.is_(False))
        .where(IncidentRow.waiting_since <= now - shortest)
    ).all()
    for incident in uow.rows.lock_incidents(waiting_ids):
        target = target_of(policy, ClockKind.ACKNOWLEDGE, facts_of(incident))
        if incident.waiting_since is None or incident.waiting_since > now - target:
            continue
        minutes = round(target.total_seconds() / 60, 1)
        reason = f"no eligible team within {minutes:g} min"
        if escalate(uow, incident, reason, now):
            outcome.escalated += 1
