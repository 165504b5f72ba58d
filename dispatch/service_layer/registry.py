"""The team registry in the database: seeding, listing and reading teams.

Every registry change is logged as an event, so a replay rebuilds the registry as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import TeamRow
from dispatch.bootstrap import Services
from events.log import SqlEventLog
from events.schemas import envelope_for
from events.schemas.teams import TeamLocated, TeamRegistered, TeamRetired
from models.team import Team

PRODUCER = "everycall-registry"


def replace_registry(session: Session, teams: Sequence[Team], at: datetime) -> int:
    """Make `teams` the whole registry, inside the caller's transaction (all or nothing)."""
    retired = set(session.scalars(select(TeamRow.id))) - {t.id for t in teams}
    session.execute(delete(TeamRow).where(TeamRow.id.in_(retired)))
    for team in teams:
        upsert_team(session, team)
    events = [
        envelope_for(TeamRetired(team_id=t), producer=PRODUCER, key=t, at=at)
        for t in sorted(retired)
    ]
    events += [
        envelope_for(TeamRegistered(**t.model_dump()), producer=PRODUCER, key=t.region, at=at)
        for t in teams
    ]
    SqlEventLog().append(session, events)
    return len(teams)


def upsert_team(session: Session, team: Team) -> None:
    """Insert or update a team's record; its current workload is kept."""
    values = TeamRow.values_of(team)
    row = session.get(TeamRow, team.id)
    if row is None:
        session.add(TeamRow(**values))
        return
    for name, value in values.items():
        if name != "active_tasks":
            setattr(row, name, value)


def list_teams(session: Session, region: str | None = None) -> list[Team]:
    query = select(TeamRow).order_by(TeamRow.id)
    if region:
        query = query.where(TeamRow.region == region)
    return [row.to_team() for row in session.scalars(query)]


def report_location(services: Services, team_id: str, lat: float, lon: float) -> None:
    """A team's location fix: stored for routing and logged, in one transaction."""
    now = services.clock.now()
    located = TeamLocated(team_id=team_id, latitude=lat, longitude=lon, located_at=now)
    with services.sessions.begin() as session:
        row = session.get(TeamRow, team_id, with_for_update=True)
        if row is None:
            raise LookupError(f"no team {team_id}")
        row.fix_lat, row.fix_lon, row.fix_at = located.latitude, located.longitude, now
        envelope = envelope_for(located, producer=PRODUCER, key=row.region, at=now)
        services.event_log.append(session, [envelope])
