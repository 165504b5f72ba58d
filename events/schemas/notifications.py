"""Schemas of what crews are told and what they say back: every attempt to notify (sent, then
delivered or failed), a task seen on a crew's phone, a member going on or off duty.

No phone number or push endpoint is ever logged: a recipient is a push subscription's id, a
keyed hash of a phone number (`sms:…`) or a configured endpoint's name.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from events.schemas import EventPayload, register

NOTIFIER = "notifier"  # the actor of what the notifier does


class NotificationAttempt(EventPayload):
    """Fields every attempt's event shares."""

    incident_id: str
    team_id: str | None = Field(default=None, description="the team told, if a team is")
    actor: str = Field(default=NOTIFIER, max_length=200)
    delivery_id: str = Field(description="one notice to one recipient; its attempts share it")
    channel: str = Field(description="push, or an endpoint's kind and name: sms:gateway, wecom:…")
    recipient: str = Field(description="a push subscription id, sms:<keyed hash>, or an endpoint")
    about: str = Field(description="the type of the event notified, e.g. team.assigned")
    about_event_id: str
    attempt: int = Field(ge=1)


@register
class NotificationSent(NotificationAttempt):
    """An attempt left the process (logged before it is made, so none is ever made twice)."""

    TYPE: ClassVar[str] = "notification.sent"
    VERSION: ClassVar[int] = 1

    reference: str | None = Field(default=None, description="what an SMS reply quotes")


@register
class NotificationDelivered(NotificationAttempt):
    """The channel took the message: the push service or the webhook's receiver said yes."""

    TYPE: ClassVar[str] = "notification.delivered"
    VERSION: ClassVar[int] = 1

    status: int | None = None


@register
class NotificationFailed(NotificationAttempt):
    """An attempt failed; `final` when no other attempt of this delivery follows."""

    TYPE: ClassVar[str] = "notification.failed"
    VERSION: ClassVar[int] = 1

    reason: str = Field(max_length=500)
    status: int | None = None
    final: bool


@register
class TaskSeen(EventPayload):
    """The crew's phone showed the task to the crew."""

    TYPE: ClassVar[str] = "task.seen"
    VERSION: ClassVar[int] = 1

    incident_id: str
    team_id: str
    actor: str = Field(max_length=200)
    seen_at: AwareDatetime


@register
class MemberDutyChanged(EventPayload):
    """A team member went on or off duty (off duty, they are told nothing)."""

    TYPE: ClassVar[str] = "member.duty_changed"
    VERSION: ClassVar[int] = 1

    username: str
    team_id: str
    on_duty: bool
    actor: str = Field(max_length=200)
    changed_at: AwareDatetime
