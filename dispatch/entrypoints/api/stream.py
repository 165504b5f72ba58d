"""The live stream of the board: `GET /events/stream`, Server-Sent Events, one per logged event
(`id` is its sequence number, `event` its type, `data` its envelope). A browser that lost the
connection reconnects with `Last-Event-ID` and gets every event it missed, in order, then the
live ones: nothing is skipped and the page never reloads.

One tail per process reads the log for every open board (a query every `POLL_S`, not one per
board), and keeps the newest events in memory for the boards that are up to date. A team
member's phone listens too, and hears only its team's events (views/team_events.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from bisect import bisect_right
from collections.abc import AsyncIterator
from operator import attrgetter
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from dispatch.entrypoints.api.deps import ServicesDep, require
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.services import Services
from dispatch.views.log_tail import Logged, events_after, last_seq
from dispatch.views.team_events import TeamEvents, held_incidents

POLL_S = 0.2
KEEPALIVE_S = 15.0
# the board's readers, and team members for their own team's events
_LISTENERS = require(Role.DISPATCHER, Role.AUDITOR, Role.ADMIN, Role.TEAM)
KEPT = 20_000  # newest events held for the boards that are up to date
CATCH_UP = 1000  # events read per query by a board that is behind


class LogTail:
    """The log's newest events, shared by every stream of one process."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._kept: list[Logged] = []
        self._floor = -1  # every event after this one is in `_kept` (-1: not read yet)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self.closed = False  # the process is shutting down: every stream ends

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._follow())

    async def close(self) -> None:
        """End every stream now, waiting ones included (the server is shutting down)."""
        self.closed = True
        async with self._changed:
            self._changed.notify_all()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _follow(self) -> None:
        seq = await run_in_threadpool(self._read_last)
        self._floor = seq
        while True:
            await asyncio.sleep(POLL_S)
            new = await run_in_threadpool(self._read, seq)
            if not new:
                continue
            self._kept.extend(new)
            seq = new[-1].seq
            if len(self._kept) > 2 * KEPT:  # forget the older half at once, not one by one
                del self._kept[:-KEPT]
                self._floor = self._kept[0].seq - 1
            async with self._changed:
                self._changed.notify_all()

    def _read(self, seq: int) -> list[Logged]:
        with self._services.reads() as session:
            return events_after(session, seq, CATCH_UP)

    def _read_last(self) -> int:
        with self._services.reads() as session:
            return last_seq(session)

    def _in_memory(self, seq: int) -> list[Logged] | None:
        """The kept events after `seq`; None when some of them are no longer (or not yet)
        kept."""
        if self._floor < 0 or seq < self._floor:
            return None
        return self._kept[bisect_right(self._kept, seq, key=attrgetter("seq")) :]

    async def after(self, seq: int) -> list[Logged]:
        """The events after `seq`, waiting up to KEEPALIVE_S for one (empty: none came)."""
        for waited in (False, True):
            if self.closed:
                return []
            found = self._in_memory(seq)
            if found is None:  # a board behind what is kept reads the log itself
                found = await run_in_threadpool(self._read, seq)
            if found or waited:
                return found
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), KEEPALIVE_S)
        return []

    async def head(self) -> int:
        """The newest event's sequence number: where a board without a resume point starts."""
        return await run_in_threadpool(self._read_last)


def _frame(event: Logged) -> str:
    return f"id: {event.seq}\nevent: {event.type}\ndata: {event.envelope}\n\n"


def router() -> APIRouter:
    router = APIRouter(tags=["board"])

    @router.get(
        "/events/stream",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def stream(
        request: Request,
        services: ServicesDep,
        caller: Annotated[Caller, Depends(_LISTENERS)],
        after: Annotated[int | None, Query(ge=0, description="the last event seen")] = None,
        last_event_id: Annotated[str | None, Header()] = None,
    ) -> StreamingResponse:
        """Every logged event from the one after `Last-Event-ID` (or `after`) on, live."""
        tail = _tail_of(request, services)
        start = _resume_point(last_event_id, after)
        if start is None:
            start = await tail.head()
        heard = await run_in_threadpool(_team_filter, services, caller)

        async def frames() -> AsyncIterator[str]:
            seq = start
            yield "retry: 2000\n\n"
            while not await request.is_disconnected():
                events = await tail.after(seq)
                if tail.closed:
                    return
                if not events:
                    yield ": keepalive\n\n"
                    continue
                # one write for what the tail had, not one per event: 45 boards catching up
                # on 20,000 events took half the API's CPU and a quarter of the time
                if chunk := "".join(_frame(e) for e in events if heard is None or heard.hears(e)):
                    yield chunk
                seq = events[-1].seq

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)

    return router


def _team_filter(services: Services, caller: Caller) -> TeamEvents | None:
    """A team member's filter, starting from the team's open tasks; None for everyone else."""
    if caller.role is not Role.TEAM or caller.team_id is None:
        return None
    with services.reads() as session:
        return TeamEvents(caller.team_id, held_incidents(session, caller.team_id))


def _resume_point(last_event_id: str | None, after: int | None) -> int | None:
    if last_event_id and last_event_id.strip().isdigit():
        return int(last_event_id.strip())
    return after


async def close_streams(app: FastAPI) -> None:
    """End the live streams of `app`'s process, as its server begins to shut down."""
    tail: LogTail | None = getattr(app.state, "log_tail", None)
    if tail is not None:
        await tail.close()


def _tail_of(request: Request, services: Services) -> LogTail:
    """The process's one tail, started by the first stream."""
    tail: LogTail | None = getattr(request.app.state, "log_tail", None)
    if tail is None:
        tail = request.app.state.log_tail = LogTail(services)
        tail.start()
    return tail
