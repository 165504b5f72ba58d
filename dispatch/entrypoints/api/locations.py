"""Where a team is: `POST /teams/{team_id}/location`, the fixes a crew member's phone shares
while on duty. Each is logged as `team.located` (naming the member) and feeds routing's
location freshness rule."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from dispatch.entrypoints.api.deps import ServicesDep, require
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.registry import report_location

# a fix from further ahead than a phone's clock drifts, or older than a shift, is a wrong clock
LOCATED_AT_MAX_AHEAD = timedelta(minutes=5)
LOCATED_AT_MAX_AGE = timedelta(hours=12)


class LocationFix(BaseModel):
    """A position as the phone's geolocation gives it (WGS84)."""

    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False, description="WGS84 degrees")
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False, description="WGS84 degrees")
    accuracy_m: float | None = Field(
        default=None, ge=0, le=100_000, allow_inf_nan=False, description="radius, metres"
    )
    located_at: AwareDatetime = Field(description="when the phone took the fix")


class LocationRecorded(BaseModel):
    team_id: str
    located_at: AwareDatetime
    recorded: bool = Field(description="false when the team already has a newer fix")


def own_team_member(team_id: str, caller: Annotated[Caller, Depends(require(Role.TEAM))]) -> Caller:
    """A team member, for their own team only (checked before the body is read)."""
    if caller.team_id != team_id:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "a member shares only their own team's position"
        )
    return caller


ANSWERS: dict[int | str, dict[str, Any]] = {
    403: {"description": "not a member of this team (only a team's own members report it)"},
    404: {"description": "no such team"},
    422: {"description": "coordinates out of range, or a fix time too far ahead or too old"},
}


def router() -> APIRouter:
    router = APIRouter(tags=["teams"])

    @router.post("/teams/{team_id}/location", responses=ANSWERS)
    def share_location(
        team_id: str,
        fix: LocationFix,
        services: ServicesDep,
        caller: Annotated[Caller, Depends(own_team_member)],
    ) -> LocationRecorded:
        """A team member's phone reports where the team is, for routing."""
        now = services.clock.now()
        _check_fix_time(fix.located_at, now)
        recorded = report_location(
            services,
            team_id,
            fix.latitude,
            fix.longitude,
            located_at=fix.located_at,
            accuracy_m=fix.accuracy_m,
            actor=caller.actor,
        )
        return LocationRecorded(
            team_id=team_id, located_at=min(fix.located_at, now), recorded=recorded
        )

    return router


def _check_fix_time(located_at: datetime, now: datetime) -> None:
    if located_at > now + LOCATED_AT_MAX_AHEAD:
        problem = f"located_at is ahead of the server's clock by more than {LOCATED_AT_MAX_AHEAD}"
    elif located_at < now - LOCATED_AT_MAX_AGE:
        problem = f"located_at is older than {LOCATED_AT_MAX_AGE}: too old to route by"
    else:
        return
    detail = {"type": "value_error", "loc": ["body", "located_at"], "msg": problem}
    raise RequestValidationError([detail | {"input": located_at.isoformat()}])
