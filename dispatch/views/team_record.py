"""A team's recent service record for its public page: this month's calls (Asia/Shanghai
month) from the work ledger, and how fast the team answered and reached them (medians).

The page is public and a QR code can be scanned by many at once, so it reads only the log
events of the incidents the team was given (by the assignments table), not the whole month's
log; the ledger's own fold and rows make the figures, so they equal the ledger's."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from statistics import median
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import AssignmentRow
from dispatch.views.ledger import (
    LEDGER_EVENTS,
    READ_MARGIN,
    LedgerRow,
    Month,
    Outcome,
    build_ledger,
    fold_tasks,
    read_incidents,
    tasks_in,
)
from events.log import LoggedEvent

_CHUNK = 500  # ids per IN (...) list


class TeamRecord(BaseModel):
    """What a resident can read of a team's month; minutes from the assignment."""

    month: str = Field(description="YYYY-MM, in Asia/Shanghai")
    calls: int = Field(description="tasks the team was given this month")
    answered: int = Field(description="of them, acknowledged by the team")
    resolved: int
    ack_min_median: float | None = Field(description="assignment to acknowledgement")
    arrive_min_median: float | None = Field(description="assignment to arrival on site")


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(median(present), 1) if present else None


def record_of(month: Month, rows: list[LedgerRow]) -> TeamRecord:
    """The record of one team's ledger rows of `month`."""
    return TeamRecord(
        month=str(month),
        calls=len(rows),
        answered=sum(r.acknowledged_at is not None for r in rows),
        resolved=sum(r.outcome is Outcome.RESOLVED for r in rows),
        ack_min_median=_median([r.ack_minutes for r in rows]),
        arrive_min_median=_median([r.arrive_minutes for r in rows]),
    )


def _incidents_given(session: Session, team_id: str, month: Month) -> list[str]:
    return sorted(
        session.scalars(
            select(AssignmentRow.incident_id)
            .where(AssignmentRow.team_id == team_id)
            .where(AssignmentRow.assigned_at >= month.start - READ_MARGIN)
            .where(AssignmentRow.assigned_at < month.end)
            .distinct()
        )
    )


def _their_events(
    session: Session, incident_ids: list[str], since: datetime
) -> Iterable[tuple[str, dict[str, Any]]]:
    """The ledger's events of these incidents, in log order (each chunk's are read whole,
    then merged by sequence number)."""
    found: list[tuple[int, str, str]] = []
    for start in range(0, len(incident_ids), _CHUNK):
        found += session.execute(
            select(LoggedEvent.seq, LoggedEvent.type, LoggedEvent.envelope)
            .where(LoggedEvent.subject.in_(incident_ids[start : start + _CHUNK]))
            .where(LoggedEvent.type.in_(LEDGER_EVENTS))
            .where(LoggedEvent.occurred_at >= since)
        ).tuples()
    for _seq, event_type, envelope in sorted(found):
        yield event_type, json.loads(envelope)["payload"]


def read_team_record(session: Session, team_id: str, now: datetime) -> TeamRecord:
    """The team's record for the month `now` falls in."""
    month = Month.of(now)
    incident_ids = _incidents_given(session, team_id, month)
    logged = fold_tasks(_their_events(session, incident_ids, month.start - READ_MARGIN))
    tasks = tasks_in(logged, month, team_id)
    ledger = build_ledger(tasks, read_incidents(session, tasks), month, team_id, now)
    return record_of(month, ledger.rows)
