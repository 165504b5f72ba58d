"""The API served by a real uvicorn server in a thread of the test process, on a free port:
for tests that need real HTTP (streams, raw bytes, a browser) but the test's own services."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import uvicorn

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.services import Services
from events.broker import free_port


@contextmanager
def api_in_a_thread(services: Services, log_level: str = "warning") -> Iterator[str]:
    """Yields the base URL once the server listens; stops it after."""
    port = free_port()
    app = create_app(lambda: nullcontext(services), run_relay=False)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
