"""The board at a moment, replayed for the API with bounds: at most `MAX_REPLAY_EVENTS` events
per replay, one replay at a time per process (each holds a whole board in memory and a core),
and, for the page, on a thread of its own whose progress a Server-Sent Events stream reports
and whose reader stops it by leaving."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import orjson
from fastapi import HTTPException, status
from fastapi.exceptions import RequestValidationError
from sqlalchemy import Connection

from dispatch.audit.pointintime import board_at, events_until
from dispatch.audit.replay import ReplayError
from dispatch.audit.source import read_snapshot
from dispatch.entrypoints.api.audit_answers import BoardAtMoment, board_answer

# About 7 s at the measured replay rate, and a few hundred MB held while it runs; further back
# than that, `everycall audit state --at` replays without a limit.
MAX_REPLAY_EVENTS = 500_000
SLOT_WAIT_S = 5.0  # a replay just left by a closed page takes a moment to notice and stop
BUSY_RETRY_AFTER_S = 2
POLL_S = 0.1
_slot = threading.BoundedSemaphore(1)
# the schema's `date-time` (RFC 3339 section 5.6), which the route documents
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
log = logging.getLogger(__name__)


def invalid_query(name: str, text: str, message: str) -> RequestValidationError:
    """A 422 shaped like FastAPI's own, naming the query parameter and why."""
    detail = {"type": "value_error", "loc": ("query", name), "msg": message, "input": text}
    return RequestValidationError([detail])


def parse_moment(text: str) -> datetime:
    """An RFC 3339 time (ISO 8601 in full, with its offset) as UTC; one beyond UTC's calendar
    as its first or last moment (before or after every event). Anything else is the caller's
    mistake (422, saying which)."""
    try:
        moment = datetime.fromisoformat(text.upper())  # RFC 3339 allows a lower-case t and z
    except ValueError:
        raise invalid_query(
            "at", text, "not an ISO 8601 time; give one like 2026-07-01T14:05:00+08:00"
        ) from None
    if moment.tzinfo is None:
        raise invalid_query(
            "at", text, "the time has no offset: add +08:00 (Asia/Shanghai) or Z (UTC)"
        )
    if _RFC3339.fullmatch(text) is None:
        raise invalid_query(
            "at", text, "give the time in full, seconds and offset: 2026-07-01T14:05:00+08:00"
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        edge = datetime.min if moment.year == datetime.min.year else datetime.max
        return edge.replace(tzinfo=UTC)


def within_limit(connection: Connection, moment: datetime, text: str) -> int:
    """How many events the replay to `moment` folds: 422 when over the limit."""
    planned = events_until(connection, moment)
    if planned > MAX_REPLAY_EVENTS:
        raise invalid_query(
            "at",
            text,
            f"the board then needs {planned} events replayed, over this page's limit of "
            f"{MAX_REPLAY_EVENTS}: use `everycall audit state --at` for it",
        )
    return planned


def _take_slot() -> None:
    """The process's one replay at a time; 429 when another holds it past SLOT_WAIT_S."""
    if not _slot.acquire(timeout=SLOT_WAIT_S):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "another board replay is running on this server; retry shortly",
            headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
        )


@contextmanager
def replay_slot() -> Iterator[None]:
    """Hold the process's one replay slot for the block (429 when it stays busy)."""
    _take_slot()
    try:
        yield
    finally:
        _slot.release()


def replay_board(
    connection: Connection, moment: datetime, on_progress: Callable[[int], None] | None = None
) -> BoardAtMoment:
    """The board at `moment` and what it cost to rebuild; 409 when the log cannot be replayed."""
    started = time.perf_counter()
    try:
        board = board_at(connection, moment, on_progress)
    except ReplayError as error:
        raise HTTPException(status.HTTP_409_CONFLICT, f"cannot replay: {error}") from error
    return board_answer(board, time.perf_counter() - started, MAX_REPLAY_EVENTS)


class _Stopped(Exception):
    """The stream's reader left: the replay stops at its next progress mark."""


class BoardReplay:
    """One replay on a thread of its own, holding the slot, for a stream to report on."""

    def __init__(self, url: str, moment: datetime, planned: int) -> None:
        self.url, self.moment, self.planned = url, moment, planned
        self.done = 0
        self.answer: BoardAtMoment | None = None
        self.failure: str | None = None
        self._leave = threading.Event()
        self._finished = threading.Event()

    def start(self) -> None:
        """Take the slot (429 when busy) and replay on a new thread, which gives it back."""
        _take_slot()
        try:
            threading.Thread(target=self._run, name="board-replay", daemon=True).start()
        except BaseException:
            _slot.release()
            raise

    def _run(self) -> None:
        try:
            with read_snapshot(self.url) as connection:
                self.answer = replay_board(connection, self.moment, self._heard)
        except _Stopped:
            pass
        except HTTPException as error:
            self.failure = str(error.detail)
        except Exception:
            log.exception("board replay to %s failed", self.moment.isoformat())
            self.failure = "the replay failed; the server's log says why"
        finally:
            _slot.release()
            self._finished.set()

    def _heard(self, done: int) -> None:
        if self._leave.is_set():
            raise _Stopped
        self.done = done

    async def frames(self) -> AsyncIterator[str]:
        """`progress` while it replays, then `board` (or `failed`); leaving stops the replay."""
        try:
            shown = -1
            while not self._finished.is_set():
                if self.done != shown:
                    shown = self.done
                    yield _progress(shown, self.planned)
                await asyncio.sleep(POLL_S)
            if self.answer is None:
                yield _frame("failed", orjson.dumps({"detail": self.failure}).decode())
                return
            replayed = self.answer.cost.events_replayed
            if replayed != shown:
                yield _progress(replayed, max(self.planned, replayed))
            yield _frame("board", self.answer.model_dump_json())
        finally:
            self._leave.set()


def _progress(done: int, total: int) -> str:
    return _frame("progress", orjson.dumps({"done": min(done, total), "total": total}).decode())


def _frame(event: str, data: str) -> str:
    return f"event: {event}\ndata: {data}\n\n"
