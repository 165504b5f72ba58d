"""Weather alerts (CAP 1.2) in: a valid alert declares or proposes storm mode in the divisions
it covers, as config/storm.toml says; a bad one becomes a dead letter with its reason.

- Once per alert: CAP names an alert by identifier, sender and sent. The `alert.received`
  event's id is derived from them, so a later copy (a retry, a redelivered record) finds the
  first's answer; a copy arriving while the first still acts waits for it (a claim in
  idempotency_keys), and the event log's unique id is the last guard.
- Only `status` Actual acts: an Exercise, Test, System or Draft alert is logged, nothing more.
- Alert and Update act alike: an Update that raises an orange warning to red declares. One
  whose `expires` has passed (a record replayed late) declares and proposes nothing.
- Cancel does not end storm mode. An all-clear says the weather is over, not the outages it
  caused; where storm mode is on, ending it is proposed (`storm.proposed`, change `end`) and a
  dispatcher ends it (`everycall storm end`, DELETE /storm/{division}).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IdempotencyKeyRow, StormModeRow
from dispatch.service_layer.access import Caller, check_dispatcher
from dispatch.service_layer.intake import Rejected, dead_letter
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import declare_storm_mode, policy_of
from dispatch.service_layer.unit_of_work import unit_of_work
from events.cap import CapAlert, InvalidAlert, parse_alert
from events.kafka import Record
from events.log import LoggedEvent
from events.schemas import EventPayload, envelope_for
from events.schemas.alerts import (
    AlertReceived,
    DivisionAction,
    DivisionOutcome,
    ProposedChange,
    StormProposed,
)
from models.cap_area import divisions_covered
from models.errors import InvalidTransition, NotFound
from models.storm_policy import AlertAction, StormPolicy

ACTING_STATUS = "Actual"
ACTING_TYPES = frozenset({"Alert", "Update"})
API_ORIGIN = "POST /alerts/cap"  # the dead letter's "topic" for an alert that came by the API
CLAIM_PREFIX = "cap-alert:"  # an alert's claim in idempotency_keys
CLAIM_WAIT_S = 10.0  # how long a copy waits for the first to answer
CLAIM_POLL_S = 0.05
CLAIM_STALE = timedelta(minutes=2)  # a claim this old with no answer was a crashed ingest's


class AlertAnswer(BaseModel):
    """What an alert did, division by division; `duplicate`: it had come before, and this is
    what it did then."""

    identifier: str
    sender: str
    sent: str
    msg_type: str
    event: str
    severity: str
    duplicate: bool
    outcomes: list[DivisionOutcome]


def alert_event_id(identifier: str, sender: str, sent: str) -> str:
    """The `alert.received` event id of an alert: the same alert, the same id."""
    key = "\x1f".join((identifier, sender, sent)).encode()
    return hashlib.sha256(key).hexdigest()[:32]


def api_origin() -> Record:
    """An alert posted to the API, as a dead letter names its origin."""
    return Record(topic=API_ORIGIN, partition=-1, offset=-1, key=None, value=None)


def ingest_cap_alert(
    services: Services, caller: Caller, xml: bytes, origin: Record | None = None
) -> AlertAnswer:
    """Act on one CAP alert; InvalidAlert (after keeping it as a dead letter) if it is bad."""
    check_dispatcher(caller, "send in weather alerts")
    origin = origin or api_origin()
    try:
        alert = parse_alert(xml)
    except InvalidAlert as error:
        keep_dead_letter(services, origin, xml, str(error))
        raise
    event_id = alert_event_id(alert.identifier, alert.sender, alert.sent)
    known = _received(services, event_id) or _claim(services, event_id, xml)
    if known is not None:
        return _answer(known, duplicate=True)
    outcomes, proposals = _act(services, caller, alert, policy_of(services))
    received = _received_event(alert, caller, origin, outcomes, services.clock.now())
    try:
        _record(services, event_id, received, proposals)
    except IntegrityError:
        # the same alert came at the same moment and was logged first: its answer stands
        first = _received(services, event_id)
        if first is None:
            raise
        return _answer(first, duplicate=True)
    return _answer(received, duplicate=False)


def _claim(services: Services, event_id: str, xml: bytes) -> AlertReceived | None:
    """Hold the alert's claim before acting: a copy arriving while the first still acts waits
    for the first's answer (None: the claim is ours). Storm mode's own check cannot stop two
    first declarations of a division at once, so this one must.

    A claim older than CLAIM_STALE with no answer is a crashed ingest's: it is taken over."""
    key = f"{CLAIM_PREFIX}{event_id}"
    now = services.clock.now()
    try:
        with services.sessions.begin() as session:
            digest = hashlib.sha256(xml).hexdigest()
            session.add(
                IdempotencyKeyRow(key=key, request_hash=digest, incident_id="", created_at=now)
            )
        return None
    except IntegrityError:
        pass
    waited_until = time.monotonic() + CLAIM_WAIT_S
    while time.monotonic() < waited_until:
        known = _received(services, event_id)
        if known is not None:
            return known
        time.sleep(CLAIM_POLL_S)
    if _take_over(services, key, now):
        return None
    raise InvalidTransition(f"alert {event_id}", "being handled", "ingest again")


def _take_over(services: Services, key: str, now: datetime) -> bool:
    """The stale claim is ours if this update is the one that moves it (one taker wins)."""
    with services.sessions.begin() as session:
        moved = session.execute(
            update(IdempotencyKeyRow)
            .where(IdempotencyKeyRow.key == key, IdempotencyKeyRow.created_at < now - CLAIM_STALE)
            .values(created_at=now)
        )
        return bool(moved.rowcount)  # type: ignore[attr-defined]


def keep_dead_letter(services: Services, origin: Record, xml: bytes, reason: str) -> None:
    """The bad alert kept whole, with why, in the dead-letter table and topic."""
    record = Record(origin.topic, origin.partition, origin.offset, origin.key, xml)
    with services.sessions.begin() as session:
        dead_letter(session, [Rejected(record, reason)], services.clock.now())


def _act(
    services: Services, caller: Caller, alert: CapAlert, policy: StormPolicy
) -> tuple[list[DivisionOutcome], list[StormProposed]]:
    outcomes: list[DivisionOutcome] = []
    proposals: list[StormProposed] = []
    for division, matched_by in divisions_covered(alert.areas).items():
        action = _act_in(services, caller, alert, policy, division)
        outcomes.append(DivisionOutcome(division=division, matched_by=matched_by, action=action))
        if action in (DivisionAction.PROPOSED, DivisionAction.END_PROPOSED):
            proposals.append(_proposal(alert, caller, division, action, services.clock.now()))
    return outcomes, proposals


def _act_in(
    services: Services, caller: Caller, alert: CapAlert, policy: StormPolicy, division: str
) -> DivisionAction:
    if alert.status != ACTING_STATUS:
        return DivisionAction.NOTHING
    storm_on = _storm_on(services, division)
    if alert.msg_type == "Cancel":
        return DivisionAction.END_PROPOSED if storm_on else DivisionAction.NOTHING
    if alert.msg_type not in ACTING_TYPES:
        return DivisionAction.NOTHING
    if alert.expires is not None and alert.expires <= services.clock.now():
        return DivisionAction.EXPIRED
    wanted = policy.action_for(alert.severity, alert.event)
    if wanted is AlertAction.IGNORE:
        return DivisionAction.NOTHING
    if storm_on:
        return DivisionAction.ALREADY_ON
    if wanted is AlertAction.PROPOSE:
        return DivisionAction.PROPOSED
    return _declare(services, caller, alert, division)


def _declare(services: Services, caller: Caller, alert: CapAlert, division: str) -> DivisionAction:
    reason = f"{alert.event}: {alert.headline}" if alert.headline else alert.event
    try:
        declare_storm_mode(
            services, caller, division, reason[:500], source=f"alert:{alert.identifier}"[:200]
        )
    except InvalidTransition:  # declared in between, by a dispatcher or another alert
        return DivisionAction.ALREADY_ON
    except NotFound:
        return DivisionAction.NO_TEAMS
    return DivisionAction.DECLARED


def _storm_on(services: Services, division: str) -> bool:
    with services.reads() as session:
        row = session.get(StormModeRow, division)
        return row is not None and row.active


def _proposal(
    alert: CapAlert, caller: Caller, division: str, action: DivisionAction, at: datetime
) -> StormProposed:
    ending = action is DivisionAction.END_PROPOSED
    return StormProposed(
        division=division,
        change=ProposedChange.END if ending else ProposedChange.DECLARE,
        identifier=alert.identifier,
        sender=alert.sender,
        event=alert.event,
        severity=alert.severity,
        reason=(f"{alert.msg_type}: " if ending else "") + (alert.headline or alert.event),
        actor=caller.actor,
        proposed_at=at,
    )


def _received_event(
    alert: CapAlert,
    caller: Caller,
    origin: Record,
    outcomes: list[DivisionOutcome],
    at: datetime,
) -> AlertReceived:
    where = "api" if origin.topic == API_ORIGIN else f"{origin.topic}/{origin.partition}"
    return AlertReceived(
        identifier=alert.identifier,
        sender=alert.sender,
        sent=alert.sent,
        status=alert.status,
        msg_type=alert.msg_type,
        references=alert.references,
        event=alert.event,
        severity=alert.severity,
        headline=alert.headline,
        origin=where if origin.offset < 0 else f"{where}@{origin.offset}",
        actor=caller.actor,
        outcomes=outcomes,
        received_at=at,
    )


def _record(
    services: Services,
    event_id: str,
    received: AlertReceived,
    proposals: Sequence[StormProposed],
) -> None:
    """The proposals and the alert in one transaction: a duplicate rolls both back."""
    now = services.clock.now()
    producer = services.settings.producer_name
    key = f"alert:{received.sender}"[:128]
    payloads: list[EventPayload] = [*proposals, received]
    envelopes = [envelope_for(p, producer=producer, key=key, at=now) for p in payloads]
    envelopes[-1] = envelopes[-1].model_copy(update={"event_id": event_id})
    with unit_of_work(services) as uow:
        uow.record_envelopes(envelopes, now)


def _received(services: Services, event_id: str) -> AlertReceived | None:
    with services.reads() as session:
        text = session.scalar(select(LoggedEvent.envelope).where(LoggedEvent.event_id == event_id))
    if text is None:
        return None
    return AlertReceived.model_validate(orjson.loads(text)["payload"])


def _answer(received: AlertReceived, *, duplicate: bool) -> AlertAnswer:
    return AlertAnswer(
        identifier=received.identifier,
        sender=received.sender,
        sent=received.sent,
        msg_type=received.msg_type,
        event=received.event,
        severity=received.severity,
        duplicate=duplicate,
        outcomes=received.outcomes,
    )


# --- the board's list -------------------------------------------------------------------------


class LoggedAlert(BaseModel):
    """An alert or a proposal as the board lists it."""

    seq: int
    type: str
    occurred_at: AwareDatetime
    payload: dict[str, Any]


class AlertsBoard(BaseModel):
    alerts: list[LoggedAlert]
    proposals: list[LoggedAlert]
    storms_on: list[str]  # divisions in storm mode now: a proposal there is settled


def recent_alerts(session: Session, limit: int) -> AlertsBoard:
    """The newest alerts and storm-mode proposals, newest first."""
    return AlertsBoard(
        alerts=_logged(session, AlertReceived.TYPE, limit),
        proposals=_logged(session, StormProposed.TYPE, limit),
        storms_on=list(
            session.scalars(
                select(StormModeRow.division)
                .where(StormModeRow.active.is_(True))
                .order_by(StormModeRow.division)
            )
        ),
    )


def _logged(session: Session, event_type: str, limit: int) -> list[LoggedAlert]:
    rows = session.execute(
        select(LoggedEvent.seq, LoggedEvent.occurred_at, LoggedEvent.envelope)
        .where(LoggedEvent.type == event_type)
        .order_by(LoggedEvent.seq.desc())
        .limit(limit)
    )
    return [
        LoggedAlert(seq=seq, type=event_type, occurred_at=at, payload=orjson.loads(text)["payload"])
        for seq, at, text in rows
    ]
