"""Schemas of the incident stream: what the dispatch center reports."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from events.schemas import EventPayload, register
from models.incident import Incident


@register
class IncidentReported(Incident, EventPayload):
    """A call for help arrived; the payload is the incident as reported."""

    TYPE: ClassVar[str] = "incident.reported"
    VERSION: ClassVar[int] = 1

    def to_incident(self) -> Incident:
        return Incident.model_validate(self.model_dump())


@register
class SupportRequested(Incident, EventPayload):
    """One more team is wanted at an incident: a support task (支援任务) of its lead incident,
    at the same place, routed as an incident of its own, with its own clocks and
    acknowledgement. The lead's response plan asked for it, or a dispatcher raised the level."""

    TYPE: ClassVar[str] = "incident.support_requested"
    VERSION: ClassVar[int] = 1

    lead_id: str = Field(min_length=1, max_length=64)
    teams_wanted: int = Field(ge=2, description="teams the incident wants with this one")
    actor: str = Field(max_length=200)
    reason: str = Field(max_length=500)

    def to_incident(self) -> Incident:
        return Incident.model_validate(
            self.model_dump(exclude={"lead_id", "teams_wanted", "actor", "reason"})
        )


@register
class IncidentQueued(EventPayload):
    """No team could take the incident; it waits in the queue and is never dropped."""

    TYPE: ClassVar[str] = "incident.queued"
    VERSION: ClassVar[int] = 1

    incident_id: str
    reason: str = Field(max_length=500)
