"""The clocks routing starts: each new report's arrive clock (from its report time), and each
assignment's acknowledge clock (with an arrive clock for an incident that has none). Each is
decided as an `sla.clocks_started` event; its fold stores the clock rows."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from dispatch.adapters.orm import IncidentRow, SlaClockRow
from dispatch.service_layer.batch_rows import BatchRows
from dispatch.service_layer.clocks import (
    DISPATCHER,
    ClockValues,
    IncidentFacts,
    facts_of,
    policy_of,
    snapshot,
    target_of,
)
from dispatch.service_layer.unit_of_work import UnitOfWork
from events.schemas import EventPayload
from events.schemas.tasks import SlaClocksStarted
from models.incident import IncidentState
from models.sla import ClockKind, SlaClock, SlaPolicy
from models.team import Assignment


def start_report_clocks(
    uow: UnitOfWork[Any],
    incidents: Sequence[Any],
    now: datetime,
    paused: Collection[str] = (),
) -> dict[str, ClockValues]:
    """Start the arrive clock of each new report at its report time (they wait from then);
    returns those of the incidents in `paused` (storm duplicates) as paused at `now`."""
    policy = policy_of(uow.services)
    items = []
    paused_clocks: dict[str, ClockValues] = {}
    for incident in incidents:
        facts = facts_of(incident)
        clock = SlaClock(ClockKind.ARRIVE, facts.reported_at, arrive_target(policy, facts))
        started = ClockValues.of(facts.id, clock)
        items.append((facts.region, _started(facts.id, IncidentState.REPORTED, [started])))
        if facts.id in paused:
            paused_clocks[facts.id] = ClockValues.of(facts.id, clock.pause(now))
    uow.record_all(items, now)
    return paused_clocks


def arrive_target(policy: SlaPolicy, facts: IncidentFacts) -> timedelta:
    return target_of(policy, ClockKind.ARRIVE, facts)


def _started(
    incident_id: str, state: IncidentState, clocks: Sequence[ClockValues]
) -> SlaClocksStarted:
    return SlaClocksStarted.model_construct(
        incident_id=incident_id,
        actor=DISPATCHER,
        state=state.value,
        clocks=[snapshot(c) for c in clocks],
    )


def start_clocks(
    uow: UnitOfWork[BatchRows], assignments: Sequence[Assignment], now: datetime
) -> None:
    """Routing stored these assignments: start each team's acknowledge clock (and an arrive
    clock for an incident that has none, e.g. one reported before clocks existed)."""
    if not assignments:
        return
    session, policy = uow.session, policy_of(uow.services)
    ids = [a.incident_id for a in assignments]
    incidents = {
        r.id: facts_of(r)
        for r in session.execute(
            select(
                IncidentRow.id,
                IncidentRow.region,
                IncidentRow.kind,
                IncidentRow.priority,
                IncidentRow.area_class,
                IncidentRow.reported_at,
            ).where(IncidentRow.id.in_(ids))
        )
    }
    attempts = dict(
        session.execute(
            select(SlaClockRow.incident_id, func.max(SlaClockRow.attempt))
            .where(SlaClockRow.incident_id.in_(ids))
            .where(SlaClockRow.kind == ClockKind.ACKNOWLEDGE.value)
            .group_by(SlaClockRow.incident_id)
        ).all()
    )
    with_arrive = set(
        session.scalars(
            select(SlaClockRow.incident_id)
            .where(SlaClockRow.incident_id.in_(ids))
            .where(SlaClockRow.kind == ClockKind.ARRIVE.value)
        )
    )
    items: list[tuple[str, EventPayload]] = []
    for a in assignments:
        facts = incidents[a.incident_id]
        target = target_of(policy, ClockKind.ACKNOWLEDGE, facts)
        acknowledge = SlaClock(ClockKind.ACKNOWLEDGE, a.assigned_at, target)
        attempt = int(attempts.get(a.incident_id) or 0) + 1
        clocks = [ClockValues.of(facts.id, acknowledge, attempt=attempt, team_id=a.team_id)]
        if a.incident_id not in with_arrive:
            arrive = SlaClock(ClockKind.ARRIVE, facts.reported_at, arrive_target(policy, facts))
            clocks.append(ClockValues.of(facts.id, arrive))
        items.append((facts.region, _started(facts.id, IncidentState.ASSIGNED, clocks)))
    uow.record_all(items, now)
