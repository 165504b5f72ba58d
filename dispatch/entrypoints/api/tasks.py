"""A team's routes: its open tasks, and what it does with each (acknowledge, decline, set
off, arrive, resolve)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from dispatch.adapters.orm import TeamRow
from dispatch.entrypoints.api.deps import CallerDep, ServicesDep, TaskActor
from dispatch.service_layer import tasks
from dispatch.service_layer.access import check_own_task, check_own_tasks
from dispatch.views import board
from models.errors import NotFound


class DeclineRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why the team cannot go")


class ResolveRequest(BaseModel):
    notes: str = Field(default="", max_length=2000, description="what was done")


def router() -> APIRouter:
    router = APIRouter(tags=["teams"])

    @router.get("/teams/{team_id}/tasks")
    def team_tasks(
        team_id: str, services: ServicesDep, caller: CallerDep
    ) -> list[board.IncidentView]:
        """A team's open tasks (a team sees only its own)."""
        check_own_tasks(caller, team_id)
        with services.reads() as session:
            if session.get(TeamRow, team_id) is None:
                raise NotFound(f"no team {team_id!r}")
            return board.team_tasks(session, team_id)

    @router.post("/tasks/{incident_id}/ack")
    def acknowledge(
        incident_id: str, services: ServicesDep, caller: TaskActor
    ) -> board.IncidentView:
        """The team takes the task."""
        check_own_task(services, incident_id, caller)
        return tasks.acknowledge(services, incident_id, caller)

    @router.post("/tasks/{incident_id}/decline")
    def decline(
        incident_id: str,
        body: Annotated[DeclineRequest, Body()],
        services: ServicesDep,
        caller: TaskActor,
    ) -> board.IncidentView:
        """The team cannot take the task, and says why; it goes back for dispatch."""
        check_own_task(services, incident_id, caller)
        return tasks.decline(services, incident_id, caller, body.reason)

    @router.post("/tasks/{incident_id}/en-route")
    def en_route(incident_id: str, services: ServicesDep, caller: TaskActor) -> board.IncidentView:
        """The team is on its way."""
        check_own_task(services, incident_id, caller)
        return tasks.mark_en_route(services, incident_id, caller)

    @router.post("/tasks/{incident_id}/on-scene")
    def on_scene(incident_id: str, services: ServicesDep, caller: TaskActor) -> board.IncidentView:
        """The team has arrived."""
        check_own_task(services, incident_id, caller)
        return tasks.mark_on_scene(services, incident_id, caller)

    @router.post("/tasks/{incident_id}/resolve")
    def resolve(
        incident_id: str,
        services: ServicesDep,
        caller: TaskActor,
        body: Annotated[ResolveRequest | None, Body()] = None,
    ) -> board.IncidentView:
        """The job is done, with notes."""
        check_own_task(services, incident_id, caller)
        notes = body.notes if body is not None else ""
        return tasks.resolve(services, incident_id, caller, notes)

    return router
