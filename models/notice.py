"""What a crew is told, and how a channel answers: the notice an event becomes (Chinese first,
English beside it), one delivery of it to one recipient, and the outcome of an attempt."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

# Events a crew or a supervisor is told of, in the order of a task's life.
NOTIFIED_EVENTS = ("team.assigned", "sla.warning", "task.reassigned", "incident.escalated")
# A team that cannot be told of these does not know its task is waiting for it.
WAITING_FOR_THE_TEAM = frozenset({"team.assigned", "sla.warning"})

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")  # no daylight saving time in China
KIND_NAMES = {
    "repair": "抢修 repair",
    "outage": "停电 outage",
    "disaster_relief": "灾害救援 disaster relief",
    "vulnerable_assistance": "困难帮扶 assistance",
    "equipment_check": "设备巡检 equipment check",
}
PRIORITY_NAMES = {
    "critical": "紧急 critical",
    "hardship": "帮扶 hardship",
    "normal": "普通 normal",
    "low": "低 low",
}
REPLY_HINT = "回复1接单，回复2+理由拒单 Reply 1 to accept, 2 and a reason to decline"


@dataclass(frozen=True)
class TaskFacts:
    """What a notice says of the incident: read from its row when the event is notified."""

    incident_id: str
    kind: str
    priority: str
    address: str
    latitude: float
    longitude: float
    deadline: datetime | None = None  # the running acknowledge clock's, if any


@dataclass(frozen=True)
class Notice:
    """One event as a crew's phone shows it; `payload()` is the Web Push message's JSON."""

    title: str
    body: str
    incident_id: str
    url: str
    type: str

    def payload(self) -> dict[str, str]:
        return {
            "title": self.title,
            "body": self.body,
            "incident_id": self.incident_id,
            "url": self.url,
            "type": self.type,
        }

    @property
    def asks_for_a_reply(self) -> bool:
        return self.type in WAITING_FOR_THE_TEAM

    def sms_text(self, reference: str) -> str:
        """The text message: the notice, how to answer, and the reference a reply may quote."""
        hint = f" {REPLY_HINT}" if self.asks_for_a_reply else ""
        return f"【everycall】{self.title}：{self.body}{hint} #{reference}"


@dataclass(frozen=True)
class Delivery:
    """One notice to one recipient on one channel; its attempts share its id. `recipient` is
    what the log may show (a subscription id, a keyed hash, an endpoint's name); `address` is
    how the channel reaches it (a push endpoint and keys, a phone number) and is never logged."""

    delivery_id: str
    channel: str
    recipient: str
    notice: Notice
    attempt: int = 1
    reference: str | None = None
    address: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """How a channel answered one attempt. `retry`: worth another attempt later; `gone`: the
    recipient no longer exists (an expired push subscription)."""

    delivered: bool
    reason: str = ""
    status: int | None = None
    retry: bool = False
    gone: bool = False


def task_url(incident_id: str) -> str:
    """Where the crew app opens a task (the service worker opens it on a tap)."""
    return f"/#/crew/tasks/{incident_id}"


def clock_time(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%H:%M")


def _where(facts: TaskFacts) -> str:
    return facts.address or f"{facts.latitude:.5f},{facts.longitude:.5f}"


def _what(facts: TaskFacts) -> str:
    kind = KIND_NAMES.get(facts.kind, facts.kind)
    priority = PRIORITY_NAMES.get(facts.priority, facts.priority)
    return f"{kind} · {priority} · {_where(facts)}"


def notice_for(event_type: str, payload: Mapping[str, Any], facts: TaskFacts) -> Notice:
    """The notice of a notified event (NOTIFIED_EVENTS) about the incident of `facts`."""
    title, body = _words(event_type, payload, facts)
    return Notice(title, body, facts.incident_id, task_url(facts.incident_id), event_type)


def _words(event_type: str, payload: Mapping[str, Any], facts: TaskFacts) -> tuple[str, str]:
    if event_type == "team.assigned":
        by = clock_time(facts.deadline) if facts.deadline else ""
        due = f"，请于 {by} 前接单 acknowledge by {by}" if by else ""
        return "新任务 New task", f"{_what(facts)}{due}"
    if event_type == "sla.warning":
        used = round(float(payload.get("fraction", 0)) * 100)
        deadline = str(payload.get("deadline", ""))
        due = clock_time(datetime.fromisoformat(deadline)) if deadline else "—"
        return (
            "时限提醒 Deadline reminder",
            f"{_what(facts)}，已用时限 {used}% used，截止 {due} due",
        )
    if event_type == "task.reassigned":
        return (
            "任务已撤回 Task withdrawn",
            f"{_where(facts)}：超时未接单，已改派 not acknowledged in time, reassigned",
        )
    if event_type == "incident.escalated":
        reason = str(payload.get("reason", ""))
        return (
            "工单已升级 Incident escalated",
            f"{_what(facts)}，已上报主管 raised to the supervisor: {reason}",
        )
    raise ValueError(f"{event_type} is not notified")
