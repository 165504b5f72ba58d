"""The HTTP API of the dispatch center and the teams (FastAPI; OpenAPI docs at /docs).

Routes only read through dispatch.views and act through the service layer; nothing in a
request talks to Kafka (the outbox relay does).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI

from dispatch.adapters.ratelimit import Limits, RateLimit
from dispatch.config import Settings
from dispatch.entrypoints.api import (
    alerts,
    audit,
    health,
    households,
    incidents,
    locations,
    notifications,
    open_board,
    places,
    profiles,
    reports,
    roster,
    sessions,
    stream,
    tasks,
    teams_board,
)
from dispatch.entrypoints.api.errors import add_error_handlers
from dispatch.entrypoints.api.middleware import (
    BodySizeLimit,
    NoNulInUrl,
    OneValuePerQueryName,
    StrictJsonBody,
)
from dispatch.entrypoints.api.web import add_api_docs, mount_web_app
from dispatch.entrypoints.workers import OutboxRelay
from dispatch.service_layer.services import Services

ServicesFactory = Callable[[], AbstractContextManager[Services]]

# What any route may answer besides its own results, so the OpenAPI schema tells clients.
_LIMITED: dict[int | str, dict[str, Any]] = {
    400: {"description": "a body that cannot be parsed, or a NUL or lone surrogate in the URL"},
    413: {"description": "request body over the size limit"},
    429: {"description": "rate limit of the token reached; see Retry-After"},
    503: {"description": "the database is away; retry later (see Retry-After)"},
}
_GUARDED: dict[int | str, dict[str, Any]] = {
    **_LIMITED,
    401: {"description": "no token or session, or an unknown, revoked or ended one"},
    403: {"description": "the caller's role may not do this, or a change lacks the CSRF token"},
    404: {"description": "no such incident or team (or not one of the calling team's tasks)"},
    409: {"description": "not allowed in the incident's current state"},
}


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
                tail = getattr(app.state, "log_tail", None)
                if tail is not None:
                    await tail.stop()
                if relay is not None:
                    relay.stop()

    app = FastAPI(
        title="everycall",
        summary="Every call answered, every difficulty helped: dispatch for Hubei's service teams.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # add_api_docs serves it from everycall's own files
        redoc_url=None,
    )
    app.add_middleware(StrictJsonBody)
    app.add_middleware(
        BodySizeLimit, limit=lambda: app.state.services.settings.api_body_limit_bytes
    )
    app.add_middleware(
        RateLimit,
        limits=lambda: _rate_limits(app.state.services.settings),
        store=lambda: app.state.services.rate_buckets,
    )
    app.add_middleware(OneValuePerQueryName)
    app.add_middleware(NoNulInUrl)
    add_error_handlers(app)
    app.include_router(health.router(), responses=_LIMITED)
    app.include_router(sessions.router(), responses=_LIMITED)
    # places before incidents: its /incidents/nearby is not an /incidents/{incident_id}
    routers = (
        alerts,
        audit,
        households,
        places,
        incidents,
        locations,
        notifications,
        open_board,
        profiles,
        reports,
        roster,
        stream,
        tasks,
        teams_board,
    )
    for router in (module.router() for module in routers):
        app.include_router(router, responses=_GUARDED)
    add_api_docs(app)
    mount_web_app(app)
    return app


def _rate_limits(settings: Settings) -> Limits:
    return Limits(settings.api_rate_per_s, settings.api_rate_burst)
