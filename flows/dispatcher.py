"""The dispatcher loop: poll micro-batches, route them in flow runs (one run for the batches of
up to about a second), and commit each batch's offsets after its database commit."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

from kafka.errors import CommitFailedError, KafkaError
from sqlalchemy import func, select
from sqlalchemy.exc import InterfaceError, OperationalError

from dispatch.adapters.metrics import process_metrics, serve_process_metrics
from dispatch.adapters.orm import IncidentRow, TeamRow
from dispatch.faults import FaultPoints, wait_at_start_gate
from dispatch.service_layer.routing import BatchOutcome
from dispatch.service_layer.services import Services
from dispatch.service_layer.team_pool import warm_routing
from dispatch.service_layer.watchdog import watchdog_has_work
from events import topics
from events.kafka import KafkaBatchConsumer, Record
from flows.routing import INBOX, route_incident_batches
from flows.watchdog import run_sla_watchdog
from models.incident import IncidentState
from models.team import TeamStatus

log = logging.getLogger("everycall.dispatcher")

RETRY_DELAYS_S = (0.5, 1, 2, 5, 10)
# The broker or the database is away: retried for as long as it lasts (the batch waits in Kafka).
OUTAGES: tuple[type[Exception], ...] = (KafkaError, OperationalError, InterfaceError)
# One flow run routes the batches polled for at most this long, and no longer than until the
# SLA watchdog is due (it runs between flow runs). Each new run pauses routing for its API
# round trips (~0.1 s): at 1 s, a tenth of the incidents at 500/s offered waited for one.
WINDOW_S = 5.0


async def run_dispatcher(
    services: Services,
    *,
    stop: Callable[[], bool],
    on_batch: Callable[[BatchOutcome], None] | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Route until `stop()` says so. Offsets are committed only after the batch's commit.

    `ready` is set once Prefect answers and the consumer has joined its group.
    """
    async with prefect_clients():
        await _dispatch(services, stop, on_batch, ready)


async def _dispatch(
    services: Services,
    stop: Callable[[], bool],
    on_batch: Callable[[BatchOutcome], None] | None,
    ready: asyncio.Event | None,
) -> None:
    settings = services.settings
    # Both before joining the group: a slow first batch must not outlast max_poll_interval.
    await prefect_ready()
    warm_routing(services)
    settle_heap()
    wait_at_start_gate(settings)  # inert unless a fault test keeps this process on standby
    consumer = KafkaBatchConsumer(
        services.bootstrap_servers,
        [topics.INCIDENTS],
        settings.consumer_group,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        session_timeout_ms=settings.consumer_session_timeout_ms,
    )
    idle_queue: tuple[int, int] | None = None
    watchdog_due = 0.0
    if settings.metrics_port is not None:
        serve_process_metrics(services, settings.metrics_port)
    sizer = BatchSizer(settings.batch_max_records, settings.max_poll_interval_ms / 1000)
    loop = DispatchLoop(services, consumer, sizer, FaultPoints(settings), stop, on_batch)
    try:
        while not stop():
            watchdog_due = await _watchdog_between_batches(services, watchdog_due)
            records = await loop.poll()
            if ready is not None:
                ready.set()  # the first poll has joined the consumer group
            if not records:
                # Only an idle pass that could assign something is worth a flow run.
                queue = _queue_state_if_reachable(services)
                if queue is None or queue == idle_queue:
                    await asyncio.sleep(0)
                    continue
                idle_queue = queue
            until = min(time.monotonic() + WINDOW_S, watchdog_due)
            await _route_with_retries(BatchWindow(loop, records, until))
    finally:
        consumer.close()


def settle_heap() -> None:
    """Move what start-up built (Prefect, SQLAlchemy, the registry, the grid) out of the
    garbage collector's sight: a full collection scanned it all, a ~200 ms pause every ten
    seconds or so in a storm, the largest part of the p99 latency at 500/s offered."""
    gc.collect()
    gc.freeze()


@dataclass
class DispatchLoop:
    """What the loop and its flow runs share: the consumer, the batch cap, the fault points."""

    services: Services
    consumer: KafkaBatchConsumer
    sizer: BatchSizer
    faults: FaultPoints
    stop: Callable[[], bool]
    on_batch: Callable[[BatchOutcome], None] | None

    async def poll(self) -> list[Record]:
        return await _poll(self.consumer, self.services.settings.batch_wait_ms, self.sizer.limit)

    def batch_done(self, records: list[Record], outcome: BatchOutcome, seconds: float) -> None:
        """The batch is committed to the database and announced: now its offsets."""
        self.sizer.record(len(records), seconds)
        if records:
            self.faults.after_db_commit()  # inert unless a fault test asks for a crash here
        _commit(self.consumer, records)
        process_metrics().observe_batch(outcome)
        if self.on_batch is not None:
            self.on_batch(outcome)


class BatchWindow:
    """The batches of one flow run: the first polled, then each next poll's while they keep
    coming, until `until` (an empty first batch is the idle pass: the queue alone)."""

    def __init__(self, loop: DispatchLoop, first: list[Record], until: float) -> None:
        self.loop, self.first, self.current, self.until = loop, first, first, until

    @property
    def services(self) -> Services:
        return self.loop.services

    async def next(self) -> list[Record] | None:
        if not self.first or self.loop.stop() or time.monotonic() >= self.until:
            return None
        records = await self.loop.poll()
        if not records:
            return None  # quiet: back to the loop (watchdog, idle pass)
        self.current = records
        return records

    def done(self, records: list[Record], outcome: BatchOutcome, seconds: float) -> None:
        self.loop.batch_done(records, outcome, seconds)


async def _watchdog_between_batches(services: Services, due: float) -> float:
    """Run the SLA watchdog flow when its interval has passed and a clock or a wait is due,
    so a missed deadline is acted on within seconds even with no watchdog process; returns
    when it is next due. (A flow run when nothing is due cost a storm ~7 %.)"""
    if time.monotonic() < due:
        return due
    try:
        if watchdog_has_work(services):
            await run_sla_watchdog(services)
    except Exception:  # deadlines are stored: the next run acts on what this one missed
        log.exception("SLA watchdog run failed; retrying at the next interval")
    return time.monotonic() + services.settings.watchdog_interval_s


@contextlib.asynccontextmanager
async def prefect_clients() -> AsyncIterator[None]:
    """One Prefect client pair for every flow run of the loop. Without it each flow run builds
    its own (an httpx client with a fresh SSL context and CA bundle): measured as about 60% of
    the CPU time of an empty flow run."""
    from prefect.context import AsyncClientContext, SyncClientContext

    with SyncClientContext.get_or_create(), prefect_run_settings():
        async with AsyncClientContext.get_or_create():
            yield


@contextlib.contextmanager
def prefect_run_settings() -> Iterator[None]:
    """Settings for a loop of short flow runs, in force inside the block.

    No heartbeat: each flow run would start a thread that emits an event at once (a Prefect
    server's work too) to detect crashed runs; a batch's run lasts about a second and the
    dispatcher retries a failed batch itself. (An environment variable cannot say "none".)
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


class BatchSizer:
    """How many records to take next: as many as the recent batches handled in a target time.

    A batch that outlasts the consumer's poll interval gets the dispatcher evicted from its
    group and the batch redelivered (routed twice, the second time as duplicates), so when
    batches run slow (a loaded machine, a long queue) the cap shrinks; when they run fast it
    grows back up to `cap`.
    """

    def __init__(self, cap: int, poll_interval_s: float, floor: int = 50) -> None:
        self.cap, self.floor = cap, min(floor, cap)
        self.limit = min(cap, 4 * self.floor)  # the first batch is taken before any measure
        self.target_s = min(2.0, poll_interval_s / 4)
        self._per_record_s: float | None = None

    def record(self, records: int, seconds: float) -> None:
        if records < self.floor:
            return  # too few to say much about the cost of one record
        last = seconds / records
        seen = self._per_record_s
        self._per_record_s = last if seen is None else (seen + last) / 2
        self.limit = max(self.floor, min(self.cap, int(self.target_s / self._per_record_s)))


async def prefect_ready() -> None:
    """Start Prefect's temporary server now (when no PREFECT_API_URL is set) and check it."""
    from prefect.client.orchestration import get_client

    async with get_client() as client:
        await client.api_healthcheck()


def _commit(consumer: KafkaBatchConsumer, records: list[Record]) -> None:
    """A failed commit is safe to skip: the records come again and are deduplicated."""
    try:
        consumer.commit(records)
    except CommitFailedError:
        log.warning(
            "offset commit refused after a rebalance; %d records will be redelivered", len(records)
        )
    except KafkaError as error:
        log.warning(
            "offset commit failed (%s); %d records will be redelivered", error, len(records)
        )


async def _poll(consumer: KafkaBatchConsumer, wait_ms: int, max_records: int) -> list[Record]:
    """A batch, or nothing while the broker is away (the client reconnects by itself)."""
    try:
        return consumer.poll_batch(wait_ms, max_records)
    except KafkaError as error:
        log.warning("polling failed (%s); trying again in 1s", error)
        await asyncio.sleep(1)
        return []


def _queue_state_if_reachable(services: Services) -> tuple[int, int] | None:
    try:
        return queue_state(services)
    except OUTAGES as error:
        log.warning("queue check failed (%s); the database may be away", error)
        return None


async def _route_with_retries(window: BatchWindow) -> None:
    """A failed batch is retried as is; its offsets stay uncommitted until it succeeds (the
    window's earlier batches are committed already).

    An outage (broker or database away) is waited out, however long; any other error is
    retried a few times, then raised. A retry after a commit is harmless: duplicates are dropped.
    """
    failures = 0
    while True:
        try:
            await route_incident_batches(INBOX.put(window))
            return
        except OUTAGES as error:
            delay = RETRY_DELAYS_S[min(failures, len(RETRY_DELAYS_S) - 1)]
            log.warning(
                "batch of %d waits for %s; retrying in %ss", len(window.current), error, delay
            )
        except Exception:
            if failures >= len(RETRY_DELAYS_S):
                raise
            delay = RETRY_DELAYS_S[failures]
            log.exception(
                "routing a batch of %d failed; retrying in %ss", len(window.current), delay
            )
        failures += 1
        await asyncio.sleep(delay)
        window = BatchWindow(window.loop, window.current, window.until)


def queue_state(services: Services) -> tuple[int, int] | None:
    """(waiting incidents, spare team capacity), or None when nothing could be assigned."""
    with services.reads() as session:
        waiting = session.scalar(
            select(func.count()).where(IncidentRow.state == IncidentState.QUEUED.value)
        )
        if not waiting:
            return None
        spare = session.scalar(
            select(func.coalesce(func.sum(TeamRow.capacity - TeamRow.active_tasks), 0)).where(
                (TeamRow.status == TeamStatus.AVAILABLE.value)
                & (TeamRow.active_tasks < TeamRow.capacity)
            )
        )
        return (int(waiting), int(spare or 0)) if spare else None
