"""Health routes: the process is up, the database and the broker answer, Prometheus metrics.
No token: probes and scrapers carry none."""

from __future__ import annotations

import socket

from fastapi import APIRouter, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text

from dispatch.adapters.metrics import ScrapeRegistry
from dispatch.entrypoints.api.deps import ServicesDep
from dispatch.service_layer.services import Services


def router() -> APIRouter:
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

    @router.get("/metrics", response_class=Response)
    def metrics(request: Request) -> Response:
        """Prometheus metrics: incidents, queue, latency, lag, dead letters, SLA breaches."""
        state = request.app.state
        scrape: ScrapeRegistry | None = getattr(state, "scrape", None)
        if scrape is None or scrape.services is not state.services:
            scrape = state.scrape = ScrapeRegistry(state.services)
        return Response(scrape.exposition(), media_type=CONTENT_TYPE_LATEST)

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
