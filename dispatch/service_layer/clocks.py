"""SLA clocks in the database: the policy's targets, and clock rows beside the pure clocks of
models/sla.py (clock_starts.py starts the ones routing starts; lifecycle.py the others).

Clocks are rows with their deadlines (`sla_clocks`), not timers: the watchdog (watchdog.py)
asks the database for the clocks whose next warning or deadline has come, so a restart loses
nothing. Lock order in every transaction that changes them: incident rows, clock rows, the
event log head, team rows (as routing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, NamedTuple

from dispatch.adapters.orm import SlaClockRow
from dispatch.config import sla_policy_path
from dispatch.service_layer.services import Services
from events.schemas.tasks import ClockSnapshot
from models.incident import AreaClass, IncidentKind, Priority
from models.sla import ClockKind, SlaClock, SlaPolicy, load_policy

DISPATCHER = "dispatcher"  # the actor of routing decisions


@cache
def _policy_at(path: str | None) -> SlaPolicy:
    return load_policy(path)


def policy_of(services: Services) -> SlaPolicy:
    """The configured policy; config/sla.toml beside the code, or the built-in defaults."""
    return _policy_at(sla_policy_path(services.settings))


def shortest_target(policy: SlaPolicy, kind: ClockKind) -> timedelta:
    """The tightest target of a clock kind over every area, priority and incident kind."""
    return min(
        policy.target(kind, area=area, priority=priority, kind=incident_kind)
        for area in AreaClass
        for priority in Priority
        for incident_kind in IncidentKind
    )


# --- clock rows and the pure clocks of models/sla.py -------------------------------------


class ClockValues(NamedTuple):
    """A clock as a command decided it, in the shape of its `sla_clocks` row: the deciding
    event carries its snapshot, and the fold stores it. A plain tuple, not an ORM object:
    routing starts thousands a second."""

    incident_id: str
    kind: str
    attempt: int
    team_id: str | None
    state: str
    started_at: datetime
    target_s: float
    paused_s: float
    paused_since: datetime | None
    deadline: datetime
    warned_50: bool
    warned_75: bool
    next_due_at: datetime | None
    closed_at: datetime | None

    @classmethod
    def of(
        cls, incident_id: str, clock: SlaClock, *, attempt: int = 1, team_id: str | None = None
    ) -> ClockValues:
        """The row that stores `clock`: its computed deadline, and when the watchdog must
        next look at it."""
        return cls(
            incident_id,
            clock.kind.value,
            attempt,
            team_id,
            clock.state.value,
            clock.started_at,
            clock.target.total_seconds(),
            clock.paused_for.total_seconds(),
            clock.paused_since,
            clock.deadline,
            0.5 in clock.warned,
            0.75 in clock.warned,
            clock.next_due_at(),
            clock.closed_at,
        )


def snapshot(row: SlaClockRow | ClockValues) -> ClockSnapshot:
    # Built, not validated: every value comes from a stored or computed clock of the right
    # type (validation was a quarter of starting a clock; tests/unit checks the same JSON).
    return ClockSnapshot.model_construct(
        kind=row.kind,
        attempt=row.attempt,
        team_id=row.team_id,
        state=row.state,
        started_at=row.started_at,
        target_minutes=round(row.target_s / 60, 4),
        paused_minutes=round(row.paused_s / 60, 4),
        paused_since=row.paused_since,
        deadline=row.deadline,
        warned_50=row.warned_50,
        warned_75=row.warned_75,
        closed_at=row.closed_at,
    )


@dataclass(frozen=True)
class IncidentFacts:
    """What a clock's target depends on."""

    id: str
    region: str
    kind: str
    priority: str
    area_class: str
    reported_at: datetime


def facts_of(row: Any) -> IncidentFacts:
    return IncidentFacts(
        row.id, row.region, row.kind, row.priority, row.area_class, row.reported_at
    )


def target_of(policy: SlaPolicy, kind: ClockKind, incident: IncidentFacts) -> timedelta:
    return policy.target(
        kind, area=incident.area_class, priority=incident.priority, kind=incident.kind
    )
