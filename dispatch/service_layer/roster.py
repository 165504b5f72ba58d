"""The duty roster's service: shifts imported from CSV or iCalendar (one event naming who),
exported again, who is on duty now and next for the board, and the teams a routing pass must
pass over because their shift is not on (read once per pass)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import DutyShiftRow, TeamRow
from dispatch.service_layer.access import Caller, check_dispatcher
from dispatch.service_layer.services import Services
from dispatch.service_layer.unit_of_work import unit_of_work
from events.schemas.storm import ShiftEntry, ShiftsImported
from models import roster
from models.errors import DomainError, NotFound
from models.roster import RosterError, Shift

ROSTER_KEY = "roster"  # the partition key of roster events: one stream, in order
MAX_SHIFTS = 20_000  # per import: a year of shifts for every team is far less


class RosterFileError(DomainError):
    """A roster file that cannot be read (HTTP 400 / CLI error), saying where and why."""


def read_roster(text: str, name: str = "") -> list[Shift]:
    """Shifts from a roster file: iCalendar if it is one (by name or content), else CSV."""
    is_ics = name.lower().endswith(".ics") or text.lstrip().startswith("BEGIN:VCALENDAR")
    try:
        return roster.read_ics(text) if is_ics else roster.read_csv(text)
    except RosterError as error:
        raise RosterFileError(f"{name or 'roster'}: {error}") from error


def import_shifts(
    services: Services, caller: Caller, shifts: Sequence[Shift], source: str = ""
) -> int:
    """Add the shifts to the roster (a shift already there by team and start gets the new end);
    every team must be in the registry. Returns the number of shifts."""
    check_dispatcher(caller, "import the duty roster")
    if not shifts:
        raise RosterFileError("the roster has no shifts")
    if len(shifts) > MAX_SHIFTS:
        raise RosterFileError(f"{len(shifts)} shifts in one import; at most {MAX_SHIFTS}")
    shifts = [_checked(shift) for shift in shifts]
    now = services.clock.now()
    with unit_of_work(services) as uow:
        known = set(uow.session.scalars(select(TeamRow.id)))
        unknown = sorted({s.team_id for s in shifts} - known)
        if unknown:
            raise NotFound(f"no such teams in the registry: {', '.join(unknown[:10])}")
        entries = [
            ShiftEntry(team_id=s.team_id, starts_at=s.starts_at, ends_at=s.ends_at) for s in shifts
        ]
        imported = ShiftsImported(
            actor=caller.actor, source=source[:200], shifts=entries, imported_at=now
        )
        uow.record(ROSTER_KEY, [imported], now)
    return len(shifts)


def _checked(shift: Shift) -> Shift:
    """The shift in UTC, if it ends after it starts (the API's bodies come here without
    passing models/roster.py's file readers)."""
    where = f"team {shift.team_id}, shift from {shift.starts_at.isoformat()}"
    if shift.ends_at <= shift.starts_at:
        raise RosterFileError(f"{where}: the shift ends before it starts")
    try:
        return Shift(shift.team_id, shift.starts_at.astimezone(UTC), shift.ends_at.astimezone(UTC))
    except OverflowError as error:  # year 1 or 9999 with an offset: no such UTC time
        raise RosterFileError(f"{where}: a time out of range") from error


def all_shifts(session: Session) -> list[Shift]:
    rows = session.execute(
        select(DutyShiftRow.team_id, DutyShiftRow.starts_at, DutyShiftRow.ends_at)
    ).all()
    return sorted(Shift(team_id, starts, ends) for team_id, starts, ends in rows)


def export_roster(session: Session, fmt: str, now: datetime) -> str:
    """The whole roster as CSV or iCalendar (UTC times)."""
    shifts = all_shifts(session)
    if fmt == "ics":
        return roster.write_ics(shifts, now)
    if fmt == "csv":
        return roster.write_csv(shifts)
    raise RosterFileError(f"no roster format {fmt!r}: csv or ics")


def off_duty_teams(session: Session, now: datetime) -> frozenset[str]:
    """The teams with a roster and no shift on at `now` (a team with no shifts is always on
    duty): routing's one read of the roster per pass, two indexed queries."""
    rostered = set(session.scalars(select(DutyShiftRow.team_id).distinct()))
    if not rostered:
        return frozenset()
    on = session.scalars(
        select(DutyShiftRow.team_id)
        .where(DutyShiftRow.starts_at <= now, DutyShiftRow.ends_at > now)
        .distinct()
    )
    return frozenset(rostered - set(on))


class ShiftView(BaseModel):
    starts_at: AwareDatetime
    ends_at: AwareDatetime


class TeamDuty(BaseModel):
    """One team on the duty board: on duty now or not, and its current and next shift."""

    team_id: str
    name: str
    region: str
    reserve: bool
    rostered: bool  # False: no shifts at all, so always on duty
    on_duty: bool
    current: ShiftView | None
    next: ShiftView | None


class DutyBoard(BaseModel):
    at: AwareDatetime
    on_duty: int
    off_duty: int
    teams: list[TeamDuty]


def duty_board(session: Session, now: datetime, region: str | None = None) -> DutyBoard:
    """Who is on duty now and who comes on next, team by team (optionally one division)."""
    query = select(TeamRow.id, TeamRow.name, TeamRow.region, TeamRow.reserve).order_by(TeamRow.id)
    if region is not None:
        query = query.where(TeamRow.region == region)
    grouped = roster.by_team(all_shifts(session))
    teams = [_duty(row, grouped.get(row[0], []), now) for row in session.execute(query)]
    on = sum(t.on_duty for t in teams)
    return DutyBoard(at=now, on_duty=on, off_duty=len(teams) - on, teams=teams)


def _duty(row: tuple[str, str, str, bool], shifts: Sequence[Shift], now: datetime) -> TeamDuty:
    team_id, name, region, reserve = row
    current, upcoming = roster.current_shift(shifts, now), roster.next_shift(shifts, now)
    return TeamDuty(
        team_id=team_id,
        name=name,
        region=region,
        reserve=reserve,
        rostered=bool(shifts),
        on_duty=roster.is_on_duty(shifts, now),
        current=None
        if current is None
        else ShiftView(starts_at=current.starts_at, ends_at=current.ends_at),
        next=None
        if upcoming is None
        else ShiftView(starts_at=upcoming.starts_at, ends_at=upcoming.ends_at),
    )
