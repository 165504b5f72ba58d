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
class IncidentQueued(EventPayload):
    """No team could take the incident; it waits in the queue and is never dropped."""

    TYPE: ClassVar[str] = "incident.queued"
    VERSION: ClassVar[int] = 1

    incident_id: str
    reason: str = Field(max_length=500)
