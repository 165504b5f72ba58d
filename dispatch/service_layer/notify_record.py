"""The notifier's transactions. Taking events: the deliveries they become are stored and the
cursor moved past them, together. Before each attempt: `notification.sent` is logged, and
committed, before it is made; so a restart never makes an attempt twice (one that was under
way is recorded as failed instead). After it: `notification.delivered` or `notification.failed`.
A notice whose deliveries all failed, to a team that has not taken its task, escalates the
incident at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Table, bindparam, delete, select, update
from sqlalchemy.orm import Session

from dispatch.adapters.notify_config import NotifyConfig
from dispatch.adapters.orm import (
    IncidentRow,
    LogCursorRow,
    NotificationDeliveryRow,
    PushSubscriptionRow,
    SmsReferenceRow,
    TaskNoticeRow,
)
from dispatch.adapters.web_push import PUSH
from dispatch.service_layer.batch_rows import BatchRows
from dispatch.service_layer.live_rows import LiveRows
from dispatch.service_layer.notify_plan import Job, new_reference, plan_deliveries, push_address
from dispatch.service_layer.push_subscriptions import forget_gone
from dispatch.service_layer.recipients import live_subscription_owners, still_on_duty
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import Commands, UnitOfWork
from dispatch.service_layer.watchdog import escalate
from dispatch.views.log_tail import Logged
from events.log import EVENT_LOG
from events.schemas import envelope_for
from events.schemas.notifications import (
    NOTIFIER,
    NotificationAttempt,
    NotificationDelivered,
    NotificationFailed,
    NotificationSent,
)
from models.incident import IncidentState
from models.notice import NOTIFIED_EVENTS, WAITING_FOR_THE_TEAM, Delivery, Notice, Outcome

CURSOR = "notifier"
QUEUED, SENDING, WAITING = "queued", "sending", "waiting"
DELIVERED, FAILED, DROPPED = "delivered", "failed", "dropped"
UNFINISHED = frozenset({QUEUED, SENDING, WAITING})
INTERRUPTED = "interrupted: the notifier stopped during the attempt, which is not made again"
UNTOLD = "通知全部失败 every notification to the team failed"
DELIVERIES: Table = NotificationDeliveryRow.__table__  # type: ignore[assignment]
NOTICES: Table = TaskNoticeRow.__table__  # type: ignore[assignment]
REFERENCES: Table = SmsReferenceRow.__table__  # type: ignore[assignment]


class Taken(NamedTuple):
    jobs: list[Job]
    cursor: int
    more: bool  # the batch was full: more events wait
    leaving: frozenset[str] = frozenset()  # deliveries logged as sent already: they go at once


@dataclass(frozen=True)
class Finished:
    """An attempt's outcome; `retry` is the next attempt when there is one."""

    job: Job
    outcome: Outcome
    retry: Job | None = None


def take_events(
    services: Services, config: NotifyConfig, limit: int = 1000, busy: Collection[str] = ()
) -> Taken:
    """The next notified events after the cursor, as stored deliveries; the cursor moves past
    them in the same transaction. The first delivery of each lane not `busy` (nothing queued
    before it) is logged as sent in it too: it leaves as soon as this commits."""
    now = services.clock.now()
    with _batch(services) as batch:
        session = batch.session
        head = services.event_log.head(session)[0]
        cursor = session.get(LogCursorRow, CURSOR, with_for_update=True)
        if cursor is None:  # a database made before the notifier: start at the head
            session.add(LogCursorRow(name=CURSOR, seq=head))
            return Taken([], head, False)
        events = _notified_after(session, cursor.seq, head, limit)
        jobs = _stored(session, plan_deliveries(session, config, events, now), now)
        leaving = _first_of_idle_lanes(jobs, busy)
        batch.record([(job.region, _sent(job)) for job in leaving], now)
        _set_states(session, leaving, [], [], now)
        more = len(events) == limit
        cursor.seq = events[-1].seq if more else head
        return Taken(jobs, cursor.seq, more, frozenset(j.delivery.delivery_id for j in leaving))


def _first_of_idle_lanes(jobs: Sequence[Job], busy: Collection[str]) -> list[Job]:
    taken = set(busy)
    first = []
    for job in jobs:
        if job.lane not in taken:
            taken.add(job.lane)
            first.append(job)
    return first


def cursor_and_head(services: Services) -> tuple[int, int]:
    """Where the notifier is in the log, and where the log is (no lock): its lag."""
    with services.reads() as session:
        cursor = session.get(LogCursorRow, CURSOR)
        head = services.event_log.head(session)[0]
    return (cursor.seq if cursor else head), head


def _notified_after(session: Session, after: int, head: int, limit: int) -> list[Logged]:
    # Up to the head read first: every entry up to it is committed (appenders serialise on the
    # head row), so nothing below the new cursor is ever passed over unseen.
    rows = session.execute(
        select(EVENT_LOG.c.seq, EVENT_LOG.c.type, EVENT_LOG.c.envelope)
        .where(EVENT_LOG.c.seq > after, EVENT_LOG.c.seq <= head)
        .where(EVENT_LOG.c.type.in_(NOTIFIED_EVENTS))
        .order_by(EVENT_LOG.c.seq)
        .limit(limit)
    )
    return [Logged(*row) for row in rows]


def _stored(session: Session, jobs: list[Job], now: datetime) -> list[Job]:
    """Insert the deliveries (and their SMS references, fresh ones if any is taken)."""
    if not jobs:
        return jobs
    jobs = _fresh_references(session, jobs)
    session.execute(DELIVERIES.insert(), [_row(job) for job in jobs])
    references = [
        {
            "reference": job.delivery.reference,
            "incident_id": job.incident_id,
            "team_id": job.team_id,
            "recipient": job.delivery.recipient,
            "created_at": now,
        }
        for job in jobs
        if job.delivery.reference and job.team_id
    ]
    if references:
        session.execute(REFERENCES.insert(), references)
    return jobs


def _fresh_references(session: Session, jobs: list[Job]) -> list[Job]:
    wanted = [job.delivery.reference for job in jobs if job.delivery.reference]
    taken = set(
        session.scalars(
            select(SmsReferenceRow.reference).where(SmsReferenceRow.reference.in_(wanted))
        )
    )
    if not taken and len(set(wanted)) == len(wanted):
        return jobs
    fresh, seen = [], set(taken)
    for job in jobs:
        reference = job.delivery.reference
        if reference is not None:
            while reference in seen:
                reference = new_reference()
            seen.add(reference)
        fresh.append(replace(job, delivery=replace(job.delivery, reference=reference)))
    return fresh


def _row(job: Job) -> dict[str, Any]:
    delivery = job.delivery
    return {
        "id": delivery.delivery_id,
        "about_event_id": job.about_event_id,
        "about": job.about,
        "incident_id": job.incident_id,
        "team_id": job.team_id,
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "target": job.target,
        "notice": delivery.notice.payload(),
        "reference": delivery.reference,
        "attempt": delivery.attempt,
        "state": QUEUED,
        "next_at": None,
        "queued_seq": job.seq,
    }


# --- attempts: sent before, then delivered or failed ------------------------------------------


class _Batch:
    """One of the notifier's transactions: its notification events folded as a batch (rows
    read once, written in bulk, as routing's are: batch_rows.py), and the escalations they
    cause run as the lifecycle's commands; logged in that order at the end. The attempts are
    the notifier's own record, not dispatch decisions: they reach Kafka with the whole log on
    the audit topic, not on the assignments topic; the escalations go on both."""

    def __init__(self, session: Session, services: Services) -> None:
        self.session = session
        self.producer = services.settings.producer_name
        self.notices = UnitOfWork(session, services, BatchRows(session), batched=True)
        self.commands: Commands = UnitOfWork(session, services, LiveRows(session), batched=True)

    def record(self, items: Sequence[tuple[str, NotificationAttempt]], now: datetime) -> None:
        keys = {(p.incident_id, p.team_id) for _, p in items if p.team_id is not None}
        self.notices.rows.load("task_notices", _notices(self.session, keys))
        envelopes = [
            envelope_for(p, producer=self.producer, key=region or "unknown", at=now)
            for region, p in items
        ]
        self.notices.record_envelopes(envelopes, now, staged=False)

    def finish(self) -> None:
        self.notices.finish()
        self.commands.finish()


@contextmanager
def _batch(services: Services) -> Iterator[_Batch]:
    with services.sessions.begin() as session:
        batch = _Batch(session, services)
        yield batch
        batch.finish()


def _notices(session: Session, keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The stored `task_notices` rows of these keys, locked."""
    table = NOTICES
    ids = sorted({incident_id for incident_id, _ in keys})
    found = []
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(*table.columns)
            .where(table.c.incident_id.in_(ids[start : start + 500]))
            .with_for_update()
        ).mappings()
        found += [dict(r) for r in rows if (r["incident_id"], r["team_id"]) in keys]
    return found


def record_progress(
    services: Services, sending: Sequence[Job], finished: Sequence[Finished]
) -> set[str]:
    """Log the attempts about to be made and the outcomes of those made, in one transaction.
    Returns the deliveries that may go: a recipient who went off duty or signed out since the
    delivery was planned gets nothing (the delivery is dropped, no attempt made)."""
    now = services.clock.now()
    with _batch(services) as batch:
        session = batch.session
        cleared = _cleared(session, sending, now)
        go = [job for job in sending if job.delivery.delivery_id in cleared]
        dropped = [job for job in sending if job.delivery.delivery_id not in cleared]
        events: list[tuple[str, NotificationAttempt]] = [(job.region, _sent(job)) for job in go]
        events += [(f.job.region, _outcome_event(f)) for f in finished]
        batch.record(events, now)
        _set_states(session, go, dropped, finished, now)
        gone = {f.job.target for f in finished if f.outcome.gone and f.job.delivery.channel == PUSH}
        forget_gone(session, gone)
        touched = {job.about_event_id for job in dropped}
        touched |= {f.job.about_event_id for f in finished if f.retry is None}
        finish_notices(batch.commands, touched, now)
    return {job.delivery.delivery_id for job in go}


def _cleared(session: Session, jobs: Sequence[Job], now: datetime) -> set[str]:
    pushes = [job for job in jobs if job.delivery.channel == PUSH]
    texts = [job for job in jobs if job.delivery.channel != PUSH and job.target]
    owners = live_subscription_owners(session, {job.target for job in pushes}, now)
    # one query of who is on duty for both channels: it reads storm mode's call-ups too
    on_duty = still_on_duty(session, {job.target for job in texts} | set(owners.values()))
    return {
        job.delivery.delivery_id
        for job in jobs
        if (job.delivery.channel == PUSH and owners.get(job.target) in on_duty)
        or (job.delivery.channel != PUSH and (not job.target or job.target in on_duty))
    }


def _fields(job: Job) -> dict[str, Any]:
    delivery = job.delivery
    return {
        "incident_id": job.incident_id,
        "team_id": job.team_id,
        "actor": NOTIFIER,
        "delivery_id": delivery.delivery_id,
        "channel": delivery.channel,
        "recipient": delivery.recipient,
        "about": job.about,
        "about_event_id": job.about_event_id,
        "attempt": delivery.attempt,
    }


def _sent(job: Job) -> NotificationSent:
    return NotificationSent(**_fields(job), reference=job.delivery.reference)


def _outcome_event(finished: Finished) -> NotificationAttempt:
    outcome = finished.outcome
    if outcome.delivered:
        return NotificationDelivered(**_fields(finished.job), status=outcome.status)
    return NotificationFailed(
        **_fields(finished.job),
        reason=outcome.reason[:500] or "failed",
        status=outcome.status,
        final=finished.retry is None,
    )


def _set_states(
    session: Session,
    go: Sequence[Job],
    dropped: Sequence[Job],
    finished: Sequence[Finished],
    now: datetime,
) -> None:
    changes = [_change(job.delivery.delivery_id, SENDING, job.delivery.attempt) for job in go]
    changes += [_change(job.delivery.delivery_id, DROPPED, job.delivery.attempt) for job in dropped]
    for f in finished:
        if f.retry is not None:
            changes.append(
                _change(
                    f.job.delivery.delivery_id,
                    WAITING,
                    f.retry.delivery.attempt,
                    f.retry.not_before,
                )
            )
        else:
            state = DELIVERED if f.outcome.delivered else FAILED
            changes.append(_change(f.job.delivery.delivery_id, state, f.job.delivery.attempt))
    if changes:
        table = DELIVERIES
        session.execute(
            update(table)
            .where(table.c.id == bindparam("key"))
            .values(
                state=bindparam("new_state"),
                attempt=bindparam("new_attempt"),
                next_at=bindparam("new_next_at"),
            ),
            changes,
        )


def _change(
    delivery_id: str, state: str, attempt: int, next_at: datetime | None = None
) -> dict[str, Any]:
    return {"key": delivery_id, "new_state": state, "new_attempt": attempt, "new_next_at": next_at}


# --- a notice finished: every delivery of one event delivered, failed or dropped -------------


def finish_notices(uow: Commands, about_event_ids: Iterable[str], now: datetime) -> int:
    """Forget the notices whose deliveries are all finished, escalating each that reached
    nobody of a team still to take its task. Returns the incidents escalated."""
    ids = sorted(set(about_event_ids))
    if not ids:
        return 0
    table = DELIVERIES
    # Core reads: the states were just changed by Core updates, behind the ORM's back
    rows = uow.session.execute(
        select(table.c.about_event_id, table.c.state, table.c.about, table.c.incident_id)
        .add_columns(table.c.team_id, table.c.queued_seq)
        .where(table.c.about_event_id.in_(ids))
        .order_by(table.c.queued_seq)
    ).all()
    notices: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        notices[row.about_event_id].append(row)
    finished = [a for a, group in notices.items() if all(r.state not in UNFINISHED for r in group)]
    escalated = 0
    for about in finished:  # in the log's order
        group = notices[about]
        told = {r.state for r in group}
        if FAILED in told and DELIVERED not in told and group[0].about in WAITING_FOR_THE_TEAM:
            escalated += _escalate_untold(uow, group[0].incident_id, group[0].team_id, now)
    if finished:
        uow.session.execute(delete(table).where(table.c.about_event_id.in_(finished)))
    return escalated


def _escalate_untold(uow: Commands, incident_id: str, team_id: str | None, now: datetime) -> int:
    incident = uow.rows.incident(incident_id)
    if incident.state != IncidentState.ASSIGNED.value or incident.team_id != team_id:
        return 0  # the team took it (from the app) or it moved on: nothing to raise
    return int(escalate(uow, incident, UNTOLD, now, actor=NOTIFIER))


# --- a restart: what was under way is failed, what waited goes on ----------------------------


def resume(services: Services, config: NotifyConfig) -> list[Job]:
    """After a restart: an attempt logged as sent but not finished may or may not have left,
    so it is recorded as failed and not made again; queued and waiting deliveries go on, in
    their order (those whose recipient is gone are dropped)."""
    now = services.clock.now()
    with _batch(services) as batch:
        session = batch.session
        rows = session.scalars(
            select(NotificationDeliveryRow)
            .where(NotificationDeliveryRow.state.in_(sorted(UNFINISHED)))
            .order_by(NotificationDeliveryRow.queued_seq, NotificationDeliveryRow.id)
        ).all()
        regions = _regions(session, {row.incident_id for row in rows})
        interrupted, lost, resumed = [], [], []
        for row in rows:
            job = _job_of(row, config, regions.get(row.incident_id, ""))
            address = _address_of(session, config, job)
            if row.state == SENDING:
                interrupted.append(Finished(job, Outcome(False, INTERRUPTED)))
            elif address is None:
                lost.append(job)
            else:
                resumed.append(replace(job, delivery=replace(job.delivery, address=address)))
        batch.record([(f.job.region, _outcome_event(f)) for f in interrupted], now)
        _set_states(session, [], lost, interrupted, now)
        finish_notices(
            batch.commands,
            {f.job.about_event_id for f in interrupted} | {j.about_event_id for j in lost},
            now,
        )
    return resumed


def _address_of(session: Session, config: NotifyConfig, job: Job) -> dict[str, str] | None:
    """How to reach the recipient again, or None if it is gone."""
    if job.delivery.channel == PUSH:
        row = session.get(PushSubscriptionRow, job.target)
        return push_address(row) if row is not None else None
    if job.target:  # a member's phone
        phone = config.phone_of(job.target)
        return {"phone": phone} if phone else None
    return {}


def _regions(session: Session, ids: set[str]) -> dict[str, str]:
    rows = session.execute(
        select(IncidentRow.id, IncidentRow.region).where(IncidentRow.id.in_(sorted(ids)))
    )
    return dict(rows.all())


def _job_of(row: NotificationDeliveryRow, config: NotifyConfig, region: str) -> Job:
    delivery = Delivery(
        row.id, row.channel, row.recipient, Notice(**row.notice), row.attempt, row.reference
    )
    max_attempts = config.push_max_attempts
    for endpoint in config.webhooks:
        if endpoint.channel == row.channel:
            max_attempts = endpoint.max_attempts
    return Job(
        delivery,
        row.about,
        row.about_event_id,
        row.incident_id,
        row.team_id,
        region,
        row.target,
        row.queued_seq,
        max_attempts,
        row.next_at if row.state == WAITING else None,
    )
