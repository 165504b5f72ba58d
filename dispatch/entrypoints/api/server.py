"""Serving the API: alone (with its outbox relay), or with the dispatcher and the watchdog
beside it on one set of services (`everycall serve`)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import nullcontext

import uvicorn
from fastapi import FastAPI

from dispatch import bootstrap
from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.entrypoints.api.stream import close_streams
from dispatch.entrypoints.workers import Workers, console, seed_registry_if_empty, stop_on_sigterm
from dispatch.service_layer.services import Services

# Requests in flight get this long to finish at shutdown. The boards' live streams are ended
# as it begins (they never finish by themselves): a browser reconnects, to another process or
# after the restart, with Last-Event-ID and misses nothing.
GRACE_S = 5


def run_api(
    app: FastAPI, host: str, port: int, on_started: Callable[[], None] | None = None
) -> None:
    """Serve `app` until SIGINT/SIGTERM; uvicorn shuts the app down gracefully first."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=GRACE_S
    )
    server = StreamsEndFirst(config, app)
    if on_started is not None:
        threading.Thread(target=_when_started, args=(server, on_started), daemon=True).start()
    server.run()


class StreamsEndFirst(uvicorn.Server):
    """uvicorn's server, ending the live streams before it waits for the requests in flight:
    with a board open, every stop waited out the whole grace period."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await close_streams(self._app)
        await super().shutdown(sockets)


def _when_started(server: object, then: Callable[[], None]) -> None:
    while not getattr(server, "started", False) and not getattr(server, "should_exit", False):
        threading.Event().wait(0.05)
    if getattr(server, "started", False):
        then()


def run_serve(settings: Settings, host: str, port: int, seed: bool = True) -> int:
    """API, outbox relay, dispatcher and watchdog in one process, on one set of services.

    Returns the exit code: 0 after an operator's stop, 1 when the dispatcher or watchdog died.
    """
    stop_on_sigterm()
    with bootstrap.running(settings) as services:
        if seed and (seeded := seed_registry_if_empty(services)):
            console.print(f"seeded the registry with {seeded} Hubei teams")
        workers = Workers(services).start()
        try:
            run_api(
                create_app(lambda: nullcontext(services)),
                host,
                port,
                on_started=lambda: _announce(host, port, services),
            )
        except KeyboardInterrupt:
            pass  # SIGINT or SIGTERM: the API has shut down gracefully; now the rest
        finally:
            workers.stop()
    if workers.failure is not None:
        console.print(f"[red]stopped: the dispatcher or watchdog failed:[/red] {workers.failure!r}")
        return 1
    console.print("everycall stopped")
    return 0


def _announce(host: str, port: int, services: Services) -> None:
    console.print(
        f"everycall serving on http://{host}:{port} (docs at /docs); "
        f"broker {services.bootstrap_servers}; database {services.engine.url.render_as_string()}"
    )


def app_from_environment() -> FastAPI:
    """The API alone, for `uvicorn --factory dispatch.entrypoints.api.server:app_from_environment
    --workers N`: each worker reads the settings and wires services of its own (set
    KAFKA_BOOTSTRAP_SERVERS: an embedded broker would be one per worker)."""
    return create_app(lambda: bootstrap.running(bootstrap.read_settings()))


def run_api_alone(settings: Settings, host: str, port: int) -> None:
    stop_on_sigterm()
    run_api(
        create_app(lambda: bootstrap.running(settings)),
        host,
        port,
        on_started=lambda: console.print(f"everycall api on http://{host}:{port}"),
    )
