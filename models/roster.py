"""The duty roster: shifts per team, who is on duty at a moment and who comes on next, and
the roster's CSV and iCalendar forms. Pure: no I/O, times are aware datetimes (UTC stored)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

CSV_FIELDS = ("team_id", "starts_at", "ends_at")


class RosterError(ValueError):
    """A roster file that cannot be read: the message says where and why."""


@dataclass(frozen=True, slots=True, order=True)
class Shift:
    """One team's stretch of duty, [starts_at, ends_at)."""

    team_id: str
    starts_at: datetime
    ends_at: datetime

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


def by_team(shifts: Iterable[Shift]) -> dict[str, list[Shift]]:
    grouped: dict[str, list[Shift]] = {}
    for shift in sorted(shifts):
        grouped.setdefault(shift.team_id, []).append(shift)
    return grouped


def is_on_duty(shifts: Sequence[Shift], at: datetime) -> bool:
    """A team with no shifts at all is always on duty (a deployment without a roster)."""
    return not shifts or any(s.covers(at) for s in shifts)


def current_shift(shifts: Sequence[Shift], at: datetime) -> Shift | None:
    return next((s for s in sorted(shifts) if s.covers(at)), None)


def next_shift(shifts: Sequence[Shift], at: datetime) -> Shift | None:
    """The first shift that starts after `at`."""
    return next((s for s in sorted(shifts) if s.starts_at > at), None)


def off_duty(roster: Mapping[str, Sequence[Shift]], at: datetime) -> set[str]:
    """The teams that have a roster and no shift covering `at`."""
    return {team_id for team_id, shifts in roster.items() if not is_on_duty(shifts, at)}


def _moment(text: str, where: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise RosterError(f"{where}: not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise RosterError(f"{where}: the time needs its offset (e.g. +08:00): {text!r}")
    return value.astimezone(UTC)


def _shift(team_id: str, starts: datetime, ends: datetime, where: str) -> Shift:
    if not team_id.strip():
        raise RosterError(f"{where}: no team_id")
    if ends <= starts:
        raise RosterError(f"{where}: the shift ends before it starts")
    return Shift(team_id.strip(), starts, ends)


def read_csv(text: str) -> list[Shift]:
    """Shifts from CSV with the header team_id,starts_at,ends_at (ISO 8601 with offsets)."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or set(CSV_FIELDS) - set(reader.fieldnames):
        raise RosterError(f"the header must name {', '.join(CSV_FIELDS)}")
    shifts = []
    for line, row in enumerate(reader, start=2):
        where = f"line {line}"
        starts = _moment(row["starts_at"] or "", where)
        shifts.append(
            _shift(row["team_id"] or "", starts, _moment(row["ends_at"] or "", where), where)
        )
    return shifts


def write_csv(shifts: Iterable[Shift]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_FIELDS)
    for s in sorted(shifts):
        writer.writerow((s.team_id, s.starts_at.isoformat(), s.ends_at.isoformat()))
    return out.getvalue()


def _ics_time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def write_ics(shifts: Iterable[Shift], stamp: datetime) -> str:
    """An iCalendar (RFC 5545) file: one VEVENT per shift, the team in SUMMARY and X-TEAM-ID."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//everycall//duty roster//ZH"]
    for s in sorted(shifts):
        lines += [
            "BEGIN:VEVENT",
            f"UID:{s.team_id}-{_ics_time(s.starts_at)}@everycall",
            f"DTSTAMP:{_ics_time(stamp)}",
            f"DTSTART:{_ics_time(s.starts_at)}",
            f"DTEND:{_ics_time(s.ends_at)}",
            f"SUMMARY:值班 duty {s.team_id}",
            f"X-TEAM-ID:{s.team_id}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def _ics_moment(value: str, where: str) -> datetime:
    try:
        if value.endswith("Z"):
            return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        pass
    raise RosterError(f"{where}: only UTC times (…Z) are read: {value!r}")


def read_ics(text: str) -> list[Shift]:
    """Shifts from the VEVENTs of an iCalendar file (as write_ics writes them: UTC times, the
    team in X-TEAM-ID)."""
    unfolded = text.replace("\r\n ", "").replace("\n ", "")
    shifts: list[Shift] = []
    event: dict[str, str] | None = None
    for number, raw in enumerate(unfolded.splitlines(), start=1):
        name, _, value = raw.strip().partition(":")
        name = name.split(";")[0].upper()
        if name == "BEGIN" and value == "VEVENT":
            event = {}
        elif name == "END" and value == "VEVENT" and event is not None:
            where = f"event ending on line {number}"
            missing = {"X-TEAM-ID", "DTSTART", "DTEND"} - set(event)
            if missing:
                raise RosterError(f"{where}: missing {', '.join(sorted(missing))}")
            starts = _ics_moment(event["DTSTART"], where)
            ends = _ics_moment(event["DTEND"], where)
            shifts.append(_shift(event["X-TEAM-ID"], starts, ends, where))
            event = None
        elif event is not None:
            event[name] = value
    return shifts
