"""A team's recent service record for its public page: this month's calls (Asia/Shanghai
month) from the work ledger, and how fast the team answered and reached them (medians)."""

from __future__ import annotations

from datetime import datetime
from statistics import median

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from dispatch.views.ledger import LedgerRow, Month, Outcome, read_ledger


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


def read_team_record(session: Session, team_id: str, now: datetime) -> TeamRecord:
    """The team's record for the month `now` falls in."""
    month = Month.of(now)
    ledger = read_ledger(session, month, team_id, now)
    return record_of(month, [r for r in ledger.rows if r.team_id == team_id])
