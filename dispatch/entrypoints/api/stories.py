"""A team's service stories: an admin adds them (`POST /teams/{team_id}/stories`), the dispatch
center and auditors read them; everyone reads them on the team's public page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from dispatch.adapters.orm import TeamRow
from dispatch.entrypoints.api.deps import Reader, ServicesDep, require
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.stories import add_story
from dispatch.views.team_stories import StoryView, team_stories
from models.errors import NotFound
from models.story import StoryText

Admin = Annotated[Caller, Depends(require(Role.ADMIN))]

ADDING: dict[int | str, dict[str, Any]] = {
    403: {"description": "not an admin (only admins add stories; auditors only read)"},
    404: {"description": "no such team"},
    422: {"description": "an empty or too long title or body, or a phone number in it"},
}
READING: dict[int | str, dict[str, Any]] = {
    403: {"description": "a team's own members read stories on the public page"},
    404: {"description": "no such team"},
    422: {"description": "a limit out of range"},
}


def router() -> APIRouter:
    router = APIRouter(tags=["teams"])

    @router.post("/teams/{team_id}/stories", status_code=status.HTTP_201_CREATED, responses=ADDING)
    def add_team_story(
        team_id: str, story: StoryText, services: ServicesDep, caller: Admin
    ) -> StoryView:
        """An admin adds a service story to the team's public page."""
        added = add_story(services, team_id, story, actor=caller.actor)
        return StoryView(id=added.story_id, **added.model_dump(exclude={"story_id"}))

    @router.get("/teams/{team_id}/stories", responses=READING)
    def list_team_stories(
        team_id: str,
        services: ServicesDep,
        _caller: Reader,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> list[StoryView]:
        """The team's service stories, newest first."""
        with services.reads() as session:
            if session.get(TeamRow, team_id) is None:
                raise NotFound(f"no team {team_id!r}")
            return team_stories(session, team_id, limit)

    return router
