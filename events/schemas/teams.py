"""Schemas of the team registry stream: replay rebuilds the registry from these alone."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AwareDatetime, Field

from events.schemas import EventPayload, register, register_upcaster
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
    """A team reported where it is; routing uses the fix while it is fresh. Version 2 names who
    reported it (a crew member's phone: `user:<name>`) and how precise the fix is."""

    TYPE: ClassVar[str] = "team.located"
    VERSION: ClassVar[int] = 2

    team_id: str
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    located_at: AwareDatetime
    actor: str = Field(default="", max_length=200, description="who reported the fix")
    accuracy_m: float | None = Field(default=None, ge=0, description="the fix's radius, metres")


@register_upcaster("team.located", 1)
def _located_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Version 1 fixes came from the registry's tools, which named no one and no precision."""
    return {**payload, "actor": "", "accuracy_m": None}
