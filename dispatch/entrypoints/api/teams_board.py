"""The teams for the dispatch center's board: where each is, its status and its load."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.entrypoints.api.deps import Reader, ServicesDep
from dispatch.views.teams_board import TeamMark, team_marks


def router() -> APIRouter:
    router = APIRouter(tags=["board"])

    @router.get("/teams")
    def teams(services: ServicesDep, _caller: Reader) -> list[TeamMark]:
        """Every team with its position (last fix, else base), status and load."""
        with services.reads() as session:
            return team_marks(session)

    return router
