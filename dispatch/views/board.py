"""Read models for the dispatch board and the teams: incidents with clocks and timelines, and
the SLA summary. JSON-ready pydantic models; reads only."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import case, exists, func, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import AssignmentRow, IncidentRow, SlaClockRow, TaskNoticeRow, clock_of
from dispatch.views.estimates import fields_of
from dispatch.views.timeline import incident_timeline
from models.errors import NotFound
from models.estimates import Estimate
from models.lifecycle import WAITING, WITH_TEAM
from models.sla import ClockState, compliance

_CLOCK_ORDER = {"acknowledge": 0, "arrive": 1, "resolve": 2}


class ClockView(BaseModel):
    kind: str
    attempt: int
    team_id: str | None
    started_at: AwareDatetime
    deadline: AwareDatetime
    state: str  # running | paused | met | breached | stopped
    warned_50: bool
    warned_75: bool
    closed_at: AwareDatetime | None


class TimelineEntry(BaseModel):
    seq: int
    at: AwareDatetime
    type: str
    actor: str
    details: dict[str, Any]


class GroupTask(BaseModel):
    """One task of an incident that several teams answer: its lead's or a support's."""

    incident_id: str
    lead: bool
    team_id: str | None
    state: str


class IncidentView(BaseModel):
    id: str
    kind: str
    priority: str
    region: str
    area_class: str
    latitude: float
    longitude: float
    address: str
    state: str
    team_id: str | None
    escalated: bool
    master_id: str | None
    reported_at: AwareDatetime
    clocks: list[ClockView]
    timeline: list[TimelineEntry]
    explanation: list[dict[str, Any]]
    lead_id: str | None = None  # a support task's lead incident
    # every task of the incident, lead first, when several teams answer it (detail only)
    group: list[GroupTask] = Field(default_factory=list)
    notified_at: AwareDatetime | None = None  # the team holding it first told (detail only)
    seen_at: AwareDatetime | None = None  # and when its crew's phone showed it
    eta_on_site: AwareDatetime | None = Field(
        default=None, description="when a team should be on site (open incidents; UTC)"
    )
    ert: AwareDatetime | None = Field(
        default=None, description="when power should be back (open outages; UTC)"
    )


def _clock_view(row: SlaClockRow, now: datetime | None) -> ClockView:
    state = clock_of(row).state_at(now) if now is not None else row.state
    return ClockView(
        kind=row.kind,
        attempt=row.attempt,
        team_id=row.team_id,
        started_at=row.started_at,
        deadline=row.deadline,
        state=str(state),
        warned_50=row.warned_50,
        warned_75=row.warned_75,
        closed_at=row.closed_at,
    )


def _clocks_of(session: Session, ids: Sequence[str]) -> dict[str, list[ClockView]]:
    found: dict[str, list[ClockView]] = defaultdict(list)
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(SlaClockRow).where(SlaClockRow.incident_id.in_(ids[start : start + 500]))
        )
        for row in rows:
            found[row.incident_id].append(_clock_view(row, None))
    for views in found.values():
        views.sort(key=lambda c: (_CLOCK_ORDER.get(c.kind, 9), c.attempt))
    return found


def _timeline(session: Session, incident_id: str) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            seq=step.seq,
            at=step.occurred_at,
            type=step.type,
            actor=step.who,
            details={k: v for k, v in step.payload.items() if k not in ("incident_id", "actor")},
        )
        for step in incident_timeline(session.connection(), incident_id)
    ]


def _explanation(session: Session, incident_id: str) -> list[dict[str, Any]]:
    latest = session.scalars(
        select(AssignmentRow)
        .where(AssignmentRow.incident_id == incident_id)
        .order_by(AssignmentRow.id.desc())
        .limit(1)
    ).first()
    return list(latest.explanation) if latest is not None else []


def _view(
    row: IncidentRow,
    clocks: list[ClockView],
    timeline: list[TimelineEntry],
    explanation: list[dict[str, Any]],
) -> IncidentView:
    return IncidentView(
        id=row.id,
        kind=row.kind,
        priority=row.priority,
        region=row.region,
        area_class=row.area_class,
        latitude=row.latitude,
        longitude=row.longitude,
        address=row.address,
        state=row.state,
        team_id=row.team_id,
        escalated=bool(row.escalated),
        master_id=row.master_id,
        lead_id=row.lead_id,
        reported_at=row.reported_at,
        clocks=clocks,
        timeline=timeline,
        explanation=explanation,
    )


def incident_view(session: Session, incident_id: str) -> IncidentView:
    """One incident with its clocks, its timeline (from the event log) and why its team."""
    row = session.get(IncidentRow, incident_id)
    if row is None:
        raise NotFound(f"no incident {incident_id}")
    view = _view(
        row,
        _clocks_of(session, [incident_id]).get(incident_id, []),
        _timeline(session, incident_id),
        _explanation(session, incident_id),
    ).model_copy(update={"group": _group(session, row)})
    notice = session.get(TaskNoticeRow, (incident_id, row.team_id)) if row.team_id else None
    if notice is None:
        return view
    return view.model_copy(update={"notified_at": notice.notified_at, "seen_at": notice.seen_at})


def _group(session: Session, row: IncidentRow) -> list[GroupTask]:
    """The tasks of the incident `row` belongs to, lead first; none when it is one task."""
    lead = row.lead_id or row.id
    rows = session.scalars(
        select(IncidentRow)
        .where((IncidentRow.id == lead) | (IncidentRow.lead_id == lead))
        .order_by(IncidentRow.lead_id.is_not(None), IncidentRow.reported_at, IncidentRow.id)
    ).all()
    if len(rows) < 2:
        return []
    return [
        GroupTask(incident_id=r.id, lead=r.lead_id is None, team_id=r.team_id, state=r.state)
        for r in rows
    ]


def _views(session: Session, rows: Sequence[IncidentRow]) -> list[IncidentView]:
    clocks = _clocks_of(session, [r.id for r in rows])
    return [_view(r, clocks.get(r.id, []), [], []) for r in rows]


def list_incidents(
    session: Session,
    *,
    state: str | None = None,
    region: str | None = None,
    priority: str | None = None,
    breached: bool | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[IncidentView]:
    """Incidents, newest report first, without timelines; `breached` filters on any clock."""
    query = select(IncidentRow)
    if state:
        query = query.where(IncidentRow.state == state)
    if region:
        query = query.where(IncidentRow.region == region)
    if priority:
        query = query.where(IncidentRow.priority == priority)
    if breached is not None:
        any_breach = exists().where(
            (SlaClockRow.incident_id == IncidentRow.id)
            & (SlaClockRow.state == ClockState.BREACHED.value)
        )
        query = query.where(any_breach if breached else ~any_breach)
    query = query.order_by(IncidentRow.reported_at.desc(), IncidentRow.id)
    rows = session.scalars(query.limit(limit).offset(offset)).all()
    return _views(session, rows)


def team_tasks(session: Session, team_id: str) -> list[IncidentView]:
    """The team's open tasks, oldest first."""
    rows = session.scalars(
        select(IncidentRow)
        .where(IncidentRow.team_id == team_id)
        .where(IncidentRow.state.in_([s.value for s in WITH_TEAM]))
        .order_by(IncidentRow.assigned_at, IncidentRow.id)
    ).all()
    return _views(session, rows)


def sla_summary(session: Session, now: datetime) -> dict[str, Any]:
    """Clocks counted by kind and state (a running clock past its deadline counts as
    breached), compliance per kind and overall, escalations and the unanswered count."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    overdue = (SlaClockRow.state == ClockState.RUNNING.value) & (SlaClockRow.deadline <= now)
    shown = case((overdue, ClockState.BREACHED.value), else_=SlaClockRow.state)
    for kind, state, n in session.execute(
        select(SlaClockRow.kind, shown, func.count()).group_by(SlaClockRow.kind, shown)
    ):
        counts[kind][state] += int(n)
    by_kind = {
        kind: {
            **dict(states),
            "compliance": compliance(states.get("met", 0), states.get("breached", 0)),
        }
        for kind, states in sorted(counts.items())
    }
    met = sum(states.get("met", 0) for states in counts.values())
    breached = sum(states.get("breached", 0) for states in counts.values())
    return {
        "at": now.isoformat(),
        "clocks": by_kind,
        "compliance": compliance(met, breached),
        "escalated_open": _count(session, IncidentRow.escalated.is_(True), open_only=True),
        "waiting": _count(session, IncidentRow.state.in_([s.value for s in WAITING])),
        "with_team": _count(session, IncidentRow.state.in_([s.value for s in WITH_TEAM])),
    }


def with_estimates(views: list[IncidentView], found: Mapping[str, Estimate]) -> list[IncidentView]:
    """The views with the estimates of those still open (views/estimates.py)."""
    return [v.model_copy(update=fields_of(found.get(v.id))) if v.id in found else v for v in views]


def _count(session: Session, condition: Any, open_only: bool = False) -> int:
    query = select(func.count()).select_from(IncidentRow).where(condition)
    if open_only:
        query = query.where(IncidentRow.state.in_([s.value for s in WAITING | WITH_TEAM]))
    return int(session.scalar(query) or 0)
