"""The HTTP API of the dispatch center and the teams (FastAPI; OpenAPI docs at /docs).

Handlers only read through dispatch.views.board and act through dispatch.service_layer.intake and
dispatch.service_layer.lifecycle; nothing in a request talks to Kafka (the outbox relay does).
"""

from __future__ import annotations

import html
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, FastAPI, Header, HTTPException, Query, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy import select, text
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dispatch.adapters import metrics
from dispatch.adapters.orm import IncidentRow, TeamRow
from dispatch.adapters.ratelimit import Limits, RateLimit
from dispatch.bootstrap import Services
from dispatch.config import Settings
from dispatch.entrypoints.api.middleware import StrictJsonBody, printable, request_validation_error
from dispatch.entrypoints.workers import OutboxRelay
from dispatch.service_layer import lifecycle
from dispatch.service_layer.access import Caller, CallerDep, Role, ServicesDep, require
from dispatch.service_layer.intake import IdempotencyKeyReused, IncidentReport, accept_report
from dispatch.service_layer.registration import SERVICE_PROMISE, registration_code
from dispatch.views import board
from models.errors import DomainError, Forbidden, InvalidTransition, NoEligibleTeam, NotFound
from models.hubei import DIVISION_BY_CODE
from models.incident import IncidentState, Priority

ServicesFactory = Callable[[], AbstractContextManager[Services]]
DATABASE_RETRY_AFTER_S = 2

Dispatcher = Annotated[Caller, Depends(require(Role.DISPATCHER, Role.ADMIN))]
Reader = Annotated[Caller, Depends(require(Role.DISPATCHER, Role.AUDITOR, Role.ADMIN))]
# Teams act on their own tasks; the dispatch center may record progress for any team (a crew
# phoning in); the event log names who it was.
TaskActor = Annotated[Caller, Depends(require(Role.TEAM, Role.DISPATCHER, Role.ADMIN))]


class ReportAccepted(BaseModel):
    id: str = Field(description="the incident id; GET /incidents/{id} shows it once stored")
    status: Literal["accepted"] = "accepted"


class DeclineRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why the team cannot go")


class ResolveRequest(BaseModel):
    notes: str = Field(default="", max_length=2000, description="what was done")


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="why it is cancelled")


class PriorityChange(BaseModel):
    priority: Priority


class TeamProfile(BaseModel):
    """What a resident sees after scanning a team's QR code."""

    id: str
    name: str
    region: str
    area: str
    registration_code: str
    service_promise: str
    members: int
    party_members: int
    skills: list[str]
    reserve: bool


def create_app(services_factory: ServicesFactory, *, run_relay: bool = True) -> FastAPI:
    """The app; `services_factory()` is entered when it starts and left when it stops."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with services_factory() as services:
            app.state.services = services
            relay = OutboxRelay(services) if run_relay else None
            app.state.relay = relay
            if relay is not None:
                relay.start()
            try:
                yield
            finally:
                if relay is not None:
                    relay.stop()

    app = FastAPI(
        title="everycall",
        summary="Every call answered, every difficulty helped: dispatch for Hubei's service teams.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(StrictJsonBody)
    app.add_middleware(
        BodySizeLimit, limit=lambda: app.state.services.settings.api_body_limit_bytes
    )
    app.add_middleware(RateLimit, limits=lambda: _rate_limits(app.state.services.settings))
    app.add_middleware(NoNulInUrl)
    _add_error_handlers(app)
    for router in (_health_routes(), metrics.router()):
        app.include_router(router, responses=_LIMITED)
    for router in (_center_routes(), _team_routes()):
        app.include_router(router, responses=_GUARDED)
    return app


class BodySizeLimit:
    """Refuses request bodies larger than `limit()` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        declared = dict(scope["headers"]).get(b"content-length", b"").lstrip(b"0")
        # longer than the limit's digits is over it: int() refuses past 4,300 digits
        if declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):
            await JSONResponse({"detail": _too_large(limit)}, 413)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:  # a chunked body that claimed no length
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, _too_large(limit))
            return message

        await self.app(scope, counting_receive, send)


# What any route may answer besides its own results, so the OpenAPI schema tells clients.
_LIMITED: dict[int | str, dict[str, Any]] = {
    400: {"description": "a body that cannot be parsed, or a NUL or lone surrogate in the URL"},
    413: {"description": "request body over the size limit"},
    429: {"description": "rate limit of the token reached; see Retry-After"},
    503: {"description": "the database is away; retry later (see Retry-After)"},
}
_GUARDED: dict[int | str, dict[str, Any]] = {
    **_LIMITED,
    401: {"description": "no token, or an unknown or revoked one"},
    403: {"description": "the token's role may not do this"},
    404: {"description": "no such incident or team (or not one of the calling team's tasks)"},
    409: {"description": "not allowed in the incident's current state"},
}


class NoNulInUrl:
    """Refuses a URL with a NUL character (400): PostgreSQL cannot compare text with one, so
    an id or filter holding it would fail in the database instead of finding nothing. Nor can
    it hold a lone surrogate, which a server may leave in a path whose bytes are not UTF-8."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                path = scope["path"].encode()
            except UnicodeEncodeError:
                await _bad_url("path", "not UTF-8 (a lone surrogate)")(scope, receive, send)
                return
            for part, text in (("path", path), ("query", scope["query_string"])):
                if b"\x00" in text or b"%00" in text:
                    await _bad_url(part, "NUL character")(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _bad_url(part: str, msg: str) -> Response:
    return JSONResponse({"detail": [{"type": "value_error", "loc": [part], "msg": msg}]}, 400)


def _rate_limits(settings: Settings) -> Limits:
    return Limits(settings.api_rate_per_s, settings.api_rate_burst)


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


def _add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, request_validation_error)
    statuses: list[tuple[type[DomainError], int]] = [
        (NotFound, status.HTTP_404_NOT_FOUND),
        (Forbidden, status.HTTP_403_FORBIDDEN),
        (NoEligibleTeam, status.HTTP_409_CONFLICT),
        (DomainError, status.HTTP_400_BAD_REQUEST),
    ]
    for error_type, code in statuses:
        app.add_exception_handler(error_type, _answer_with(code))

    async def invalid_transition(request: Request, error: Exception) -> Response:
        assert isinstance(error, InvalidTransition)
        return JSONResponse(
            {"detail": str(error), "current_state": error.current}, status.HTTP_409_CONFLICT
        )

    app.add_exception_handler(InvalidTransition, invalid_transition)
    app.add_exception_handler(IdempotencyKeyReused, _idempotency_key_reused)
    for outage in (OperationalError, InterfaceError):
        app.add_exception_handler(outage, _database_unavailable)
    app.add_exception_handler(DataError, _not_storable)


async def _idempotency_key_reused(request: Request, error: Exception) -> Response:
    """422 shaped like every other 422 (the OpenAPI schema's), naming the header."""
    detail = {
        "type": "idempotency_key_reused",
        "loc": ["header", "idempotency-key"],
        "msg": str(error),
        "input": request.headers.get("idempotency-key"),
    }
    return JSONResponse({"detail": [detail]}, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _not_storable(request: Request, error: Exception) -> Response:
    """A value the database refuses (a NUL in a text, a number out of range): the client's."""
    detail = [{"type": "value_error", "loc": ["body"], "msg": "a value the database cannot store"}]
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _database_unavailable(request: Request, error: Exception) -> Response:
    """The database is away (or locked past its timeout): the client retries later, with the
    same Idempotency-Key, so a commit whose answer was lost is not stored twice."""
    return JSONResponse(
        {"detail": "the database is unavailable; retry later with the same Idempotency-Key"},
        status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
    )


def _answer_with(code: int) -> Callable[[Request, Exception], Any]:
    async def answer(request: Request, error: Exception) -> Response:
        return JSONResponse({"detail": printable(str(error))}, code)

    return answer


# Health ---------------------------------------------------------------------------------------


def _health_routes() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "the database or broker is away"}})
    def readyz(services: ServicesDep) -> JSONResponse:
        """The database answers and the broker is reachable (503 otherwise)."""
        checks = {"database": _database_check(services), "broker": _broker_check(services)}
        ready = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ready else "unavailable", "checks": checks}
        return JSONResponse(body, status.HTTP_200_OK if ready else 503)

    return router


def _database_check(services: Services) -> str:
    try:
        with services.reads() as session:
            session.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:
        return f"unreachable: {type(error).__name__}"


def _broker_check(services: Services, timeout_s: float = 1.0) -> str:
    """A TCP connection to any bootstrap server: cheap, and enough to say it is reachable."""
    for server in filter(None, services.bootstrap_servers.split(",")):
        host, _, port = server.strip().rpartition(":")
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
            return "ok"
        except (OSError, ValueError):
            continue
    return "unreachable"


# Dispatch center ------------------------------------------------------------------------------


def _center_routes() -> APIRouter:
    router = APIRouter(tags=["dispatch center"])

    @router.post("/incidents", status_code=status.HTTP_202_ACCEPTED)
    def report_incident(
        report: IncidentReport,
        services: ServicesDep,
        caller: Dispatcher,
        response: Response,
        idempotency_key: Annotated[
            str | None,
            Header(
                min_length=1,
                max_length=200,
                pattern=r"^[\x21-\x7e]+$",
                description="a client retry with the same key gets the same id",
            ),
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
        """One incident: state, team, SLA clocks and timeline."""
        _check_own_task(services, incident_id, caller)
        with services.reads() as session:
            return board.incident_view(session, incident_id)

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
            return board.list_incidents(
                session,
                state=state,
                region=region,
                priority=priority,
                breached=breached,
                limit=limit,
                offset=offset,
            )

    @router.post("/incidents/{incident_id}/cancel")
    def cancel(
        incident_id: str, body: CancelRequest, services: ServicesDep, caller: Dispatcher
    ) -> board.IncidentView:
        """Cancel an incident (a false alarm, a call withdrawn), with the reason."""
        return lifecycle.cancel(services, incident_id, caller, body.reason)

    @router.post("/incidents/{incident_id}/priority")
    def change_priority(
        incident_id: str, body: PriorityChange, services: ServicesDep, caller: Dispatcher
    ) -> board.IncidentView:
        """Change the priority; running SLA clocks take the new target from the report time."""
        return lifecycle.change_priority(services, incident_id, caller, body.priority)

    @router.post("/incidents/{incident_id}/unlink")
    def unlink(incident_id: str, services: ServicesDep, caller: Dispatcher) -> board.IncidentView:
        """Unlink a report grouped as a duplicate: it is dispatched on its own."""
        return lifecycle.unlink_duplicate(services, incident_id, caller)

    @router.get("/sla/summary")
    def sla_summary(services: ServicesDep, caller: Reader) -> dict[str, Any]:
        """SLA clocks by kind and state, and compliance."""
        with services.reads() as session:
            return board.sla_summary(session, services.clock.now())

    @router.get("/queue")
    def queue(services: ServicesDep, caller: Reader) -> list[dict[str, Any]]:
        """Incidents waiting for a team, oldest first."""
        with services.reads() as session:
            return board.queue_view(session, services.clock.now())

    return router


# Teams ----------------------------------------------------------------------------------------


def _team_routes() -> APIRouter:
    router = APIRouter(tags=["teams"])

    @router.get("/teams/{team_id}", response_model=TeamProfile, responses={200: _HTML_TOO})
    def team_profile(
        team_id: str, services: ServicesDep, accept: Annotated[str, Header()] = ""
    ) -> Response | TeamProfile:
        """A team's public profile (what its QR code links to); no token needed."""
        profile = _profile(services, team_id)
        if "text/html" in accept:
            return HTMLResponse(_profile_html(profile))
        return profile

    @router.get("/teams/{team_id}/tasks")
    def team_tasks(
        team_id: str, services: ServicesDep, caller: CallerDep
    ) -> list[board.IncidentView]:
        """A team's open tasks (a team sees only its own)."""
        if caller.role is Role.TEAM and caller.team_id != team_id:
            raise Forbidden("a team sees only its own tasks")
        with services.reads() as session:
            if session.get(TeamRow, team_id) is None:
                raise NotFound(f"no team {team_id!r}")
            return board.team_tasks(session, team_id)

    @router.post("/tasks/{incident_id}/ack")
    def acknowledge(
        incident_id: str, services: ServicesDep, caller: TaskActor
    ) -> board.IncidentView:
        """The team takes the task."""
        _check_own_task(services, incident_id, caller)
        return lifecycle.acknowledge(services, incident_id, caller)

    @router.post("/tasks/{incident_id}/decline")
    def decline(
        incident_id: str,
        body: Annotated[DeclineRequest, Body()],
        services: ServicesDep,
        caller: TaskActor,
    ) -> board.IncidentView:
        """The team cannot take the task, and says why; it goes back for dispatch."""
        _check_own_task(services, incident_id, caller)
        return lifecycle.decline(services, incident_id, caller, body.reason)

    @router.post("/tasks/{incident_id}/en-route")
    def en_route(incident_id: str, services: ServicesDep, caller: TaskActor) -> board.IncidentView:
        """The team is on its way."""
        _check_own_task(services, incident_id, caller)
        return lifecycle.mark_en_route(services, incident_id, caller)

    @router.post("/tasks/{incident_id}/on-scene")
    def on_scene(incident_id: str, services: ServicesDep, caller: TaskActor) -> board.IncidentView:
        """The team has arrived."""
        _check_own_task(services, incident_id, caller)
        return lifecycle.mark_on_scene(services, incident_id, caller)

    @router.post("/tasks/{incident_id}/resolve")
    def resolve(
        incident_id: str,
        services: ServicesDep,
        caller: TaskActor,
        body: Annotated[ResolveRequest | None, Body()] = None,
    ) -> board.IncidentView:
        """The job is done, with notes."""
        _check_own_task(services, incident_id, caller)
        notes = body.notes if body is not None else ""
        return lifecycle.resolve(services, incident_id, caller, notes)

    return router


def _check_own_task(services: Services, incident_id: str, caller: Caller) -> None:
    """A team learns nothing of tasks that are not its own: they look like no task at all."""
    if caller.role is not Role.TEAM:
        return
    with services.reads() as session:
        team_id = session.scalar(select(IncidentRow.team_id).where(IncidentRow.id == incident_id))
    if team_id is None or team_id != caller.team_id:
        raise NotFound(f"team {caller.team_id} has no task {incident_id}")


_HTML_TOO = {"content": {"text/html": {}}, "description": "the profile, as JSON or as a page"}


def _profile(services: Services, team_id: str) -> TeamProfile:
    with services.reads() as session:
        row = session.get(TeamRow, team_id)
        if row is None:
            raise NotFound(f"no team {team_id!r}")
        team = row.to_team()
    division = DIVISION_BY_CODE.get(team.region)
    return TeamProfile(
        id=team.id,
        name=team.name,
        region=team.region,
        area=division.title if division else team.region,
        registration_code=registration_code(team),
        service_promise=SERVICE_PROMISE,
        members=team.members,
        party_members=team.party_members,
        skills=sorted(team.skills),
        reserve=team.reserve,
    )


def _profile_html(profile: TeamProfile) -> str:
    e = html.escape
    kind = "reserve squad" if profile.reserve else "service team"
    return f"""<!doctype html>
<html lang="zh"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(profile.name)}</title></head>
<body style="font-family: sans-serif; max-width: 36em; margin: 2em auto; padding: 0 1em">
<h1>{e(profile.name)}</h1>
<p>{e(profile.area)} · {profile.members} members ({profile.party_members} party members),
{kind}</p>
<p>Skills: {e(", ".join(profile.skills))}</p>
<p>Registration code: <strong>{e(profile.registration_code)}</strong></p>
<p><em>{e(profile.service_promise)}</em></p>
</body></html>
"""
