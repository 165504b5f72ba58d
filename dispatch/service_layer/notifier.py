"""The notifier: follows the event log from its stored cursor and tells crews and supervisors
of what concerns them (team.assigned, sla.warning, task.reassigned, incident.escalated)
through the channels behind the NotificationChannel port (channels.py).

Deliveries of one lane (one channel and recipient) go one after another, in the log's order,
retries included, so a phone never reads "withdrawn" before "new task"; lanes run side by
side. Every attempt is logged before it is made and its outcome after (notify_record.py), in
transactions that gather what all lanes did while the one before ran.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

from dispatch.adapters.notify_config import NotifyConfig
from dispatch.service_layer.channels import NotificationChannel
from dispatch.service_layer.notify_plan import Job
from dispatch.service_layer.notify_record import (
    Finished,
    cursor_and_head,
    record_progress,
    resume,
    take_events,
)
from dispatch.service_layer.services import Services
from models.notice import Outcome

log = logging.getLogger("everycall.notifier")

RECORD_RETRY_S = 1.0  # the database was away: the attempts wait, none is made unlogged
LOG_AHEAD = 32  # first attempts a busy lane logs as sent in one go (_log_ahead)
STOP_POLL_S = 0.1


@dataclass
class NotifierStats:
    """What the notifier did since it started, and where it is in the log."""

    sent: int = 0
    delivered: int = 0
    failed: int = 0
    dropped: int = 0
    cursor: int = 0


class Notifier:
    """One follower of the log; run it with `await run(stop)`."""

    def __init__(
        self,
        services: Services,
        config: NotifyConfig,
        channels: Mapping[str, NotificationChannel],
        *,
        batch: int = 1000,
        concurrency: int = 64,
    ) -> None:
        self._services, self._config, self._channels = services, config, channels
        self._batch = batch
        self._slots = asyncio.Semaphore(concurrency)
        self._lanes: dict[str, deque[Job]] = {}
        self._lane_tasks: dict[str, asyncio.Task[None]] = {}
        self._sending: list[tuple[Job, asyncio.Future[bool]]] = []
        self._finished: list[tuple[Finished, asyncio.Future[bool] | None]] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._leaving: set[str] = set()  # first attempts logged as sent when they were taken
        self._gone: set[str] = set()  # deliveries logged ahead whose recipient had gone
        self.stats = NotifierStats()

    async def run(self, stop: Callable[[], bool]) -> None:
        """Until `stop()`: attempts under way are finished and logged, queued ones are left
        for the next start."""
        for job in await asyncio.to_thread(resume, self._services, self._config):
            self._enqueue(job)
        recorder = asyncio.create_task(self._record_until_stopped())
        try:
            while not stop():
                if not await self._take():
                    await self._pause(self._services.settings.notifier_poll_s, stop)
        finally:
            self._stopping = True
            self._wake.set()
            await asyncio.gather(*self._lane_tasks.values(), return_exceptions=True)
            self._wake.set()  # the lanes' last outcomes, then the recorder ends
            await recorder

    # --- the log ------------------------------------------------------------------------------

    async def _take(self) -> bool:
        """Take the next events; True when more wait already."""
        try:
            cursor, head = await asyncio.to_thread(cursor_and_head, self._services)
            if head <= cursor:
                self.stats.cursor = cursor
                return False
            busy = frozenset(self._lanes)
            taken = await asyncio.to_thread(
                take_events, self._services, self._config, self._batch, busy
            )
        except Exception:  # the database is away: the cursor stays, nothing is lost
            log.exception("the notifier could not read the log; trying again")
            await asyncio.sleep(RECORD_RETRY_S)
            return False
        self.stats.cursor = taken.cursor
        self._leaving |= taken.leaving
        for job in taken.jobs:
            self._enqueue(job)
        return taken.more

    async def _pause(self, seconds: float, stop: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        until = loop.time() + seconds
        while not stop() and loop.time() < until:
            await asyncio.sleep(min(STOP_POLL_S, max(0.0, until - loop.time())))

    # --- lanes ----------------------------------------------------------------------------------

    def _enqueue(self, job: Job) -> None:
        self._lanes.setdefault(job.lane, deque()).append(job)
        if job.lane not in self._lane_tasks:
            self._lane_tasks[job.lane] = asyncio.create_task(self._run_lane(job.lane))

    async def _run_lane(self, lane: str) -> None:
        queue = self._lanes[lane]
        try:
            # stopping, a lane still makes the attempt logged as leaving when it was taken
            while queue and (not self._stopping or queue[0].delivery.delivery_id in self._leaving):
                await self._log_ahead(queue)
                await self._deliver(queue[0])
                queue.popleft()
        except Exception:
            log.exception("lane %s stopped; its deliveries resume at the next start", lane)
        finally:
            del self._lane_tasks[lane]
            if not queue:
                del self._lanes[lane]

    async def _log_ahead(self, queue: deque[Job]) -> None:
        """A lane with several deliveries waiting logs their first attempts as sent in one
        transaction rather than one each, so it moves at the pace of its channel instead of a
        database round trip per delivery: the recipient nearest a storm's centre gets a
        hundred tasks a second in bench/notify.py. Each attempt is still logged before it is
        made; one logged and not made when the process stops is made at the next start, as
        for a single one. A recipient gone when they are logged gets none of them."""
        ahead = [
            job
            for job in islice(queue, LOG_AHEAD)
            if job.not_before is None and job.delivery.delivery_id not in self._leaving
        ]
        if len(ahead) < 2 or self._stopping:
            return
        cleared = await asyncio.gather(*(self._submit(job) for job in ahead))
        for job, go in zip(ahead, cleared, strict=True):
            (self._leaving if go else self._gone).add(job.delivery.delivery_id)

    async def _deliver(self, job: Job) -> None:
        """Every attempt of one delivery, each logged as sent (and committed) first."""
        if job.delivery.delivery_id in self._gone:  # dropped when it was logged ahead
            self._gone.discard(job.delivery.delivery_id)
            self.stats.dropped += 1
            return
        while True:
            logged = job.delivery.delivery_id in self._leaving
            self._leaving.discard(job.delivery.delivery_id)
            if not logged:
                if not await self._wait_until_due(job):
                    return
                if not await self._submit(job):
                    self.stats.dropped += 1
                    return
            outcome = await self._attempt(job)
            last = outcome.delivered or not outcome.retry
            if last or job.delivery.attempt >= job.max_attempts:
                self._count(outcome)
                self._finish(Finished(job, outcome))
                return
            retry = job.retried(self._services.clock.now() + self._backoff(job.delivery.attempt))
            self.stats.failed += 1
            await self._finish_and_wait(Finished(job, outcome, retry))
            job = retry

    async def _attempt(self, job: Job) -> Outcome:
        channel = self._channels.get(job.delivery.channel)
        if channel is None:
            return Outcome(False, f"channel {job.delivery.channel} is no longer configured")
        async with self._slots:
            self.stats.sent += 1
            return await channel.send(job.delivery)

    def _backoff(self, attempt: int) -> timedelta:
        seconds = self._config.retry_base_s * 2 ** (attempt - 1)
        return timedelta(seconds=min(seconds, self._config.retry_max_s))

    async def _wait_until_due(self, job: Job) -> bool:
        """False when the notifier stops first (the delivery waits in the database)."""
        if job.not_before is None:
            return not self._stopping
        loop = asyncio.get_running_loop()
        wait = (job.not_before - self._services.clock.now()).total_seconds()
        until = loop.time() + wait
        while not self._stopping and loop.time() < until:
            await asyncio.sleep(min(STOP_POLL_S, until - loop.time()))
        return not self._stopping

    def _count(self, outcome: Outcome) -> None:
        if outcome.delivered:
            self.stats.delivered += 1
        else:
            self.stats.failed += 1

    # --- the recorder ---------------------------------------------------------------------------

    async def _submit(self, job: Job) -> bool:
        """Log the attempt as sent; True once committed, False if the recipient is gone."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._sending.append((job, future))
        self._wake.set()
        return await future

    def _finish(self, finished: Finished) -> None:
        self._finished.append((finished, None))
        self._wake.set()

    async def _finish_and_wait(self, finished: Finished) -> None:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._finished.append((finished, future))
        self._wake.set()
        await future

    async def _record_until_stopped(self) -> None:
        # The state is looked at on every turn, never only after a wake-up: one that came
        # while a transaction ran must not be the last one heard.
        while True:
            if self._sending or self._finished:
                # What lanes did while the last transaction ran goes in the next one at once:
                # a lane waits for the record of each attempt, so a fixed gathering wait (it
                # was 20 ms) capped a busy recipient's lane at about 30 deliveries a second,
                # and at 500 assignments/s offered made the p99 from assignment to push 18 s
                # against 8.6 s without it (bench/notify.py, PostgreSQL).
                await asyncio.sleep(0)
                self._wake.clear()
                await self._record()
            elif self._stopping and not self._lane_tasks:
                return
            else:
                await self._wake.wait()
                self._wake.clear()

    async def _record(self) -> None:
        sending, self._sending = self._sending, []
        finished, self._finished = self._finished, []
        try:
            cleared = await asyncio.to_thread(
                record_progress,
                self._services,
                [job for job, _ in sending],
                [f for f, _ in finished],
            )
        except Exception:
            if self._stopping:  # the attempts not logged are not made; the next start resumes
                log.exception("stopping with the notifier's last attempts unlogged")
                self._settle(sending, finished, set())
                return
            log.exception("could not log the notifier's attempts; trying again")
            self._sending[:0], self._finished[:0] = sending, finished
            await asyncio.sleep(RECORD_RETRY_S)
            self._wake.set()
            return
        self._settle(sending, finished, cleared)

    def _settle(
        self,
        sending: list[tuple[Job, asyncio.Future[bool]]],
        finished: list[tuple[Finished, asyncio.Future[bool] | None]],
        cleared: set[str],
    ) -> None:
        for job, future in sending:
            future.set_result(job.delivery.delivery_id in cleared)
        for _, waiting in finished:
            if waiting is not None:
                waiting.set_result(True)
