"""Incidents: what the dispatch center reports and a team is sent to."""

from __future__ import annotations

from enum import StrEnum
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class IncidentKind(StrEnum):
    REPAIR = "repair"
    OUTAGE = "outage"
    DISASTER_RELIEF = "disaster_relief"
    VULNERABLE_ASSISTANCE = "vulnerable_assistance"
    EQUIPMENT_CHECK = "equipment_check"


class Priority(StrEnum):
    """Dispatch priority, most urgent first (see PRIORITY_RANK)."""

    CRITICAL = "critical"  # disaster relief, critical loads such as hospitals
    HARDSHIP = "hardship"  # households on the hardship register
    NORMAL = "normal"
    LOW = "low"


PRIORITY_RANK: dict[Priority, int] = {
    Priority.CRITICAL: 0,
    Priority.HARDSHIP: 1,
    Priority.NORMAL: 2,
    Priority.LOW: 3,
}


class AreaClass(StrEnum):
    URBAN = "urban"
    RURAL = "rural"
    REMOTE = "remote"


class ReporterChannel(StrEnum):
    PHONE_95598 = "phone_95598"
    APP = "app"
    WECHAT = "wechat"
    GRID_MEMBER = "grid_member"
    SENSOR = "sensor"
    DISPATCHER = "dispatcher"


class IncidentState(StrEnum):
    """Where an incident stands; the allowed moves are in models/lifecycle.py."""

    REPORTED = "reported"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    ACKNOWLEDGED = "acknowledged"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    DECLINED = "declined"
    REASSIGNED = "reassigned"
    ESCALATED = "escalated"
    CANCELLED = "cancelled"
    MERGED = "merged"


def new_incident_id() -> str:
    return f"inc-{uuid4().hex[:16]}"


class Incident(BaseModel):
    """One call for help, as reported. Coordinates are WGS84 degrees."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(default_factory=new_incident_id, min_length=1, max_length=64)
    kind: IncidentKind
    priority: Priority = Priority.NORMAL
    latitude: float = Field(ge=-90, le=90, description="WGS84 latitude in degrees")
    longitude: float = Field(ge=-180, le=180, description="WGS84 longitude in degrees")
    address: str = Field(default="", max_length=500)
    area_class: AreaClass = AreaClass.URBAN
    channel: ReporterChannel = ReporterChannel.PHONE_95598
    region: str = Field(default="", max_length=64, description="prefecture-level division")
    reported_at: AwareDatetime

    @property
    def partition_key(self) -> str:
        """Events of one region share a partition, so their order holds."""
        return self.region or "unknown"
