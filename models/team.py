"""Service teams and the assignments that bind an incident to one of them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import h3
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

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


# what a reader of Chinese calls each skill (the article's words where it has them)
SKILL_ZH: dict[Skill, str] = {
    Skill.REPAIR: "供电抢修",
    Skill.DISASTER_RELIEF: "抗灾救灾",
    Skill.ASSISTANCE: "扶弱助困",
    Skill.EQUIPMENT_CHECK: "设备义诊",
}

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


class RoleCount(BaseModel):
    """How many of a team's members hold one role (队长, 副队长, 安全员, 队员...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: str = Field(min_length=1, max_length=50, description="the role in Chinese, e.g. 队长")
    role_en: str = Field(default="", max_length=50, description="the role in English")
    count: int = Field(ge=1)


class Team(BaseModel):
    """A party-member service team: who they are, where they start from, what they can do.

    Names are Chinese first with English beside them (`name`, `name_en`), as the people who
    read them are. Every field after `status` came later and has a default, so the
    `team.registered` events logged before it still validate and replay.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200, description="the team's name in Chinese")
    region: str = Field(min_length=1, max_length=64, description="prefecture-level division")
    home: GeoPoint
    leader: str = Field(default="", description="队长, in Chinese")
    members: int = Field(ge=1, description="people in the team")
    party_members: int = Field(ge=0)
    skills: frozenset[Skill] = frozenset(Skill)
    capacity: int = Field(default=3, ge=1, description="tasks it can carry at once")
    reserve: bool = Field(default=False, description="a reserve squad of new staff and volunteers")
    status: TeamStatus = TeamStatus.AVAILABLE
    name_en: str = Field(default="", max_length=200, description="the team's name in English")
    leader_en: str = Field(default="", max_length=100, description="the leader's name in pinyin")
    # tuples, not lists: a frozen team stays hashable
    roles: tuple[RoleCount, ...] = Field(default=(), description="members by role")
    grid_cells: tuple[str, ...] = Field(
        default=(), description="H3 grid cells the team serves, one member per cell"
    )
    branch: str = Field(default="", max_length=200, description="一队一支部: its party branch")
    branch_en: str = Field(default="", max_length=200, description="the branch in English")
    intro: str = Field(default="", max_length=2000, description="a short introduction, Chinese")
    intro_en: str = Field(default="", max_length=2000, description="the introduction in English")

    @field_validator("grid_cells")
    @classmethod
    def _cells_are_h3_and_distinct(cls, cells: tuple[str, ...]) -> tuple[str, ...]:
        bad = [c for c in cells if not h3.is_valid_cell(c)]
        if bad:
            raise ValueError(f"not an H3 cell id: {bad[0]!r}")
        if len(set(cells)) != len(cells):
            raise ValueError("a grid cell is listed twice")
        return cells

    @model_validator(mode="after")
    def _roles_add_up_to_the_members(self) -> Team:
        # no roles at all means "not recorded", as in every team registered before roles were
        counted = sum(r.count for r in self.roles)
        if self.roles and counted != self.members:
            raise ValueError(f"roles count {counted} people but the team has {self.members}")
        return self

    def display_name(self, locale: str = "zh") -> str:
        """The name to show a reader of `locale` ("zh" or "en"); Chinese when no English."""
        return self.name_en if locale == "en" and self.name_en else self.name


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
