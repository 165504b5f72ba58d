"""The teams' work ledger (工作台账), which the branch assessment (考核) reads: per team and
Asia/Shanghai month, every task the team had, with its times, outcome and SLA verdict, and a
summary per team.

A task is one assignment of an incident to a team. Tasks are read from the event log, as the
team side of the SLA report reads them, so a declined or withdrawn task stays on the team that
had it; verdicts come from the same clock rows and the same rule as that report.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from statistics import fmean
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow, SlaClockRow, TeamRow

# one rule for what a clock's state means, shared with the SLA report so the figures agree
from dispatch.views.sla_report import _verdict as clock_verdict
from events.log import LoggedEvent
from models.local_time import SHANGHAI
from models.sla import compliance

LEDGER_EVENTS = (
    "team.assigned",
    "task.acknowledged",
    "task.arrived",
    "task.resolved",
    "task.declined",
    "task.reassigned",
    "incident.reassigned",
    "incident.cancelled",
)
# Events are logged when decided, a moment after the assignment time they carry: read a day
# before the month so no assignment of its first minutes is missed.
READ_MARGIN = timedelta(days=1)
MONTH_PATTERN = r"^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$"  # 1970-01 to 2999-12
_MONTH = re.compile(MONTH_PATTERN)


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in Asia/Shanghai, where the branch keeps its books."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """`YYYY-MM`, or ValueError."""
        found = _MONTH.fullmatch(text)
        if found is None:
            raise ValueError(f"not a month of the form YYYY-MM: {text!r}")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, moment: datetime) -> Month:
        """The month `moment` falls in, read in Asia/Shanghai."""
        local = moment.astimezone(SHANGHAI)
        return cls(local.year, local.month)

    @property
    def start(self) -> datetime:
        """Its first instant, in UTC (the 1st, 00:00 in Shanghai)."""
        return datetime(self.year, self.number, 1, tzinfo=SHANGHAI).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month, in UTC."""
        year, number = divmod(self.year * 12 + self.number, 12)
        return Month(year, number + 1).start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"


class Outcome(StrEnum):
    RESOLVED = "resolved"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"  # not acknowledged in time: the watchdog took it back
    REASSIGNED = "reassigned"  # a dispatcher handed it to another team by hand
    CANCELLED = "cancelled"
    OPEN = "open"


@dataclass
class Task:
    """One assignment as the log tells it, filled in event by event."""

    incident_id: str
    team_id: str
    assigned_at: datetime
    acknowledged_at: datetime | None = None
    arrived_at: datetime | None = None
    resolved_at: datetime | None = None
    ended_at: datetime | None = None
    outcome: Outcome = Outcome.OPEN
    reason: str = ""

    def end(self, outcome: Outcome, at: datetime, reason: str = "") -> None:
        self.outcome, self.ended_at, self.reason = outcome, at, reason


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


class TaskFold:
    """Folds the log's task events, in order, into tasks; the incident's holder is its last
    assignment until that task ends."""

    def __init__(self) -> None:
        self.tasks: list[Task] = []
        self._holding: dict[str, Task] = {}
        self._steps: dict[str, Callable[[dict[str, Any]], None]] = {
            "team.assigned": self._assigned,
            "task.acknowledged": self._acknowledged,
            "task.arrived": self._arrived,
            "task.resolved": self._resolved,
            "task.declined": self._declined,
            "task.reassigned": self._withdrawn,
            "incident.reassigned": self._reassigned,
            "incident.cancelled": self._cancelled,
        }

    def apply(self, event_type: str, payload: dict[str, Any]) -> None:
        step = self._steps.get(event_type)
        if step is not None:
            step(payload)

    def _held(self, payload: dict[str, Any], team_field: str = "team_id") -> Task | None:
        """The open task the event is about, or None (a task begun before the read)."""
        task = self._holding.get(payload["incident_id"])
        team = payload.get(team_field)
        return task if task is not None and team in (None, task.team_id) else None

    def _assigned(self, p: dict[str, Any]) -> None:
        task = Task(p["incident_id"], p["team_id"], _at(p["assigned_at"]))
        self.tasks.append(task)
        self._holding[task.incident_id] = task

    def _acknowledged(self, p: dict[str, Any]) -> None:
        if task := self._held(p):
            task.acknowledged_at = _at(p["acknowledged_at"])

    def _arrived(self, p: dict[str, Any]) -> None:
        if task := self._held(p):
            task.arrived_at = _at(p["arrived_at"])

    def _resolved(self, p: dict[str, Any]) -> None:
        if task := self._held(p):
            task.resolved_at = _at(p["resolved_at"])
            self._close(task, Outcome.RESOLVED, task.resolved_at)

    def _declined(self, p: dict[str, Any]) -> None:
        if task := self._held(p):
            self._close(task, Outcome.DECLINED, _at(p["declined_at"]), p.get("reason", ""))

    def _withdrawn(self, p: dict[str, Any]) -> None:
        if task := self._held(p, "from_team_id"):
            self._close(task, Outcome.WITHDRAWN, _at(p["withdrawn_at"]), p.get("reason", ""))

    def _reassigned(self, p: dict[str, Any]) -> None:
        if p.get("from_team_id") and (task := self._held(p, "from_team_id")):
            self._close(task, Outcome.REASSIGNED, _at(p["reassigned_at"]), p.get("reason", ""))

    def _cancelled(self, p: dict[str, Any]) -> None:
        if task := self._held(p, "released_team_id"):
            self._close(task, Outcome.CANCELLED, _at(p["cancelled_at"]), p.get("reason", ""))

    def _close(self, task: Task, outcome: Outcome, at: datetime, reason: str = "") -> None:
        task.end(outcome, at, reason)
        self._holding.pop(task.incident_id, None)


def fold_tasks(events: Iterable[tuple[str, dict[str, Any]]]) -> list[Task]:
    """Every assignment in `events` (type and payload, in log order) as a task."""
    fold = TaskFold()
    for event_type, payload in events:
        fold.apply(event_type, payload)
    return fold.tasks


def tasks_in(tasks: Iterable[Task], month: Month, team_id: str | None = None) -> list[Task]:
    """The tasks assigned within `month` (Asia/Shanghai), of one team or of all."""
    start, end = month.start, month.end
    return [
        t
        for t in tasks
        if start <= t.assigned_at < end and (team_id is None or t.team_id == team_id)
    ]


# --- what the ledger shows -------------------------------------------------------------------

Verdict = Literal["met", "breached", "pending"]


class LedgerRow(BaseModel):
    """One task; times in Asia/Shanghai, minutes counted from the assignment."""

    team_id: str
    team_name: str
    incident_id: str
    kind: str
    priority: str
    region: str
    address: str
    assigned_at: AwareDatetime
    acknowledged_at: AwareDatetime | None
    arrived_at: AwareDatetime | None
    resolved_at: AwareDatetime | None
    ended_at: AwareDatetime | None = Field(description="when it was resolved, declined, …")
    ack_minutes: float | None
    arrive_minutes: float | None
    resolve_minutes: float | None
    outcome: Outcome
    reason: str = Field(description="why it was declined, withdrawn or cancelled")
    sla: Verdict = Field(description="breached if any of the team's clocks was; pending: none")
    clocks_met: int
    clocks_breached: int


class TeamSummary(BaseModel):
    """A team's month: its tasks by outcome, its SLA compliance (as the SLA report counts it:
    met clocks over decided clocks) and its mean minutes from assignment."""

    team_id: str
    team_name: str
    tasks: int
    resolved: int
    declined: int
    withdrawn: int
    reassigned: int
    cancelled: int
    open: int
    clocks_met: int
    clocks_breached: int
    sla_compliance: float | None
    ack_min_mean: float | None
    arrive_min_mean: float | None
    resolve_min_mean: float | None


class Ledger(BaseModel):
    month: str = Field(description="YYYY-MM, in Asia/Shanghai")
    team_id: str | None = Field(description="the team, or null for every team")
    timezone: Literal["Asia/Shanghai"] = "Asia/Shanghai"
    at: AwareDatetime = Field(description="the moment running clocks were judged at")
    rows: list[LedgerRow]
    summary: list[TeamSummary]


@dataclass
class Incidents:
    """What the rows show of each incident, and the team clocks of those incidents."""

    facts: dict[str, tuple[str, str, str, str]]  # kind, priority, region, address
    clocks: dict[tuple[str, str], list[tuple[str, datetime, str, datetime]]]
    team_names: dict[str, str]


def _minutes(later: datetime | None, earlier: datetime) -> float | None:
    return None if later is None else round((later - earlier).total_seconds() / 60, 1)


def _local(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(SHANGHAI)


def task_verdicts(task: Task, known: Incidents, now: datetime) -> tuple[int, int]:
    """The team's clocks of this task, met and breached: its acknowledge clock (started at the
    assignment) and, if it arrived, the arrive and resolve clocks it took on."""
    met = breached = 0
    clocks = known.clocks.get((task.incident_id, task.team_id), [])
    for kind, started_at, state, deadline in clocks:
        mine = started_at == task.assigned_at if kind == "acknowledge" else bool(task.arrived_at)
        verdict = clock_verdict(state, deadline, now) if mine else None
        met += verdict == "met"
        breached += verdict == "breached"
    return met, breached


def ledger_row(task: Task, known: Incidents, now: datetime) -> LedgerRow:
    kind, priority, region, address = known.facts.get(task.incident_id, ("", "", "", ""))
    met, breached = task_verdicts(task, known, now)
    verdict: Verdict = "breached" if breached else "met" if met else "pending"
    return LedgerRow(
        team_id=task.team_id,
        team_name=known.team_names.get(task.team_id, ""),
        incident_id=task.incident_id,
        kind=kind,
        priority=priority,
        region=region,
        address=address,
        assigned_at=task.assigned_at.astimezone(SHANGHAI),
        acknowledged_at=_local(task.acknowledged_at),
        arrived_at=_local(task.arrived_at),
        resolved_at=_local(task.resolved_at),
        ended_at=_local(task.ended_at),
        ack_minutes=_minutes(task.acknowledged_at, task.assigned_at),
        arrive_minutes=_minutes(task.arrived_at, task.assigned_at),
        resolve_minutes=_minutes(task.resolved_at, task.assigned_at),
        outcome=task.outcome,
        reason=task.reason,
        sla=verdict,
        clocks_met=met,
        clocks_breached=breached,
    )


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(fmean(present), 1) if present else None


def team_summary(team_id: str, team_name: str, rows: list[LedgerRow]) -> TeamSummary:
    outcomes = {o: sum(r.outcome is o for r in rows) for o in Outcome}
    met, breached = sum(r.clocks_met for r in rows), sum(r.clocks_breached for r in rows)
    return TeamSummary(
        team_id=team_id,
        team_name=team_name,
        tasks=len(rows),
        resolved=outcomes[Outcome.RESOLVED],
        declined=outcomes[Outcome.DECLINED],
        withdrawn=outcomes[Outcome.WITHDRAWN],
        reassigned=outcomes[Outcome.REASSIGNED],
        cancelled=outcomes[Outcome.CANCELLED],
        open=outcomes[Outcome.OPEN],
        clocks_met=met,
        clocks_breached=breached,
        sla_compliance=compliance(met, breached),
        ack_min_mean=_mean(r.ack_minutes for r in rows),
        arrive_min_mean=_mean(r.arrive_minutes for r in rows),
        resolve_min_mean=_mean(r.resolve_minutes for r in rows),
    )


def build_ledger(
    tasks: list[Task], known: Incidents, month: Month, team_id: str | None, now: datetime
) -> Ledger:
    """The ledger of `tasks` (already those of the month): rows by team, then assignment time;
    a summary per team, and one for the team asked for even if it had no task."""
    ordered = sorted(tasks, key=lambda t: (t.team_id, t.assigned_at, t.incident_id))
    rows = [ledger_row(task, known, now) for task in ordered]
    by_team: dict[str, list[LedgerRow]] = defaultdict(list)
    if team_id is not None:
        by_team[team_id] = []
    for row in rows:
        by_team[row.team_id].append(row)
    summary = [
        team_summary(team, known.team_names.get(team, ""), team_rows)
        for team, team_rows in sorted(by_team.items())
    ]
    return Ledger(month=str(month), team_id=team_id, at=now, rows=rows, summary=summary)


# --- reading it from the database ------------------------------------------------------------


def _logged_task_events(session: Session, since: datetime) -> Iterable[tuple[str, dict[str, Any]]]:
    rows = session.execute(
        select(LoggedEvent.type, LoggedEvent.envelope)
        .where(LoggedEvent.type.in_(LEDGER_EVENTS))
        .where(LoggedEvent.occurred_at >= since)
        .order_by(LoggedEvent.seq)
    )
    for event_type, envelope in rows:
        yield event_type, json.loads(envelope)["payload"]


def _chunks(ids: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def read_incidents(session: Session, tasks: list[Task]) -> Incidents:
    """The facts and team clocks of the tasks' incidents, and the teams' names."""
    ids = sorted({t.incident_id for t in tasks})
    known = Incidents({}, defaultdict(list), {})
    for chunk in _chunks(ids):
        for row in session.execute(
            select(
                IncidentRow.id,
                IncidentRow.kind,
                IncidentRow.priority,
                IncidentRow.region,
                IncidentRow.address,
            ).where(IncidentRow.id.in_(chunk))
        ):
            known.facts[row[0]] = (row[1], row[2], row[3], row[4])
        for incident_id, team_id, kind, started_at, state, deadline in session.execute(
            select(
                SlaClockRow.incident_id,
                SlaClockRow.team_id,
                SlaClockRow.kind,
                SlaClockRow.started_at,
                SlaClockRow.state,
                SlaClockRow.deadline,
            ).where(SlaClockRow.incident_id.in_(chunk), SlaClockRow.team_id.is_not(None))
        ):
            known.clocks[(incident_id, str(team_id))].append((kind, started_at, state, deadline))
    known.team_names.update(session.execute(select(TeamRow.id, TeamRow.name)).tuples().all())
    return known


def team_exists(session: Session, team_id: str) -> bool:
    return session.get(TeamRow, team_id) is not None


def read_ledger(session: Session, month: Month, team_id: str | None, now: datetime) -> Ledger:
    """The ledger of one month, for one team or every team; running clocks judged at `now`."""
    logged = fold_tasks(_logged_task_events(session, month.start - READ_MARGIN))
    tasks = tasks_in(logged, month, team_id)
    return build_ledger(tasks, read_incidents(session, tasks), month, team_id, now)
