"""The long-running workers: the outbox relay thread, the dispatcher, the SLA watchdog, the
notifier and the weather-alert intake loops, each alone or side by side (the API runs them
with `everycall serve`)."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine
from types import FrameType, TracebackType
from typing import Any

from rich.console import Console

from dispatch import bootstrap
from dispatch.adapters.outbox import relay
from dispatch.config import Settings
from dispatch.entrypoints.alert_consumer import alerts_beside, alerts_loop
from dispatch.entrypoints.notifier import notifier_loop
from dispatch.service_layer.registry import list_teams, replace_registry
from dispatch.service_layer.services import Services
from models.hubei import hubei_registry

log = logging.getLogger("everycall.processes")
console = Console()

RELAY_MAX_BACKOFF_S = 5.0
STOP_POLL_S = 0.1


class OutboxRelay:
    """Publishes the outbox every `interval_s` from a daemon thread.

    A broker outage only delays publishing (with growing pauses between tries); requests that
    stage events never wait for Kafka.
    """

    def __init__(self, services: Services, interval_s: float | None = None) -> None:
        self._services = services
        self._interval_s = interval_s or services.settings.relay_interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.published = 0
        self.failures = 0  # consecutive failed tries; 0 once a try succeeds
        self.last_error: str | None = None

    def publish_pending(self) -> int:
        """One pass: publish what waits in the outbox (and the event log's new entries)."""
        return relay(self._services.sessions, self._services.publisher)

    def _run(self) -> None:
        delay = self._interval_s
        while not self._stop.wait(delay):
            try:
                self.published += self.publish_pending()
                self.failures, self.last_error, delay = 0, None, self._interval_s
            except Exception as error:  # the broker or the database is away: try again later
                self.failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                delay = min(self._interval_s * 2**self.failures, RELAY_MAX_BACKOFF_S)
                log.warning("outbox relay failed (%s); next try in %.1fs", self.last_error, delay)

    def start(self) -> OutboxRelay:
        self._thread = threading.Thread(
            target=self._run, name="everycall-outbox-relay", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop after the current pass; a pass stuck on a dead broker is left to die with us."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def __enter__(self) -> OutboxRelay:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# The loops ------------------------------------------------------------------------------------


async def sleep_unless_stopped(stop: Callable[[], bool], seconds: float) -> None:
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    while not stop() and loop.time() < until:
        await asyncio.sleep(min(STOP_POLL_S, max(0.0, until - loop.time())))


async def watchdog_loop(services: Services, stop: Callable[[], bool]) -> None:
    """Run the SLA watchdog flow every `watchdog_interval_s` until `stop()`; a failed run is
    logged and the next one comes on time (deadlines are stored, so nothing is lost)."""
    from flows.watchdog import run_sla_watchdog  # Prefect loads only when a worker starts

    while not stop():
        try:
            await run_sla_watchdog(services)
        except Exception:
            log.exception("SLA watchdog run failed; retrying on the next tick")
        await sleep_unless_stopped(stop, services.settings.watchdog_interval_s)


async def finished_unless_stopped(work: Awaitable[None], stop: Callable[[], bool]) -> bool:
    """Await `work`, but give it up when `stop()` turns true (Prefect's start can take long)."""
    task = asyncio.ensure_future(work)
    while not task.done():
        if stop():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            return False
        await asyncio.wait({task}, timeout=STOP_POLL_S)
    task.result()
    return True


def seed_registry_if_empty(services: Services) -> int:
    """The embedded default starts with the Hubei registry, so a first report finds a team."""
    with services.sessions.begin() as session:
        if list_teams(session):
            return 0
        return replace_registry(session, hubei_registry(), services.clock.now())


# Running them ---------------------------------------------------------------------------------


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C, so the `with` blocks stop the embedded broker and close."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_interrupt)


class Workers:
    """The dispatcher, the watchdog and the notifier, each on an event loop in a thread of its
    own, so a long routing batch never holds back a deadline or a crew's notification."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._stop = threading.Event()
        self._prefect_up = threading.Event()  # the watchdog waits: Prefect is started once
        self._threads = [
            threading.Thread(
                target=self._guard, args=(self._dispatch,), name="everycall-dispatcher"
            ),
            threading.Thread(target=self._guard, args=(self._watch,), name="everycall-watchdog"),
            threading.Thread(target=self._guard, args=(self._notify,), name="everycall-notifier"),
            threading.Thread(target=self._guard, args=(self._alerts,), name="everycall-alerts"),
        ]
        self.failure: BaseException | None = None

    def start(self) -> Workers:
        for thread in self._threads:
            thread.daemon = True
            thread.start()
        return self

    def _guard(self, loop: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            asyncio.run(loop())
        except Exception as error:
            self.failure = error
            log.exception("the dispatcher or the watchdog stopped; stopping everycall serve")
            signal.raise_signal(signal.SIGTERM)  # uvicorn shuts down as for an operator's stop

    async def _dispatch(self) -> None:
        from flows.dispatcher import prefect_ready, run_dispatcher  # Prefect loads here

        if await finished_unless_stopped(prefect_ready(), self._stop.is_set):
            self._prefect_up.set()
            await run_dispatcher(self._services, stop=self._stop.is_set)

    async def _watch(self) -> None:
        while not self._prefect_up.is_set():
            if self._stop.is_set():
                return
            await asyncio.sleep(STOP_POLL_S)
        await watchdog_loop(self._services, self._stop.is_set)

    async def _notify(self) -> None:
        await notifier_loop(self._services, self._stop.is_set)

    async def _alerts(self) -> None:
        await alerts_loop(self._services, self._stop.is_set)

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout_s)


def run_dispatcher_alone(settings: Settings) -> None:
    from flows.dispatcher import run_dispatcher  # Prefect loads only when routing starts

    stop_on_sigterm()
    with bootstrap.running(settings) as services, alerts_beside(services):
        console.print(f"dispatcher consuming from {services.bootstrap_servers}")
        asyncio.run(run_dispatcher(services, stop=lambda: False))


def run_watchdog_alone(settings: Settings) -> None:
    stop_on_sigterm()
    with bootstrap.running(settings) as services:  # each flow run publishes what it staged
        console.print(f"SLA watchdog every {settings.watchdog_interval_s}s")
        asyncio.run(watchdog_loop(services, stop=lambda: False))


def run_notifier_alone(settings: Settings) -> None:
    """The notifier alone; what it logs reaches Kafka through a running API's outbox relay."""
    stop_on_sigterm()
    with bootstrap.database(settings) as services:
        console.print("notifier following the event log")
        asyncio.run(notifier_loop(services, stop=lambda: False))
