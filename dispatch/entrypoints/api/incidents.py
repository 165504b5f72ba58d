"""The dispatch center's routes: report, show, list, cancel, reprioritise, unlink and reassign
incidents by hand (and the teams to choose from), raise an incident's level (one more team);
the queue and the SLA summary."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from dispatch.entrypoints.api.deps import (
    CallerDep,
    Dispatcher,
    Reader,
    ServicesDep,
    idempotency_header,
)
from dispatch.service_layer import incidents, reassignment, support_tasks
from dispatch.service_layer.access import check_own_task
from dispatch.service_layer.clocks import policy_of
from dispatch.service_layer.intake import IncidentReport, accept_report
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import conditions_at
from dispatch.views import board
from dispatch.views.estimates import open_estimates
from dispatch.views.queue import waiting_queue
from models.estimates import Estimate
from models.incident import IncidentState, Priority
from models.reassignment import TeamCandidate, TeamUnfit


class ReportAccepted(BaseModel):
    id: str = Field(description="the incident id; GET /incidents/{id} shows it once stored")
    status: Literal["accepted"] = "accepted"


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why it is cancelled")


class PriorityChange(BaseModel):
    priority: Priority


class ReassignRequest(BaseModel):
    team_id: str = Field(min_length=1, max_length=64, description="the team chosen")
    reason: str = Field(min_length=1, max_length=500, description="why, for the record")


class RaiseLevelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why one more team is needed")


# a 422 shaped as FastAPI's own, which a route's own description of it would otherwise drop
_AS_EVERY_422 = {
    "application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
}
_CANDIDATES_REFUSED: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such incident"},
    422: {"description": "a limit out of 1 to 1000", "content": _AS_EVERY_422},
}
_REASSIGN_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "not in a state to reassign, or the team has it, is full or away"},
    422: {
        "description": "a bad body, or a team that does not exist or lacks the skill",
        "content": _AS_EVERY_422,
    },
}
_RAISE_REFUSED: dict[int | str, dict[str, Any]] = {
    409: {"description": "closed or merged, or it has as many teams as a level may ask for"},
    422: {
        "description": "an invalid body, or an Idempotency-Key already used for another request",
        "content": _AS_EVERY_422,
    },
}


def _estimates(services: Services, session: Session) -> dict[str, Estimate]:
    """ETA on site and ERT of every open incident (views/estimates.py), from the teams the
    roster and storm mode let routing send."""
    now, routing = services.clock.now(), services.settings.routing
    duty = partial(conditions_at, session, now)
    return open_estimates(session, now, routing, policy_of(services), duty)


def router() -> APIRouter:
    router = APIRouter(tags=["dispatch center"])

    @router.post("/incidents", status_code=status.HTTP_202_ACCEPTED)
    def report_incident(
        report: IncidentReport,
        services: ServicesDep,
        caller: Dispatcher,
        response: Response,
        idempotency_key: Annotated[
            str | None, idempotency_header("a client retry with the same key gets the same id")
        ] = None,
    ) -> ReportAccepted:
        """Accept a report for dispatch: 202 with the incident id, even while Kafka is away."""
        incident_id = accept_report(services, report, caller, idempotency_key)
        response.headers["Location"] = f"/incidents/{incident_id}"
        return ReportAccepted(id=incident_id)

    @router.get("/incidents/{incident_id}")
    def show_incident(
        incident_id: str, services: ServicesDep, caller: CallerDep
    ) -> board.IncidentView:
        """One incident: state, team, SLA clocks, timeline, and ETA on site and ERT if open."""
        check_own_task(services, incident_id, caller)
        with services.reads() as session:
            view = board.incident_view(session, incident_id)
            return board.with_estimates([view], _estimates(services, session))[0]

    @router.get("/incidents")
    def list_incidents(
        services: ServicesDep,
        caller: Reader,
        state: IncidentState | None = None,
        region: Annotated[str | None, Query(max_length=64)] = None,
        priority: Priority | None = None,
        breached: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> list[board.IncidentView]:
        """Incidents, newest first, filtered by state, region, priority or SLA breach."""
        with services.reads() as session:
            found = board.list_incidents(
                session,
                state=state,
                region=region,
                priority=priority,
                breached=breached,
                limit=limit,
                offset=offset,
            )
            return board.with_estimates(found, _estimates(services, session))

    @router.post("/incidents/{incident_id}/cancel")
    def cancel(
        incident_id: str, body: CancelRequest, services: ServicesDep, caller: Dispatcher
    ) -> board.IncidentView:
        """Cancel an incident (a false alarm, a call withdrawn), with the reason."""
        return incidents.cancel(services, incident_id, caller, body.reason)

    @router.post("/incidents/{incident_id}/priority")
    def change_priority(
        incident_id: str, body: PriorityChange, services: ServicesDep, caller: Dispatcher
    ) -> board.IncidentView:
        """Change the priority; running SLA clocks take the new target from the report time."""
        return incidents.change_priority(services, incident_id, caller, body.priority)

    @router.post("/incidents/{incident_id}/unlink")
    def unlink(incident_id: str, services: ServicesDep, caller: Dispatcher) -> board.IncidentView:
        """Unlink a report grouped as a duplicate: it is dispatched on its own."""
        return incidents.unlink_duplicate(services, incident_id, caller)

    @router.get("/incidents/{incident_id}/candidates", responses=_CANDIDATES_REFUSED)
    def reassign_candidates(
        incident_id: str,
        services: ServicesDep,
        caller: Reader,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[TeamCandidate]:
        """Teams to reassign to: nearest eligible of the needed skill first, then why not."""
        return reassignment.candidates(services, incident_id, limit)

    @router.post("/incidents/{incident_id}/reassign", responses=_REASSIGN_REFUSED)
    def reassign(
        incident_id: str, body: ReassignRequest, services: ServicesDep, caller: Dispatcher
    ) -> board.IncidentView:
        """Reassign by hand to the chosen team, with the reason; its acknowledge clock starts."""
        try:
            return reassignment.reassign(services, incident_id, caller, body.team_id, body.reason)
        except TeamUnfit as error:
            problem = {"type": "team_unfit", "loc": ["body", "team_id"], "msg": str(error)}
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, [problem]) from error

    @router.post("/incidents/{incident_id}/raise-level", responses=_RAISE_REFUSED)
    def raise_level(
        incident_id: str,
        body: RaiseLevelRequest,
        services: ServicesDep,
        caller: Dispatcher,
        idempotency_key: Annotated[
            str | None,
            idempotency_header("a retry with the same key gets the first answer, no more teams"),
        ] = None,
    ) -> board.IncidentView:
        """Raise the level: one more team, a support task of the lead queued for routing."""
        return support_tasks.raise_level(
            services, incident_id, caller, body.reason, idempotency_key
        )

    @router.get("/sla/summary")
    def sla_summary(services: ServicesDep, caller: Reader) -> dict[str, Any]:
        """SLA clocks by kind and state, and compliance."""
        with services.reads() as session:
            return board.sla_summary(session, services.clock.now())

    @router.get("/queue")
    def queue(services: ServicesDep, caller: Reader) -> list[dict[str, Any]]:
        """Incidents waiting for a team, oldest report first, with ages and exclusions."""
        with services.reads() as session:
            now, routing = services.clock.now(), services.settings.routing
            return waiting_queue(session, now, routing, _estimates(services, session))

    return router
