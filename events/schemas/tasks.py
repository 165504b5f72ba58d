"""Schemas of the task stream: what dispatch decided, what teams did, and the SLA clocks.

Every lifecycle payload names its actor and carries snapshots of the clocks it changed, with
their computed deadlines, so a replay rebuilds incidents and clocks from the events alone.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.schemas import EventPayload, register
from models.team import Assignment


class ClockSnapshot(BaseModel):
    """An SLA clock as it is after the event: replay upserts it by (incident, kind, attempt)."""

    model_config = ConfigDict(frozen=True)

    kind: str = Field(description="acknowledge, arrive or resolve")
    attempt: int = Field(ge=1, description="acknowledge clocks count assignments: 1, 2, …")
    team_id: str | None = None
    state: str = Field(description="running, paused, met, breached or stopped")
    started_at: AwareDatetime
    target_minutes: float = Field(gt=0)
    paused_minutes: float = Field(default=0.0, ge=0)
    paused_since: AwareDatetime | None = None
    deadline: AwareDatetime
    warned_50: bool = False
    warned_75: bool = False
    closed_at: AwareDatetime | None = None


class LifecycleEvent(EventPayload):
    """Fields every lifecycle event shares."""

    incident_id: str
    actor: str = Field(default="", max_length=200, description="who did it, as authenticated")
    state: str = Field(default="", description="the incident's state after the event")
    clocks: list[ClockSnapshot] = Field(default_factory=list)


@register
class TeamAssigned(Assignment, EventPayload):
    """A team was chosen for an incident; the explanation says why."""

    TYPE: ClassVar[str] = "team.assigned"
    VERSION: ClassVar[int] = 1


@register
class TaskResolved(LifecycleEvent):
    """The team reports the job done (v1 fields kept; actor, state and clocks added)."""

    TYPE: ClassVar[str] = "task.resolved"
    VERSION: ClassVar[int] = 1

    team_id: str
    resolved_at: AwareDatetime
    notes: str = Field(default="", max_length=2000)


@register
class SlaClocksStarted(LifecycleEvent):
    """Clocks started: the arrive clock at the report, an acknowledge clock per assignment."""

    TYPE: ClassVar[str] = "sla.clocks_started"
    VERSION: ClassVar[int] = 1


@register
class TaskAcknowledged(LifecycleEvent):
    TYPE: ClassVar[str] = "task.acknowledged"
    VERSION: ClassVar[int] = 1

    team_id: str
    acknowledged_at: AwareDatetime


@register
class TaskDeclined(LifecycleEvent):
    """The team said no; the incident is queued again and that team excluded from it."""

    TYPE: ClassVar[str] = "task.declined"
    VERSION: ClassVar[int] = 1

    team_id: str
    reason: str = Field(min_length=1, max_length=500)
    declined_at: AwareDatetime


@register
class TaskDeparted(LifecycleEvent):
    TYPE: ClassVar[str] = "task.departed"
    VERSION: ClassVar[int] = 1

    team_id: str
    departed_at: AwareDatetime


@register
class TaskArrived(LifecycleEvent):
    TYPE: ClassVar[str] = "task.arrived"
    VERSION: ClassVar[int] = 1

    team_id: str
    arrived_at: AwareDatetime


@register
class TaskReassigned(LifecycleEvent):
    """The task was withdrawn from a team (no acknowledgement in time) and queued again."""

    TYPE: ClassVar[str] = "task.reassigned"
    VERSION: ClassVar[int] = 1

    from_team_id: str
    reason: str
    misses: int = Field(ge=1, description="acknowledgement deadlines missed on this incident")
    withdrawn_at: AwareDatetime


@register
class SlaBreached(LifecycleEvent):
    """A clock's deadline passed before it was met."""

    TYPE: ClassVar[str] = "sla.breached"
    VERSION: ClassVar[int] = 1

    kind: str
    team_id: str | None = None
    deadline: AwareDatetime


@register
class SlaWarning(LifecycleEvent):
    """A clock has used `fraction` of its target: the board colours it."""

    TYPE: ClassVar[str] = "sla.warning"
    VERSION: ClassVar[int] = 1

    kind: str
    fraction: float = Field(gt=0, lt=1)
    team_id: str | None = None
    deadline: AwareDatetime


@register
class IncidentEscalated(LifecycleEvent):
    """Raised to the region's supervisor; the incident keeps its state and keeps being retried."""

    TYPE: ClassVar[str] = "incident.escalated"
    VERSION: ClassVar[int] = 1

    region: str
    supervisor: str
    reason: str
    escalated_at: AwareDatetime


@register
class IncidentCancelled(LifecycleEvent):
    TYPE: ClassVar[str] = "incident.cancelled"
    VERSION: ClassVar[int] = 1

    reason: str = Field(min_length=1, max_length=500)
    released_team_id: str | None = Field(default=None, description="the team freed, if any")
    cancelled_at: AwareDatetime


@register
class IncidentMerged(LifecycleEvent):
    """A storm duplicate linked to its master instead of sending a second team."""

    TYPE: ClassVar[str] = "incident.merged"
    VERSION: ClassVar[int] = 1

    master_id: str
    distance_m: float = Field(ge=0)
    minutes_apart: float = Field(ge=0)


@register
class IncidentUnlinked(LifecycleEvent):
    """The dispatcher decided it is not a duplicate after all: queued to be routed on its own."""

    TYPE: ClassVar[str] = "incident.unlinked"
    VERSION: ClassVar[int] = 1

    former_master_id: str


@register
class IncidentReprioritized(LifecycleEvent):
    """A priority change; the clocks carry their new deadlines (from the original start)."""

    TYPE: ClassVar[str] = "incident.reprioritized"
    VERSION: ClassVar[int] = 1

    old_priority: str
    new_priority: str


@register
class IncidentReassigned(LifecycleEvent):
    """A dispatcher handed the incident by hand to a team of their choice, with the reason. The
    former team's task is withdrawn (its load drops, its acknowledge clock stops; it is not
    excluded); team.assigned and sla.clocks_started follow at once for the chosen team."""

    TYPE: ClassVar[str] = "incident.reassigned"
    VERSION: ClassVar[int] = 1

    from_team_id: str | None = Field(default=None, description="the team that had it, if any")
    to_team_id: str
    reason: str = Field(min_length=1, max_length=500)
    reassigned_at: AwareDatetime
