"""Schemas of the team registry stream: replay rebuilds the registry from these alone."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from events.schemas import EventPayload, register
from models.team import Team


@register
class TeamRegistered(Team, EventPayload):
    """A team joined the registry or its record changed; the payload is the whole record."""

    TYPE: ClassVar[str] = "team.registered"
    VERSION: ClassVar[int] = 1

    def to_team(self) -> Team:
        return Team.model_validate(self.model_dump())


@register
class TeamRetired(EventPayload):
    """A team left the registry (replaced by an import that no longer lists it)."""

    TYPE: ClassVar[str] = "team.retired"
    VERSION: ClassVar[int] = 1

    team_id: str


@register
class TeamLocated(EventPayload):
    """A team reported where it is; routing uses the fix while it is fresh."""

    TYPE: ClassVar[str] = "team.located"
    VERSION: ClassVar[int] = 1

    team_id: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    located_at: AwareDatetime
