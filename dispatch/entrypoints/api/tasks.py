"""A team's routes: its open tasks, and what it does with each (acknowledge, decline, set
off, arrive, resolve). Each move takes an Idempotency-Key: the crew's phone sends the taps it
queued offline with the key made at the tap, and a replay is answered as the first time."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from dispatch.adapters.orm import TeamRow
from dispatch.entrypoints.api.deps import CallerDep, ServicesDep, TaskActor, idempotency_header
from dispatch.service_layer.access import check_own_tasks
from dispatch.service_layer.task_moves import Move, Step, take_step
from dispatch.views import board
from models.errors import NotFound


class DeclineRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why the team cannot go")


class ResolveRequest(BaseModel):
    notes: str = Field(default="", max_length=2000, description="what was done")


IdempotencyKey = Annotated[
    str | None,
    idempotency_header("made once per tap: a replay gets the first answer and changes nothing"),
]

MOVE_ANSWERS: dict[int | str, dict[str, Any]] = {
    409: {
        "description": "not allowed in the task's current state (the body's current_state), "
        "or the task is no longer the team's (withdrawn: true)"
    },
    422: {"description": "an invalid body, or an Idempotency-Key already used for another request"},
}


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

    @router.post("/tasks/{incident_id}/ack", responses=MOVE_ANSWERS)
    def acknowledge(
        incident_id: str,
        services: ServicesDep,
        caller: TaskActor,
        idempotency_key: IdempotencyKey = None,
    ) -> board.IncidentView:
        """The team takes the task."""
        return take_step(services, Move(Step.ACKNOWLEDGE, incident_id), caller, idempotency_key)

    @router.post("/tasks/{incident_id}/decline", responses=MOVE_ANSWERS)
    def decline(
        incident_id: str,
        body: Annotated[DeclineRequest, Body()],
        services: ServicesDep,
        caller: TaskActor,
        idempotency_key: IdempotencyKey = None,
    ) -> board.IncidentView:
        """The team cannot take the task, and says why; it goes back for dispatch."""
        move = Move(Step.DECLINE, incident_id, body.reason)
        return take_step(services, move, caller, idempotency_key)

    @router.post("/tasks/{incident_id}/en-route", responses=MOVE_ANSWERS)
    def en_route(
        incident_id: str,
        services: ServicesDep,
        caller: TaskActor,
        idempotency_key: IdempotencyKey = None,
    ) -> board.IncidentView:
        """The team is on its way."""
        return take_step(services, Move(Step.EN_ROUTE, incident_id), caller, idempotency_key)

    @router.post("/tasks/{incident_id}/on-scene", responses=MOVE_ANSWERS)
    def on_scene(
        incident_id: str,
        services: ServicesDep,
        caller: TaskActor,
        idempotency_key: IdempotencyKey = None,
    ) -> board.IncidentView:
        """The team has arrived."""
        return take_step(services, Move(Step.ON_SCENE, incident_id), caller, idempotency_key)

    @router.post("/tasks/{incident_id}/resolve", responses=MOVE_ANSWERS)
    def resolve(
        incident_id: str,
        services: ServicesDep,
        caller: TaskActor,
        body: Annotated[ResolveRequest | None, Body()] = None,
        idempotency_key: IdempotencyKey = None,
    ) -> board.IncidentView:
        """The job is done, with notes."""
        move = Move(Step.RESOLVE, incident_id, body.notes if body is not None else "")
        return take_step(services, move, caller, idempotency_key)

    return router
