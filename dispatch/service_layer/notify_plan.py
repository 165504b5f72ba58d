"""Who is told of what: each notified event of the log becomes deliveries, one per recipient
and channel. A team's members on duty get a push on each live subscription and, with a phone
configured, a text through the SMS gateway; the group bots whose filters take the event get
one message each. An assignment the team no longer holds is not notified (the notifier was
behind); a withdrawal is, to the team it was taken from."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.notify_config import NotifyConfig, WebhookEndpoint, phone_recipient
from dispatch.adapters.orm import IncidentRow, PushSubscriptionRow, SlaClockRow
from dispatch.adapters.web_push import PUSH
from dispatch.service_layer.recipients import Subscription, live_subscriptions, members_on_duty
from dispatch.views.log_tail import Logged
from models.incident import IncidentState
from models.lifecycle import WITH_TEAM
from models.notice import Delivery, Notice, TaskFacts, notice_for
from models.sla import ClockKind, ClockState

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read off a phone
REFERENCE_LENGTH = 8


@dataclass(frozen=True)
class Job:
    """A delivery with what the notifier keeps beside it: the event it tells of, the task,
    how to find the recipient again after a restart (`target`), and the order (`seq`)."""

    delivery: Delivery
    about: str
    about_event_id: str
    incident_id: str
    team_id: str | None
    region: str
    target: str  # a push subscription's id, a member's username, or "" for a bot
    seq: int
    max_attempts: int
    not_before: datetime | None = None

    @property
    def lane(self) -> str:
        """Deliveries of one lane go one after another, in order, retries included."""
        return f"{self.delivery.channel} {self.delivery.recipient}"

    def retried(self, at: datetime) -> Job:
        """The next attempt, not before `at`."""
        delivery = replace(self.delivery, attempt=self.delivery.attempt + 1)
        return replace(self, delivery=delivery, not_before=at)


@dataclass(frozen=True)
class _Told:
    """One notified event, and the team it tells (None: only the bots that want it)."""

    seq: int
    event_id: str
    type: str
    team_id: str | None
    region: str
    notice: Notice


def plan_deliveries(
    session: Session, config: NotifyConfig, events: Sequence[Logged], now: datetime
) -> list[Job]:
    """The deliveries of these events (of NOTIFIED_EVENTS), in the log's order."""
    envelopes = [(e.seq, orjson.loads(e.envelope)) for e in events]
    ids = sorted({envelope["payload"]["incident_id"] for _, envelope in envelopes})
    i = IncidentRow
    columns = (i.id, i.kind, i.priority, i.address, i.latitude, i.longitude, i.state, i.team_id)
    incidents = {
        row.id: row
        for row in session.execute(select(*columns, i.region).where(IncidentRow.id.in_(ids)))
    }
    deadlines = _acknowledge_deadlines(session, ids)
    told = [
        t
        for seq, envelope in envelopes
        if (t := _told(seq, envelope, incidents, deadlines)) is not None
    ]
    members = members_on_duty(session, {t.team_id for t in told if t.team_id})
    usernames = {name for names in members.values() for name in names}
    subscriptions = live_subscriptions(session, usernames, now)
    jobs: list[Job] = []
    for event in told:
        team_members = members.get(event.team_id, []) if event.team_id else []
        jobs += _pushes(event, team_members, subscriptions, config)
        jobs += _texts(event, team_members, config)
        jobs += _bots(event, config)
    return jobs


def _acknowledge_deadlines(session: Session, ids: Sequence[str]) -> dict[str, datetime]:
    rows = session.execute(
        select(SlaClockRow.incident_id, SlaClockRow.deadline)
        .where(SlaClockRow.incident_id.in_(ids))
        .where(SlaClockRow.kind == ClockKind.ACKNOWLEDGE.value)
        .where(SlaClockRow.state == ClockState.RUNNING.value)
    )
    return {incident_id: deadline for incident_id, deadline in rows}


def _told(
    seq: int,
    envelope: dict[str, Any],
    incidents: dict[str, Any],
    deadlines: dict[str, datetime],
) -> _Told | None:
    event_type, payload = envelope["type"], envelope["payload"]
    incident = incidents.get(payload["incident_id"])
    if incident is None:
        return None
    holder = incident.team_id if IncidentState(incident.state) in WITH_TEAM else None
    if event_type == "team.assigned":
        still_waiting = incident.state == IncidentState.ASSIGNED.value
        if not still_waiting or holder != payload["team_id"]:
            return None  # acknowledged, declined or withdrawn before we got to it
        team_id = holder
    elif event_type == "task.reassigned":
        team_id = payload["from_team_id"]
    else:
        team_id = holder
    facts = TaskFacts(
        incident.id,
        incident.kind,
        incident.priority,
        incident.address,
        incident.latitude,
        incident.longitude,
        deadlines.get(incident.id),
    )
    notice = notice_for(event_type, payload, facts)
    return _Told(seq, envelope["event_id"], event_type, team_id, incident.region, notice)


def _job(
    event: _Told, channel: str, recipient: str, target: str, max_attempts: int, **extra: Any
) -> Job:
    delivery = Delivery(uuid.uuid4().hex, channel, recipient, event.notice, **extra)
    return Job(
        delivery,
        event.type,
        event.event_id,
        event.notice.incident_id,
        event.team_id,
        event.region,
        target,
        event.seq,
        max_attempts,
    )


def _pushes(
    event: _Told,
    members: Sequence[str],
    subscriptions: dict[str, list[Subscription]],
    config: NotifyConfig,
) -> list[Job]:
    return [
        _job(
            event,
            PUSH,
            row.id,
            row.id,
            config.push_max_attempts,
            address=push_address(row),
        )
        for username in members
        for row in subscriptions.get(username, [])
    ]


def push_address(row: Subscription | PushSubscriptionRow) -> dict[str, str]:
    return {"endpoint": row.endpoint, "p256dh": row.p256dh, "auth": row.auth}


def _texts(event: _Told, members: Sequence[str], config: NotifyConfig) -> list[Job]:
    gateway = config.sms
    if gateway is None or not gateway.wants(event.type, event.team_id, event.region):
        return []
    jobs = []
    for username in members:
        phone = config.phone_of(username)
        if phone is None:
            continue
        recipient = phone_recipient(gateway, phone)
        reference = new_reference()
        jobs.append(
            _job(
                event,
                gateway.channel,
                recipient,
                username,
                gateway.max_attempts,
                reference=reference,
                address={"phone": phone},
            )
        )
    return jobs


def _bots(event: _Told, config: NotifyConfig) -> list[Job]:
    return [
        _job(event, endpoint.channel, endpoint.name, "", endpoint.max_attempts)
        for endpoint in config.webhooks
        if endpoint.kind != "sms" and endpoint.wants(event.type, event.team_id, event.region)
    ]


def new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def endpoint_of(config: NotifyConfig, channel: str) -> WebhookEndpoint | None:
    return next((w for w in config.webhooks if w.channel == channel), None)
