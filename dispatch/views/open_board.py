"""What the board draws at first load: every open incident with its open SLA clocks, and the
merged reports of their storm groups (the map counts them), read in one statement so that
the event log's head read with them is the one the rows are at.

Rows are tuples in `INCIDENT_FIELDS` order, not objects: with 10,000 open incidents the
names would be two fifths of the answer (5.4 MB as objects, 3.2 MB as tuples).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import func, null, select, type_coerce, union_all
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from dispatch.adapters.orm import IncidentRow, SlaClockRow
from events.log import EVENT_LOG
from models.estimates import Estimate
from models.incident import IncidentState
from models.lifecycle import OPEN

INCIDENT_FIELDS = (
    "id",
    "kind",
    "priority",
    "region",
    "address",
    "state",
    "team_id",
    "reported_at",
    "latitude",
    "longitude",
    "master_id",
    "lead_id",
    "clocks",
    "eta_on_site",
    "ert",
)
CLOCK_FIELDS = ("kind", "attempt", "state", "started_at", "deadline")
_OPEN_STATES = sorted(state.value for state in OPEN)
_SHOWN = frozenset([*_OPEN_STATES, IncidentState.MERGED.value])

# Rows as lists of values, each typed by what any of its fields may be: a tuple type would
# document each position (prefixItems), but Schemathesis cannot read that schema back
ClockRowValues = list[str | int]
IncidentRowValues = list[str | float | list[ClockRowValues] | None]


class OpenBoard(BaseModel):
    """The open incidents at `seq`; the live stream's events after `seq` change them."""

    seq: int = Field(description="the event log's newest sequence number when these were read")
    incident_fields: list[str] = Field(description="what each incident tuple holds, in order")
    clock_fields: list[str] = Field(description="what each clock tuple holds, in order")
    incidents: list[IncidentRowValues] = Field(
        description="open incidents (with their clocks not yet closed), then the merged "
        "reports of open storm groups (state merged, master_id set, no clocks); each a list "
        "of values named by incident_fields, its clocks lists named by clock_fields; times "
        "are ISO 8601 in UTC; lead_id names a support task's lead incident (null for a "
        "lead or a single task); eta_on_site and ert (outages) are estimates, null when no "
        "team could go"
    )


def _raw(column: Any) -> Any:
    """A time as the driver returns it, without the per-value conversion of UtcDateTime:
    the read's largest cost at 30,000 values; `_iso` makes the ISO text once."""
    return type_coerce(column, NullType()).label(column.key)


def _iso(value: str | datetime) -> str:
    """SQLite's stored text ("2026-07-01 08:00:00.000000", UTC) or PostgreSQL's aware
    datetime, as ISO 8601 in UTC with a Z, the way the events carry times."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
    return value.replace(" ", "T", 1) + "Z"


def _statement() -> Any:
    head = select(func.coalesce(func.max(EVENT_LOG.c.seq), 0)).scalar_subquery()
    incident = tuple(  # named: the compound's ORDER BY refers to them by name
        column.label(column.key)
        for column in (
            IncidentRow.id,
            IncidentRow.kind,
            IncidentRow.priority,
            IncidentRow.region,
            IncidentRow.address,
            IncidentRow.state,
            IncidentRow.team_id,
            _raw(IncidentRow.reported_at),
            IncidentRow.latitude,
            IncidentRow.longitude,
            IncidentRow.master_id,
            IncidentRow.lead_id,
        )
    )
    clock = (
        SlaClockRow.kind.label("clock_kind"),
        SlaClockRow.attempt,
        SlaClockRow.state.label("clock_state"),
        _raw(SlaClockRow.started_at),
        _raw(SlaClockRow.deadline),
    )
    still_running = (SlaClockRow.incident_id == IncidentRow.id) & SlaClockRow.closed_at.is_(None)
    opened = (
        select(head.label("head"), *incident, *clock)
        .outerjoin(SlaClockRow, still_running)
        .where(IncidentRow.state.in_(_OPEN_STATES))
    )
    # the duplicates of open masters, found by ix_incidents_master_id; their state is checked
    # in Python (`_SHOWN`): by ix_incidents_state, SQLite would read every merged report ever
    open_ids = select(IncidentRow.id).where(IncidentRow.state.in_(_OPEN_STATES))
    merged = select(head.label("head"), *incident, *(null().label(c.key) for c in clock)).where(
        IncidentRow.master_id.in_(open_ids)
    )
    return union_all(opened, merged).order_by("reported_at", "id", "clock_kind", "attempt")


def open_board(session: Session, estimates: Mapping[str, Estimate] | None = None) -> dict[str, Any]:
    """The board's first read, JSON-ready; see OpenBoard. With `estimates` (by id), each
    incident carries its ETA on site and ERT; a merged report, its master's."""
    rows: list[tuple[Any, ...]] = [tuple(row) for row in session.execute(_statement())]
    incidents: dict[str, list[Any]] = {}
    for row in rows:
        if row[6] not in _SHOWN:
            continue  # a duplicate cancelled on its own
        found = incidents.get(row[1])
        if found is None:
            found = incidents[row[1]] = [*row[1:8], _iso(row[8]), *row[9:13], []]
        if row[13] is not None:
            found[12].append((*row[13:16], _iso(row[16]), _iso(row[17])))
    estimated = estimates or {}
    for incident in incidents.values():
        merged = incident[5] == IncidentState.MERGED.value
        incident.extend(_estimated(estimated.get(incident[10] if merged else incident[0])))
    return {
        "seq": int(rows[0][0]) if rows else _head(session),
        "incident_fields": list(INCIDENT_FIELDS),
        "clock_fields": list(CLOCK_FIELDS),
        "incidents": list(incidents.values()),
    }


def _estimated(found: Estimate | None) -> tuple[str | None, str | None]:
    if found is None:
        return None, None
    restored = found.restored_at
    return _iso(found.on_site_at), _iso(restored) if restored is not None else None


def _head(session: Session) -> int:
    return int(session.scalar(select(func.coalesce(func.max(EVENT_LOG.c.seq), 0))) or 0)
