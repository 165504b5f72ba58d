"""The routing service: store a batch of reported incidents and assign each a team by the
routing policy (models/routing.py); what no team can take now waits in the queue.

One database transaction holds the incidents, the assignments (each with its explanation), the
team loads, the event log entries and the outbox rows; Kafka offsets are committed by the
caller only after it. Routing decides events; their folds (folds.py) make the rows, which a
batch writes in bulk (batch_rows.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer import clock_starts, grouping, support_tasks
from dispatch.service_layer.batch_rows import BatchRows
from dispatch.service_layer.folds import INCIDENT_FIELDS
from dispatch.service_layer.intake import dead_letter, decode_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import conditions_at
from dispatch.service_layer.team_pool import cell_owners, exclusions, state_of, team_rows
from dispatch.service_layer.unit_of_work import UnitOfWork
from events.envelope import Envelope
from events.kafka import Record
from events.schemas import envelope_for
from events.schemas.incidents import IncidentQueued
from events.schemas.tasks import TeamAssigned
from models.incident import Incident, IncidentState
from models.policy import RoutingPolicy, dispatch_order, effective_rank
from models.routing import Choice, Request, TeamPool
from models.team import SKILL_FOR_KIND, Assignment, latency_ms

Batch = UnitOfWork[BatchRows]  # a routing pass: its rows written in bulk
# what a routing pass's folds change of a queued incident or a team it books
_QUEUED_COLUMNS = ("id", "state", "team_id", "assigned_at", "waiting_since")


@dataclass
class RoutingResult:
    """What one routing pass did."""

    assigned: int = 0
    queued: int = 0  # newly queued by this pass
    waiting: int = 0  # still in the queue after it (new and old)
    by_rule: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    off_duty_passed_over: int = 0  # off-duty teams nearer than the ones sent


@dataclass
class BatchOutcome:
    received: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    assigned: int = 0
    queued: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    by_rule: Counter[str] = field(default_factory=Counter)
    off_duty_passed_over: int = 0

    def summary(self) -> dict[str, int]:
        return {
            "received": self.received,
            "duplicates": self.duplicates,
            "dead_lettered": self.dead_lettered,
            "assigned": self.assigned,
            "queued": self.queued,
            "off_duty_passed_over": self.off_duty_passed_over,
            **{f"assigned_{rule}": n for rule, n in sorted(self.by_rule.items())},
        }


def handle_incident_records(services: Services, records: Sequence[Record]) -> BatchOutcome:
    """Ingest and route one consumed batch in a single transaction."""
    now = services.clock.now()
    decoded = decode_records(records, now)
    outcome = BatchOutcome(received=len(records), dead_lettered=len(decoded.rejected))
    with services.sessions.begin() as session:
        fresh = _drop_duplicates(session, services, decoded.reports)
        outcome.duplicates = len(decoded.reports) - len(fresh)
        dead_letter(session, decoded.rejected, now)
        batch = UnitOfWork(session, services, BatchRows(session), batched=True)
        _store_incidents(batch, fresh, now)
        batch.flush()  # storm grouping looks for masters among these reports too
        # arrive clocks start; storm duplicates merge into their masters and are not routed
        routable = grouping.on_reported(batch, [i for _, i in fresh], now)
        supports = support_tasks.request_supports(batch, routable, now)
        batch.flush()  # routing reads the clocks these reports started
        result = _route(batch, routable, now, supports)
        batch.finish()
    outcome.assigned, outcome.queued = result.assigned, result.queued
    outcome.latencies_ms, outcome.by_rule = result.latencies_ms, result.by_rule
    outcome.off_duty_passed_over = result.off_duty_passed_over
    return outcome


def route_queue(session: Session, services: Services, now: datetime) -> RoutingResult:
    """Route the waiting (queued) incidents, in the caller's transaction: the idle pass."""
    batch = UnitOfWork(session, services, BatchRows(session), batched=True)
    result = _route(batch, [], now)
    batch.finish()
    return result


def _drop_duplicates(
    session: Session, services: Services, reports: Sequence[tuple[Envelope, Incident]]
) -> list[tuple[Envelope, Incident]]:
    """Keep reports whose event and incident are new (redelivery and client retries)."""
    seen_events = services.event_log.known_event_ids(session, [e.event_id for e, _ in reports])
    ids = [incident.id for _, incident in reports]
    seen_incidents = set(session.scalars(select(IncidentRow.id).where(IncidentRow.id.in_(ids))))
    fresh = []
    for envelope, incident in reports:
        if envelope.event_id in seen_events or incident.id in seen_incidents:
            continue
        seen_events.add(envelope.event_id)
        seen_incidents.add(incident.id)
        fresh.append((envelope, incident))
    return fresh


def _store_incidents(
    batch: Batch, reports: Sequence[tuple[Envelope, Incident]], now: datetime
) -> None:
    """New reports, waiting for a team since they were reported. Their events are logged as
    they came (they are on Kafka already); their fold reads each as validated."""
    batch.record_envelopes(
        [envelope for envelope, _ in reports],
        now,
        staged=False,
        payloads=[_as_reported(envelope, incident) for envelope, incident in reports],
    )


def _as_reported(envelope: Envelope, incident: Incident) -> dict[str, Any]:
    """The report's payload, with the defaults its producer left out filled in."""
    payload = envelope.payload
    if "reported_at" in payload and all(name in payload for name in INCIDENT_FIELDS):
        return payload
    return incident.model_dump(mode="json")


def _route(
    batch: Batch,
    fresh: Sequence[Incident],
    now: datetime,
    fresh_supports: Mapping[str, tuple[Incident, str]] | None = None,
) -> RoutingResult:
    """Assign the queue and the fresh reports by priority (with ageing); queue the rest."""
    session, policy = batch.session, batch.services.settings.routing
    queued, lead_of = _queued_incidents(batch)
    fresh = [*fresh, *(incident for incident, _ in (fresh_supports or {}).values())]
    lead_of.update({sid: lead for sid, (_, lead) in (fresh_supports or {}).items()})
    result = RoutingResult()
    if not queued and not fresh:
        return result
    rows, bookable = team_rows(session)
    batch.rows.load("teams", [{"id": r.id, "active_tasks": r.active_tasks} for r in rows])
    # the roster and storm mode, read once for the whole pass
    conditions = conditions_at(session, now)
    states = [conditions.apply(state_of(r, r.id in bookable), r.region, r.reserve) for r in rows]
    pool = TeamPool(states, now, policy, cell_owners(rows))
    excluded = exclusions(session, [i.id for i in queued])
    was_queued = {i.id for i in queued}
    order = _leads_first(dispatch_order([*queued, *fresh], now, policy), lead_of, now, policy)
    plans = support_tasks.plans_of(batch.services)
    # the teams on each incident's other tasks: its lead's and its supports'
    held = support_tasks.teams_on(
        session, {lead_of.get(i.id, i.id) for i in queued} | set(lead_of.values())
    )
    choices: list[Choice | None] = []
    for part in _apart(order, lead_of):
        requests = [
            Request(
                i,
                {**excluded.get(i.id, {}), **_siblings(held, lead_of.get(i.id, i.id))},
                i.id in was_queued,
                None if i.id in lead_of else plans.plan_for(i.kind, i.priority).required_skill,
            )
            for i in part
        ]
        for incident, choice in zip(part, pool.choose_many(requests), strict=True):
            choices.append(choice)
            if choice is not None:
                held.setdefault(lead_of.get(incident.id, incident.id), set()).add(choice.team_id)
    assignments: list[Assignment] = []
    unassigned: list[Incident] = []
    for incident, choice in zip(order, choices, strict=True):
        if choice is None:
            unassigned.append(incident)
            continue
        assignments.append(_assignment_of(choice, now, conditions.storm_note(incident.region)))
        result.by_rule[choice.rule.value] += 1
        result.off_duty_passed_over += choice.off_duty_passed_over
        result.latencies_ms.append(latency_ms(incident.reported_at, now))
    _store_assignments(batch, assignments, {i.id: i for i in order}, now)
    newly_queued = [i for i in unassigned if i.id not in was_queued]
    _queue(batch, newly_queued, now)
    result.assigned, result.queued, result.waiting = (
        len(assignments),
        len(newly_queued),
        len(unassigned),
    )
    return result


def _queued_incidents(batch: Batch) -> tuple[list[Incident], dict[str, str]]:
    """The queue, and the lead of each support task in it; on PostgreSQL a concurrent router
    skips rows another one is routing."""
    rows = batch.session.scalars(
        select(IncidentRow)
        .where(IncidentRow.state == IncidentState.QUEUED.value)
        .with_for_update(skip_locked=True)
    ).all()
    batch.rows.load("incidents", [{c: getattr(r, c) for c in _QUEUED_COLUMNS} for r in rows])
    leads = {row.id: row.lead_id for row in rows if row.lead_id is not None}
    return [row.to_incident() for row in rows], leads


def _leads_first(
    order: Sequence[Incident], lead_of: Mapping[str, str], now: datetime, policy: RoutingPolicy
) -> list[Incident]:
    """The dispatch order, with the support tasks of each urgency after its leads: a
    critical incident's second team still comes before a less urgent incident's first."""
    rank = {i.id: effective_rank(i, now, policy) for i in order}
    return sorted(order, key=lambda i: (rank[i.id], i.id in lead_of))


def _apart(order: Sequence[Incident], lead_of: Mapping[str, str]) -> list[list[Incident]]:
    """The order cut into runs that hold one task of an incident at most: a run is chosen at
    once, and the next run knows which teams the one before sent, so two tasks of one
    incident never get the same team."""
    parts: list[list[Incident]] = [[]]
    in_part: set[str] = set()
    for incident in order:
        group = lead_of.get(incident.id, incident.id)
        if group in in_part:
            parts.append([])
            in_part = set()
        parts[-1].append(incident)
        in_part.add(group)
    return parts


def _siblings(held: Mapping[str, set[str]], group: str) -> dict[str, str]:
    """The teams a task must not get: those on the other tasks of its incident."""
    return dict.fromkeys(held.get(group, ()), support_tasks.SIBLING)


def _assignment_of(choice: Choice, now: datetime, storm: dict[str, object] | None) -> Assignment:
    """The decision, saying so when it was made under storm mode in the incident's division."""
    explanation = choice.explanation()
    if storm is not None:
        explanation[0]["storm_mode"] = storm
    return Assignment(
        incident_id=choice.incident_id,
        team_id=choice.team_id,
        assigned_at=now,
        distance_km=choice.distance_km,
        rule=choice.rule.value,
        explanation=explanation,
    )


def _store_assignments(
    batch: Batch, assignments: Sequence[Assignment], incidents: dict[str, Incident], now: datetime
) -> None:
    if not assignments:
        return
    clock_starts.start_clocks(batch, assignments, now)  # each team's acknowledge clock
    producer = batch.services.settings.producer_name
    envelopes = [
        envelope_for(
            TeamAssigned(**a.model_dump()),
            producer=producer,
            key=incidents[a.incident_id].partition_key,
            at=a.assigned_at,
        )
        for a in assignments
    ]
    batch.record_envelopes(envelopes, now)


def _queue(batch: Batch, incidents: Sequence[Incident], now: datetime) -> None:
    """Newly waiting incidents: state queued, and an event saying why (logged, not published)."""
    if not incidents:
        return
    producer = batch.services.settings.producer_name
    envelopes = [
        envelope_for(
            IncidentQueued(incident_id=i.id, reason=_why_queued(i)),
            producer=producer,
            key=i.partition_key,
            at=now,
        )
        for i in incidents
    ]
    batch.record_envelopes(envelopes, now, staged=False)


def _why_queued(incident: Incident) -> str:
    skill = SKILL_FOR_KIND[incident.kind].value
    return f"no eligible team: none available with capacity left and the skill {skill}"
