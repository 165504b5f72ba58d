"""The teams as the board draws them: where each is (its last fix, else its base), whether it
is available, and how loaded it is."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import TeamRow


class TeamMark(BaseModel):
    id: str
    name: str
    region: str
    latitude: float
    longitude: float
    located_at: AwareDatetime | None  # the fix's time; None: at its base
    status: str
    reserve: bool
    active_tasks: int
    capacity: int


def team_marks(session: Session) -> list[TeamMark]:
    return [_mark(row) for row in session.scalars(select(TeamRow).order_by(TeamRow.id))]


def _mark(row: TeamRow) -> TeamMark:
    fixed = row.fix_lat is not None and row.fix_lon is not None and row.fix_at is not None
    located_at: datetime | None = row.fix_at if fixed else None
    return TeamMark(
        id=row.id,
        name=row.name,
        region=row.region,
        latitude=row.fix_lat if fixed and row.fix_lat is not None else row.home_lat,
        longitude=row.fix_lon if fixed and row.fix_lon is not None else row.home_lon,
        located_at=located_at,
        status=row.status,
        reserve=bool(row.reserve),
        active_tasks=row.active_tasks,
        capacity=row.capacity,
    )
