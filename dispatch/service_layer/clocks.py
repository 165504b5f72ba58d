"""SLA clocks in the database, and the watchdog that acts on their stored deadlines.

Clocks are rows with their deadlines (`sla_clocks`), not timers: the watchdog asks the database
for the clocks whose next warning or deadline has come, so a restart loses nothing. A missed
acknowledgement withdraws the task (the team is excluded from that incident and the incident
queued for the next eligible team); a second miss, or a long wait with no eligible team,
escalates the incident to its region's supervisor. Lock order in every transaction here and in
the lifecycle's: incident rows, clock rows, the event log head, team rows (as routing).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache
from itertools import groupby
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentExclusionRow, IncidentRow, SlaClockRow, TeamRow
from dispatch.adapters.outbox import stage_many
from dispatch.bootstrap import Services
from dispatch.config import sla_policy_path
from events import topics
from events.envelope import Envelope
from events.schemas import EventPayload, envelope_for
from events.schemas.tasks import (
    ClockSnapshot,
    IncidentEscalated,
    SlaBreached,
    SlaClocksStarted,
    SlaWarning,
    TaskReassigned,
)
from models.incident import AreaClass, IncidentKind, IncidentState, Priority
from models.lifecycle import WAITING, Action, transition
from models.sla import ClockKind, ClockState, SlaClock, SlaPolicy, load_policy
from models.team import Assignment

WATCHDOG = "sla-watchdog"  # the actor of what the watchdog does
DISPATCHER = "dispatcher"  # the actor of routing decisions
ESCALATE_AFTER_MISSES = 2


@cache
def _policy_at(path: str | None) -> SlaPolicy:
    return load_policy(path)


def policy_of(services: Services) -> SlaPolicy:
    """The configured policy; config/sla.toml beside the code, or the built-in defaults."""
    return _policy_at(sla_policy_path(services.settings))


def shortest_target(policy: SlaPolicy, kind: ClockKind) -> timedelta:
    """The tightest target of a clock kind over every area, priority and incident kind."""
    return min(
        policy.target(kind, area=area, priority=priority, kind=incident_kind)
        for area in AreaClass
        for priority in Priority
        for incident_kind in IncidentKind
    )


def supervisor_of(region: str) -> str:
    return f"supervisor:{region or 'unknown'}"


# --- clock rows and the pure clocks of models/sla.py -------------------------------------


def clock_of(row: SlaClockRow) -> SlaClock:
    warned = frozenset(f for f, on in ((0.5, row.warned_50), (0.75, row.warned_75)) if on)
    return SlaClock(
        kind=ClockKind(row.kind),
        started_at=row.started_at,
        target=timedelta(seconds=row.target_s),
        state=ClockState(row.state),
        paused_for=timedelta(seconds=row.paused_s),
        paused_since=row.paused_since,
        warned=warned,
        closed_at=row.closed_at,
    )


def write_clock(row: SlaClockRow, clock: SlaClock) -> None:
    """Store a clock, its computed deadline and when the watchdog must next look at it."""
    row.state = clock.state.value
    row.target_s = clock.target.total_seconds()
    row.paused_s = clock.paused_for.total_seconds()
    row.paused_since = clock.paused_since
    row.deadline = clock.deadline
    row.warned_50 = 0.5 in clock.warned
    row.warned_75 = 0.75 in clock.warned
    row.next_due_at = clock.next_due_at()
    row.closed_at = clock.closed_at


class ClockValues(NamedTuple):
    """A new clock as an `sla_clocks` row: what routing starts in bulk, with no ORM object per
    clock (an ORM object, its flush and its bookkeeping cost several times the insert)."""

    incident_id: str
    kind: str
    attempt: int
    team_id: str | None
    state: str
    started_at: datetime
    target_s: float
    paused_s: float
    paused_since: datetime | None
    deadline: datetime
    warned_50: bool
    warned_75: bool
    next_due_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(
        cls, incident_id: str, clock: SlaClock, *, attempt: int = 1, team_id: str | None = None
    ) -> ClockValues:
        """The row `write_clock` would store for `clock`."""
        return cls(
            incident_id,
            clock.kind.value,
            attempt,
            team_id,
            clock.state.value,
            clock.started_at,
            clock.target.total_seconds(),
            clock.paused_for.total_seconds(),
            clock.paused_since,
            clock.deadline,
            0.5 in clock.warned,
            0.75 in clock.warned,
            clock.next_due_at(),
            clock.closed_at,
        )


def snapshot(row: SlaClockRow | ClockValues) -> ClockSnapshot:
    # Built, not validated: every value comes from a stored or computed clock of the right
    # type (validation was a quarter of starting a clock; tests/unit checks the same JSON).
    return ClockSnapshot.model_construct(
        kind=row.kind,
        attempt=row.attempt,
        team_id=row.team_id,
        state=row.state,
        started_at=row.started_at,
        target_minutes=round(row.target_s / 60, 4),
        paused_minutes=round(row.paused_s / 60, 4),
        paused_since=row.paused_since,
        deadline=row.deadline,
        warned_50=row.warned_50,
        warned_75=row.warned_75,
        closed_at=row.closed_at,
    )


@dataclass(frozen=True)
class IncidentFacts:
    """What a clock's target depends on."""

    id: str
    region: str
    kind: str
    priority: str
    area_class: str
    reported_at: datetime


def facts_of(row: Any) -> IncidentFacts:
    return IncidentFacts(
        row.id, row.region, row.kind, row.priority, row.area_class, row.reported_at
    )


def target_of(policy: SlaPolicy, kind: ClockKind, incident: IncidentFacts) -> timedelta:
    return policy.target(
        kind, area=incident.area_class, priority=incident.priority, kind=incident.kind
    )


def new_clock(
    session: Session,
    policy: SlaPolicy,
    incident: IncidentFacts,
    kind: ClockKind,
    started_at: datetime,
    *,
    attempt: int = 1,
    team_id: str | None = None,
) -> SlaClockRow:
    row = SlaClockRow(incident_id=incident.id, kind=kind.value, attempt=attempt, team_id=team_id)
    row.started_at = started_at
    write_clock(row, SlaClock(kind, started_at, target_of(policy, kind, incident)))
    session.add(row)
    cached = _cached_clocks(session, incident.id)
    if cached is not None:
        cached.append(row)
    return row


_CLOCKS = "everycall.clock_rows"
CLOCK_TABLE = cast(Table, SlaClockRow.__table__)


def preload_clocks(session: Session, incident_ids: Sequence[str]) -> None:
    """Lock and keep every clock of these incidents in the session, so that commands on them
    in this transaction need no clock query; for batches such as the simulated crews."""
    cache: dict[str, list[SlaClockRow]] = {i: [] for i in incident_ids}
    ids = sorted(cache)
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(SlaClockRow)
            .where(SlaClockRow.incident_id.in_(ids[start : start + 500]))
            .order_by(SlaClockRow.incident_id, SlaClockRow.id)
            .with_for_update()
        )
        for row in rows:
            cache[row.incident_id].append(row)
    session.info.setdefault(_CLOCKS, {}).update(cache)


def insert_clocks(session: Session, clocks: Sequence[ClockValues]) -> None:
    """Store new clocks in one statement; clocks of incidents preloaded in this session
    (`preload_clocks`) are read back into its cache, so later commands see them."""
    if not clocks:
        return
    session.execute(CLOCK_TABLE.insert(), [c._asdict() for c in clocks])
    cache: dict[str, list[SlaClockRow]] = session.info.get(_CLOCKS, {})
    cached = sorted({c.incident_id for c in clocks if c.incident_id in cache})
    if cached:
        for incident_id in cached:
            cache[incident_id].clear()
        preload_clocks(session, cached)


def _cached_clocks(session: Session, incident_id: str) -> list[SlaClockRow] | None:
    cache: dict[str, list[SlaClockRow]] = session.info.get(_CLOCKS, {})
    return cache.get(incident_id)


def _is_open(row: SlaClockRow) -> bool:
    return row.closed_at is None and row.state != ClockState.STOPPED.value


def open_clocks(session: Session, incident_id: str) -> list[SlaClockRow]:
    """Clocks not yet closed (running, paused, or breached and still waiting to be done)."""
    cached = _cached_clocks(session, incident_id)
    if cached is not None:
        return [row for row in cached if _is_open(row)]
    return list(
        session.scalars(
            select(SlaClockRow)
            .where(SlaClockRow.incident_id == incident_id)
            .where(SlaClockRow.closed_at.is_(None))
            .where(SlaClockRow.state != ClockState.STOPPED.value)
            .order_by(SlaClockRow.id)
            .with_for_update()
        )
    )


def next_attempt(session: Session, incident_id: str, kind: ClockKind) -> int:
    cached = _cached_clocks(session, incident_id)
    if cached is not None:
        return 1 + max((r.attempt for r in cached if r.kind == kind.value), default=0)
    found = session.scalar(
        select(func.max(SlaClockRow.attempt))
        .where(SlaClockRow.incident_id == incident_id)
        .where(SlaClockRow.kind == kind.value)
    )
    return int(found or 0) + 1


# --- events ------------------------------------------------------------------------------


def emit(
    session: Session,
    services: Services,
    region: str,
    payloads: Sequence[EventPayload],
    now: datetime,
) -> None:
    """Log one incident's events and stage them for Kafka, in the caller's transaction."""
    emit_all(session, services, [(region, p) for p in payloads], now)


def emit_all(
    session: Session,
    services: Services,
    items: Sequence[tuple[str, EventPayload]],
    now: datetime,
) -> None:
    """Log events keyed by region and stage them for Kafka, in one append (or, inside
    `batched_commands`, when the batch ends)."""
    producer = services.settings.producer_name
    envelopes = [
        envelope_for(p, producer=producer, key=region or "unknown", at=now) for region, p in items
    ]
    pending = session.info.get(_PENDING)
    if pending is not None:
        pending.extend((e, now) for e in envelopes)
        return
    _log_and_stage(session, services, [(e, now) for e in envelopes])


def _log_and_stage(
    session: Session, services: Services, envelopes: Sequence[tuple[Envelope, datetime]]
) -> None:
    services.event_log.append(session, [e for e, _ in envelopes])
    for at, run in groupby(envelopes, key=lambda pair: pair[1]):
        stage_many(session, topics.ASSIGNMENTS, [e for e, _ in run], at)


_PENDING = "everycall.pending_events"
_RELEASES = "everycall.pending_releases"


@contextmanager
def batched_commands(session: Session, services: Services) -> Iterator[None]:
    """Many commands in one transaction: their events are appended once, in order, and the
    team loads they release are written once, at the end (events first, then teams: the lock
    order routing uses)."""
    session.info[_PENDING], session.info[_RELEASES] = [], {}
    try:
        yield
        pending, releases = session.info[_PENDING], session.info[_RELEASES]
    finally:
        session.info.pop(_PENDING, None)
        session.info.pop(_RELEASES, None)
    if pending:
        _log_and_stage(session, services, pending)
    for team_id in sorted(releases):
        tasks, finished_at = releases[team_id]
        _release(session, team_id, tasks, finished_at)


# --- hooks called by routing (service_layer/routing.py) ----------------------------------


def start_report_clocks(
    session: Session,
    services: Services,
    incidents: Sequence[Any],
    now: datetime,
    paused: Collection[str] = (),
) -> dict[str, ClockValues]:
    """Start the arrive clock of each new report at its report time (they wait from then);
    those of the incidents in `paused` (storm duplicates) pause at `now`, and are returned."""
    policy = policy_of(services)
    stored, items = [], []
    paused_clocks: dict[str, ClockValues] = {}
    for incident in incidents:
        facts = facts_of(incident)
        clock = SlaClock(ClockKind.ARRIVE, facts.reported_at, arrive_target(policy, facts))
        started = ClockValues.of(facts.id, clock)
        items.append((facts.region, _started(facts.id, IncidentState.REPORTED, [started])))
        if facts.id in paused:
            started = paused_clocks[facts.id] = ClockValues.of(facts.id, clock.pause(now))
        stored.append(started)
    insert_clocks(session, stored)
    emit_all(session, services, items, now)
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
    session: Session, services: Services, assignments: Sequence[Assignment], now: datetime
) -> None:
    """Routing stored these assignments: start each team's acknowledge clock (and an arrive
    clock for an incident that has none, e.g. one reported before clocks existed)."""
    if not assignments:
        return
    policy = policy_of(services)
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
    stored: list[ClockValues] = []
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
        stored.extend(clocks)
        items.append((facts.region, _started(facts.id, IncidentState.ASSIGNED, clocks)))
    insert_clocks(session, stored)
    emit_all(session, services, items, now)


# --- team load, exclusions, escalation (shared with the lifecycle) ---------------------


def release_team(
    session: Session, team_id: str | None, *, finished_at: datetime | None = None
) -> None:
    """One task fewer for the team; `finished_at` when it finished the job (rest rotation)."""
    if team_id is None:
        return
    releases: dict[str, tuple[int, datetime | None]] | None = session.info.get(_RELEASES)
    if releases is None:
        _release(session, team_id, 1, finished_at)
        return
    tasks, finished = releases.get(team_id, (0, None))
    releases[team_id] = (tasks + 1, finished_at or finished)


def _release(session: Session, team_id: str, tasks: int, finished_at: datetime | None) -> None:
    team = session.get(TeamRow, team_id, with_for_update=True)
    if team is None:  # retired from the registry since: nothing to release
        return
    team.active_tasks = max(0, team.active_tasks - tasks)
    if finished_at is not None:
        team.last_finished_at = finished_at


def exclude_team(session: Session, incident_id: str, team_id: str, reason: str) -> None:
    """Routing will not choose this team for this incident again."""
    if session.get(IncidentExclusionRow, (incident_id, team_id)) is None:
        session.add(
            IncidentExclusionRow(incident_id=incident_id, team_id=team_id, reason=reason[:200])
        )


def escalate(
    session: Session,
    services: Services,
    incident: IncidentRow,
    reason: str,
    now: datetime,
    actor: str = WATCHDOG,
) -> bool:
    """Flag the incident for its region's supervisor, once; it keeps its state and retries."""
    if incident.escalated:
        return False
    transition(incident.state, Action.ESCALATE, f"incident {incident.id}")
    incident.escalated = True
    payload = IncidentEscalated(
        incident_id=incident.id,
        actor=actor,
        state=incident.state,
        region=incident.region,
        supervisor=supervisor_of(incident.region),
        reason=reason,
        escalated_at=now,
    )
    emit(session, services, incident.region, [payload], now)
    return True


# --- the watchdog ------------------------------------------------------------------------


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
    transaction; returns what it did."""
    now = services.clock.now()
    outcome = WatchdogOutcome()
    with services.sessions.begin() as session, batched_commands(session, services):
        due_ids = session.execute(
            select(SlaClockRow.id, SlaClockRow.incident_id)
            .where(SlaClockRow.next_due_at <= now)
            .order_by(SlaClockRow.next_due_at)
            .limit(limit)
        ).all()
        incidents = _lock_incidents(session, {incident_id for _, incident_id in due_ids})
        preload_clocks(session, list(incidents))
        due = {clock_id for clock_id, _ in due_ids}
        clocks = [row for rows in session.info[_CLOCKS].values() for row in rows if row.id in due]
        clocks.sort(key=lambda row: (row.next_due_at or now, row.id))
        for row in clocks:
            _act_on_clock(session, services, row, incidents[row.incident_id], now, outcome)
        _escalate_long_waits(session, services, now, outcome)
    return outcome


def _lock_incidents(session: Session, ids: set[str]) -> dict[str, IncidentRow]:
    rows = session.scalars(
        select(IncidentRow)
        .where(IncidentRow.id.in_(sorted(ids)))
        .order_by(IncidentRow.id)
        .with_for_update()
    ).all()
    return {row.id: row for row in rows}


def _act_on_clock(
    session: Session,
    services: Services,
    row: SlaClockRow,
    incident: IncidentRow,
    now: datetime,
    outcome: WatchdogOutcome,
) -> None:
    clock = clock_of(row)
    for due in clock.due(now):
        if due.fraction is not None:
            clock = clock.warn(due.fraction)
            write_clock(row, clock)
            emit(session, services, incident.region, [_warning(row, incident, due.fraction)], now)
            outcome.warned += 1
            continue
        outcome.breached += 1
        withdrawable = (
            clock.kind is ClockKind.ACKNOWLEDGE
            and incident.state == IncidentState.ASSIGNED.value
            and incident.team_id == row.team_id
        )
        if withdrawable:
            withdraw_task(session, services, incident, row, now, outcome)
        else:
            write_clock(row, clock.breach())
            emit(session, services, incident.region, [_breach(row, incident)], now)


def _warning(row: SlaClockRow, incident: IncidentRow, fraction: float) -> SlaWarning:
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


def _breach(row: SlaClockRow, incident: IncidentRow) -> SlaBreached:
    return SlaBreached(
        incident_id=incident.id,
        actor=WATCHDOG,
        state=incident.state,
        clocks=[snapshot(row)],
        kind=row.kind,
        team_id=row.team_id,
        deadline=row.deadline,
    )


def withdraw_task(
    session: Session,
    services: Services,
    incident: IncidentRow,
    clock_row: SlaClockRow,
    now: datetime,
    outcome: WatchdogOutcome,
) -> None:
    """No acknowledgement by the deadline: take the task back, exclude that team, queue the
    incident for the next eligible team; escalate at the second miss."""
    step = transition(incident.state, Action.WITHDRAW, f"incident {incident.id}")
    team_id = str(incident.team_id)
    write_clock(clock_row, clock_of(clock_row).close(now, ClockState.BREACHED))
    clocks = _cached_clocks(session, incident.id)
    if clocks is None:
        clocks = list(
            session.scalars(select(SlaClockRow).where(SlaClockRow.incident_id == incident.id))
        )
    misses = 1 + sum(
        1
        for row in clocks
        if row.kind == ClockKind.ACKNOWLEDGE.value
        and row.state == ClockState.BREACHED.value
        and row is not clock_row
    )
    minutes = round(clock_row.target_s / 60, 1)
    reason = f"no acknowledgement within {minutes:g} min"
    incident.state, incident.team_id = step.target.value, None
    incident.waiting_since = now
    exclude_team(session, incident.id, team_id, reason)
    breach = _breach(clock_row, incident)
    reassigned = TaskReassigned(
        incident_id=incident.id,
        actor=WATCHDOG,
        state=incident.state,
        clocks=[snapshot(clock_row)],
        from_team_id=team_id,
        reason=reason,
        misses=misses,
        withdrawn_at=now,
    )
    emit(session, services, incident.region, [breach, reassigned], now)
    outcome.reassigned += 1
    if misses >= ESCALATE_AFTER_MISSES and escalate(
        session, services, incident, f"{misses} acknowledgement deadlines missed", now
    ):
        outcome.escalated += 1
    release_team(session, team_id)


def _escalate_long_waits(
    session: Session, services: Services, now: datetime, outcome: WatchdogOutcome
) -> None:
    """An incident that waited a whole acknowledge target with no team: no eligible team."""
    policy = policy_of(services)
    shortest = shortest_target(policy, ClockKind.ACKNOWLEDGE)
    waiting_ids = session.scalars(
        select(IncidentRow.id)
        .where(IncidentRow.state.in_([s.value for s in WAITING]))
        .where(IncidentRow.escalated.is_(False))
        .where(IncidentRow.waiting_since <= now - shortest)
    ).all()
    for incident in _lock_incidents(session, set(waiting_ids)).values():
        target = target_of(policy, ClockKind.ACKNOWLEDGE, facts_of(incident))
        if incident.waiting_since is None or incident.waiting_since > now - target:
            continue
        minutes = round(target.total_seconds() / 60, 1)
        reason = f"no eligible team within {minutes:g} min"
        if escalate(session, services, incident, reason, now):
            outcome.escalated += 1
