"""Service teams and the assignments that bind an incident to one of them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from models.incident import IncidentKind


class TeamStatus(StrEnum):
    AVAILABLE = "available"
    BUSY = "busy"
    OFF_DUTY = "off_duty"


class Skill(StrEnum):
    REPAIR = "repair"
    DISASTER_RELIEF = "disaster_relief"
    ASSISTANCE = "assistance"
    EQUIPMENT_CHECK = "equipment_check"


SKILL_FOR_KIND: dict[IncidentKind, Skill] = {
    IncidentKind.REPAIR: Skill.REPAIR,
    IncidentKind.OUTAGE: Skill.REPAIR,
    IncidentKind.DISASTER_RELIEF: Skill.DISASTER_RELIEF,
    IncidentKind.VULNERABLE_ASSISTANCE: Skill.ASSISTANCE,
    IncidentKind.EQUIPMENT_CHECK: Skill.EQUIPMENT_CHECK,
}


class GeoPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class Team(BaseModel):
    """A party-member service team: who they are, where they start from, what they can do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    region: str = Field(min_length=1, max_length=64, description="prefecture-level division")
    home: GeoPoint
    leader: str = ""
    members: int = Field(ge=1, description="people in the team")
    party_members: int = Field(ge=0)
    skills: frozenset[Skill] = frozenset(Skill)
    capacity: int = Field(default=3, ge=1, description="tasks it can carry at once")
    reserve: bool = Field(default=False, description="a reserve squad of new staff and volunteers")
    status: TeamStatus = TeamStatus.AVAILABLE


class Assignment(BaseModel):
    """The decision that sends a team to an incident, with the reasons."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    team_id: str
    assigned_at: AwareDatetime
    distance_km: float = Field(ge=0)
    rule: str = Field(description="the rule that decided, e.g. nearest")
    explanation: list[dict[str, object]] = Field(default_factory=list)


def latency_ms(reported_at: datetime, assigned_at: datetime) -> float:
    """Dispatch latency, from report to stored assignment."""
    return (assigned_at - reported_at).total_seconds() * 1000.0
