"""The SLA report: every call answered? Per region and per team: calls received and answered,
time to acknowledge and to arrive (median, p90), SLA compliance, escalations and the unanswered
count that must be 0; and compliance over time.

Regions are measured from the caller's side (from the report); teams from their own side (from
each assignment), read from the event log so that a missed or declined task counts against the
team that missed it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from dispatch.adapters.orm import IncidentRow, SlaClockRow
from events.log import LoggedEvent
from models.sla import ClockState, compliance

ANSWERED = frozenset({"acknowledged", "en_route", "on_scene", "resolved"})
TEAM_EVENTS = (
    "team.assigned",
    "task.acknowledged",
    "task.arrived",
    "task.reassigned",
    "task.declined",
    "incident.reassigned",
)


@dataclass
class Line:
    """One row of the report: a region or a team."""

    name: str
    received: int = 0
    answered: int = 0
    unanswered: int = 0
    missed: int = 0  # teams: tasks withdrawn for want of an acknowledgement
    reassigned: int = 0  # teams: tasks a dispatcher handed to another team by hand
    declined: int = 0
    escalations: int = 0
    met: int = 0
    breached: int = 0
    ack_minutes: list[float] = field(default_factory=list)
    arrive_minutes: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "received": self.received,
            "answered": self.answered,
            "unanswered": self.unanswered,
            "missed": self.missed,
            "reassigned": self.reassigned,
            "declined": self.declined,
            "escalations": self.escalations,
            "ack_min_median": _pct(self.ack_minutes, 50),
            "ack_min_p90": _pct(self.ack_minutes, 90),
            "arrive_min_median": _pct(self.arrive_minutes, 50),
            "arrive_min_p90": _pct(self.arrive_minutes, 90),
            "sla_compliance": compliance(self.met, self.breached),
        }


def _pct(values: list[float], q: int) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


@dataclass
class ComplianceBucket:
    start: datetime
    met: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    breached: dict[str, int] = field(default_factory=lambda: defaultdict(int))


@dataclass
class SlaReport:
    at: datetime
    totals: dict[str, Any]
    regions: list[dict[str, Any]]
    teams: list[dict[str, Any]]
    over_time: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


def _verdict(state: str, deadline: datetime, now: datetime) -> str | None:
    """met, breached (a running clock past its deadline too) or None (not decided)."""
    if state == ClockState.MET.value:
        return "met"
    overdue = state == ClockState.RUNNING.value and deadline <= now
    return "breached" if state == ClockState.BREACHED.value or overdue else None


def region_lines(session: Session, now: datetime) -> dict[str, Line]:
    """From the caller's side: each incident once, times counted from its report."""
    lines: dict[str, Line] = {}
    master = aliased(IncidentRow)
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.region,
            IncidentRow.state,
            IncidentRow.reported_at,
            IncidentRow.acknowledged_at,
            IncidentRow.arrived_at,
            IncidentRow.escalated,
            master.state,
        ).outerjoin(master, master.id == IncidentRow.master_id)
    )
    for _id, region, state, reported, acked, arrived, escalated, master_state in rows:
        line = lines.setdefault(region, Line(region))
        line.received += 1
        line.escalations += bool(escalated)
        answered = state in ANSWERED or (state == "merged" and master_state in ANSWERED)
        if answered:
            line.answered += 1
        elif state != "cancelled":
            line.unanswered += 1
        if acked is not None:
            line.ack_minutes.append(_minutes(acked, reported))
        if arrived is not None:
            line.arrive_minutes.append(_minutes(arrived, reported))
    clocks = session.execute(
        select(IncidentRow.region, SlaClockRow.state, SlaClockRow.deadline).join(
            IncidentRow, IncidentRow.id == SlaClockRow.incident_id
        )
    )
    for region, state, deadline in clocks:
        _count_verdict(lines[region], _verdict(state, deadline, now))
    return lines


def _count_verdict(line: Line, verdict: str | None) -> None:
    if verdict == "met":
        line.met += 1
    elif verdict == "breached":
        line.breached += 1


def _team_events(session: Session) -> Iterable[tuple[str, dict[str, Any]]]:
    rows = session.execute(
        select(LoggedEvent.type, LoggedEvent.envelope)
        .where(LoggedEvent.type.in_(TEAM_EVENTS))
        .order_by(LoggedEvent.seq)
    )
    for event_type, envelope in rows:
        yield event_type, json.loads(envelope)["payload"]


def team_lines(session: Session, now: datetime) -> dict[str, Line]:
    """From each team's side: every assignment, times counted from that assignment."""
    lines: dict[str, Line] = {}
    assigned: dict[tuple[str, str], datetime] = {}
    holding: dict[str, str] = {}  # incident -> team that holds it and has not acknowledged

    def line(team_id: str) -> Line:
        return lines.setdefault(team_id, Line(team_id))

    for event_type, p in _team_events(session):
        incident = p["incident_id"]
        if event_type == "team.assigned":
            team = p["team_id"]
            line(team).received += 1
            assigned[(incident, team)] = datetime.fromisoformat(p["assigned_at"])
            holding[incident] = team
        elif event_type == "task.acknowledged":
            team, at = p["team_id"], datetime.fromisoformat(p["acknowledged_at"])
            line(team).answered += 1
            holding.pop(incident, None)
            if (incident, team) in assigned:
                line(team).ack_minutes.append(_minutes(at, assigned[(incident, team)]))
        elif event_type == "task.arrived":
            team, at = p["team_id"], datetime.fromisoformat(p["arrived_at"])
            if (incident, team) in assigned:
                line(team).arrive_minutes.append(_minutes(at, assigned[(incident, team)]))
        elif event_type == "task.reassigned":
            line(p["from_team_id"]).missed += 1
            line(p["from_team_id"]).escalations += int(p.get("misses", 1)) >= 2
            holding.pop(incident, None)
        elif event_type == "task.declined":
            line(p["team_id"]).declined += 1
            holding.pop(incident, None)
        elif event_type == "incident.reassigned" and p.get("from_team_id"):
            # taken away by a dispatcher: not the team's miss, and no longer its to answer
            line(p["from_team_id"]).reassigned += 1
            holding.pop(incident, None)
    open_states = _open_states(session, list(holding))
    for incident, team in holding.items():
        if open_states.get(incident) == "assigned":
            line(team).unanswered += 1
    clocks = session.execute(
        select(SlaClockRow.team_id, SlaClockRow.state, SlaClockRow.deadline).where(
            SlaClockRow.team_id.is_not(None)
        )
    )
    for team_id, state, deadline in clocks:
        _count_verdict(line(str(team_id)), _verdict(state, deadline, now))
    return lines


def _open_states(session: Session, ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found.update(
            session.execute(
                select(IncidentRow.id, IncidentRow.state).where(IncidentRow.id.in_(chunk))
            )
            .tuples()
            .all()  # a Result has keys(): dict.update would read it as a mapping
        )
    return found


def compliance_over_time(
    session: Session, now: datetime, buckets: int = 24
) -> list[dict[str, Any]]:
    """Compliance per clock kind, by when each clock was decided (closed, or its deadline)."""
    decided: list[tuple[datetime, str, str]] = []
    for kind, state, deadline, closed in session.execute(
        select(SlaClockRow.kind, SlaClockRow.state, SlaClockRow.deadline, SlaClockRow.closed_at)
    ):
        verdict = _verdict(state, deadline, now)
        if verdict is not None:
            when = closed if verdict == "met" and closed else min(deadline, closed or deadline)
            decided.append((when, kind, verdict))
    if not decided:
        return []
    first, last = min(d[0] for d in decided), max(d[0] for d in decided)
    width = max((last - first) / buckets, timedelta(minutes=1))
    series = [ComplianceBucket(first + i * width) for i in range(buckets + 1)]
    for when, kind, verdict in decided:
        bucket = series[min(int((when - first) / width), buckets)]
        (bucket.met if verdict == "met" else bucket.breached)[kind] += 1
    return [
        {
            "start": b.start.isoformat(),
            "decided": sum(b.met.values()) + sum(b.breached.values()),
            "all": compliance(sum(b.met.values()), sum(b.breached.values())),
            **{
                k: compliance(b.met[k], b.breached[k]) for k in ("acknowledge", "arrive", "resolve")
            },
        }
        for b in series
        if sum(b.met.values()) + sum(b.breached.values())
    ]


def build_report(session: Session, now: datetime) -> SlaReport:
    regions = region_lines(session, now)
    teams = team_lines(session, now)
    total = Line("all")
    for line in regions.values():
        for name in ("received", "answered", "unanswered", "escalations", "met", "breached"):
            setattr(total, name, getattr(total, name) + getattr(line, name))
        total.ack_minutes += line.ack_minutes
        total.arrive_minutes += line.arrive_minutes
    total.missed = sum(line.missed for line in teams.values())
    total.declined = sum(line.declined for line in teams.values())
    return SlaReport(
        at=now,
        totals=total.as_dict(),
        regions=[regions[k].as_dict() for k in sorted(regions)],
        teams=[teams[k].as_dict() for k in sorted(teams)],
        over_time=compliance_over_time(session, now),
    )


def report_time(session: Session, wall: datetime) -> datetime:
    """The report's `now`: the wall clock, or the log's last event if that is later (a
    simulation runs its clock ahead of the wall)."""
    last = session.scalar(select(func.max(LoggedEvent.occurred_at)))
    return max(wall, last) if last is not None else wall
