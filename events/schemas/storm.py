"""Schemas of the storm day's stream: the duty roster imported, storm mode declared and ended
per division, and the reserve squads it calls up and releases. Each names its actor."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.schemas import EventPayload, register


class ShiftEntry(BaseModel):
    """One shift as the roster event carries it (UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team_id: str = Field(min_length=1, max_length=64)
    starts_at: AwareDatetime
    ends_at: AwareDatetime


@register
class ShiftsImported(EventPayload):
    """Shifts added to the roster (a shift already there by team and start gets the new end)."""

    TYPE: ClassVar[str] = "roster.shifts_imported"
    VERSION: ClassVar[int] = 1

    actor: str = Field(max_length=200, description="who imported them")
    source: str = Field(default="", max_length=200, description="the file or the API")
    shifts: list[ShiftEntry]
    imported_at: AwareDatetime


@register
class StormDeclared(EventPayload):
    """Storm mode is on in a division, under the policy it carries."""

    TYPE: ClassVar[str] = "storm.declared"
    VERSION: ClassVar[int] = 1

    division: str = Field(min_length=1, max_length=64)
    actor: str = Field(max_length=200)
    reason: str = Field(max_length=500)
    source: str = Field(max_length=200, description="dispatcher, or alert:<CAP identifier>")
    policy: dict[str, Any] = Field(description="the storm policy in force, as config/storm.toml")
    declared_at: AwareDatetime


@register
class StormEnded(EventPayload):
    """Storm mode is over in a division."""

    TYPE: ClassVar[str] = "storm.ended"
    VERSION: ClassVar[int] = 1

    division: str = Field(min_length=1, max_length=64)
    actor: str = Field(max_length=200)
    reason: str = Field(default="", max_length=500)
    source: str = Field(max_length=200, description="dispatcher, or alert:<CAP identifier>")
    ended_at: AwareDatetime


@register
class ReserveActivated(EventPayload):
    """A reserve squad joined its division's pool because storm mode was declared there; or,
    with `member`, a reserve member of a team of the division is told of its tasks from now."""

    TYPE: ClassVar[str] = "reserve.activated"
    VERSION: ClassVar[int] = 1

    team_id: str
    member: str | None = Field(default=None, max_length=64, description="a reserve member")
    division: str
    actor: str = Field(max_length=200)
    at: AwareDatetime


@register
class ReserveReleased(EventPayload):
    """A reserve squad left the pool because storm mode ended in its division; or, with
    `member`, a reserve member is told of nothing from now."""

    TYPE: ClassVar[str] = "reserve.released"
    VERSION: ClassVar[int] = 1

    team_id: str
    member: str | None = Field(default=None, max_length=64, description="a reserve member")
    division: str
    actor: str = Field(max_length=200)
    at: AwareDatetime
