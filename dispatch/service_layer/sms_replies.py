"""Answers by SMS. The gateway posts a crew's reply to one of our texts, signed as our own
webhooks are (HMAC-SHA256 of `<timestamp>.<body>` under the gateway's secret). The reply names
its text by our reference: the gateway's `in_reply_to`, or `#REFERENCE` quoted in the text.
`1` acknowledges that text's task; `2 理由` (or `2理由`) declines it with the reason. The move
is that team's, its actor the sender's keyed hash (`sms:…`). A stale timestamp, a bad
signature, or a message id applied before changes nothing."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import IntegrityError

from dispatch.adapters.notify_config import NotifyConfig, WebhookEndpoint, phone_recipient
from dispatch.adapters.orm import SmsReferenceRow, SmsReplyRow
from dispatch.adapters.webhooks import signature_matches
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.notify_plan import REFERENCE_ALPHABET, REFERENCE_LENGTH
from dispatch.service_layer.services import Services
from dispatch.service_layer.tasks import acknowledge_in, decline_in
from dispatch.service_layer.unit_of_work import unit_of_work
from models.errors import Forbidden, InvalidTransition

_REFERENCE = re.compile(f"#([{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}})", re.IGNORECASE)
_DECLINE = re.compile(r"^2(?:[\s,，.。:：、;；-]+|(?=\D))(.*)$", re.DOTALL)


class SmsReply(BaseModel):
    """What the gateway posts for an inbound text."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_id: str = Field(min_length=1, max_length=128, description="the gateway's id of it")
    sender: str = Field(alias="from", min_length=3, max_length=32, description="its phone")
    text: str = Field(max_length=1000)
    in_reply_to: str | None = Field(
        default=None, max_length=64, description="our reference of the text replied to"
    )


class ReplyRefused(Exception):
    """Nothing was applied; `status` is the HTTP answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Move:
    decline: bool
    reason: str = ""


@dataclass(frozen=True)
class Applied:
    event_type: str
    incident_id: str


def receive(
    services: Services, config: NotifyConfig, raw: bytes, timestamp: str, signature: str
) -> Applied:
    """Check, read and apply one inbound reply; ReplyRefused says why not."""
    gateway = config.sms
    if gateway is None:
        raise ReplyRefused(404, "no SMS gateway is configured")
    now = services.clock.now()
    check_signed(gateway, raw, timestamp, signature, now, config.reply_max_age_s)
    reply = _read(raw)
    text = unicodedata.normalize("NFKC", reply.text).strip()
    reference = _reference_of(reply, text)
    move = read_move(_REFERENCE.sub("", text))
    return _apply(services, gateway, reply, reference, move, now)


def check_signed(
    gateway: WebhookEndpoint,
    raw: bytes,
    timestamp: str,
    signature: str,
    now: datetime,
    max_age_s: int,
) -> None:
    secret = gateway.secret.get_secret_value().encode()
    if not timestamp.isdigit() or not signature_matches(secret, timestamp, raw, signature):
        raise ReplyRefused(401, "bad or missing signature")
    if abs(now.timestamp() - int(timestamp)) > max_age_s:
        raise ReplyRefused(401, f"the timestamp is more than {max_age_s} s away: a replay?")


def _read(raw: bytes) -> SmsReply:
    try:
        return SmsReply.model_validate_json(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise ReplyRefused(422, f"{where}: {first['msg']}") from error


def _reference_of(reply: SmsReply, text: str) -> str:
    quoted = _REFERENCE.search(text)
    reference = (reply.in_reply_to or (quoted.group(1) if quoted else "")).strip().upper()
    if not reference:
        raise ReplyRefused(422, "the reply names no text of ours (no in_reply_to, no #reference)")
    return reference


def read_move(text: str) -> Move:
    """`1`: take the task; `2` and a reason: decline it."""
    text = text.strip()
    if text == "1":
        return Move(decline=False)
    declined = _DECLINE.match(text)
    if declined is None:
        raise ReplyRefused(422, "reply 1 to take the task, or 2 and a reason to decline it")
    reason = declined.group(1).strip()
    if not reason:
        raise ReplyRefused(422, "a decline needs a reason: 2 理由")
    return Move(decline=True, reason=reason[:500])


def _apply(
    services: Services,
    gateway: WebhookEndpoint,
    reply: SmsReply,
    reference: str,
    move: Move,
    now: datetime,
) -> Applied:
    sender = phone_recipient(gateway, reply.sender)
    try:
        with unit_of_work(services) as uow:
            if uow.session.get(SmsReplyRow, reply.message_id) is not None:
                raise ReplyRefused(409, f"message {reply.message_id} was applied already")
            sent = uow.session.get(SmsReferenceRow, reference)
            if sent is None:
                raise ReplyRefused(422, f"no text of ours has the reference {reference}")
            if sent.recipient != sender:
                raise ReplyRefused(403, "the reply does not come from the phone the text went to")
            caller = Caller(Role.TEAM, team_id=sent.team_id, name=sender)
            try:
                if move.decline:
                    decline_in(uow, sent.incident_id, caller, move.reason, now)
                else:
                    acknowledge_in(uow, sent.incident_id, caller, now)
            except (InvalidTransition, Forbidden) as moved_on:
                raise ReplyRefused(409, f"the task moved on: {moved_on}") from moved_on
            uow.session.add(
                SmsReplyRow(message_id=reply.message_id, reference=reference, received_at=now)
            )
    except IntegrityError as twice:  # the same message applied by another request meanwhile
        raise ReplyRefused(409, f"message {reply.message_id} was applied already") from twice
    event = "task.declined" if move.decline else "task.acknowledged"
    return Applied(event, sent.incident_id)
