"""Boards without a browser: many Server-Sent Events clients of `GET /events/stream` in one
asyncio loop, each checking that it gets every sequence number once and in order, and how
late (its receipt minus the event's `occurred_at`, when the dispatcher or a person decided it;
both clocks are this machine's).

bench/board_browser.py runs this as a process of its own, so that the clients' CPU is not
the benchmark's: it reads `END <seq>` on stdin (the log's head once the offer is over), waits
until every client has that event (or `--timeout` passes) and prints its JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime

import httpx
import numpy as np

# the envelope's canonical JSON has its keys sorted: event_id, key, occurred_at, payload, ...
FRAME = re.compile(
    rb'id: (\d+)\nevent: ([^\n]*)\ndata: \{"event_id":"[^"]*","key":"[^"]*","occurred_at":"([^"]+)"'
)
# an incident.reported keeps the call centre's time; every other event is dated when decided
CALL_CENTRE_TIME = b"incident.reported"


@dataclass
class Board:
    """What one client got."""

    after: int
    last: int = 0
    received: int = 0
    out_of_order: int = 0
    lags_s: list[float] = field(default_factory=list)

    def note(self, chunk: bytes, at: float) -> None:
        for match in FRAME.finditer(chunk):
            seq = int(match[1])
            if seq != (self.last or self.after) + 1:
                self.out_of_order += 1
            self.last = seq
            self.received += 1
            if match[2] != CALL_CENTRE_TIME:
                self.lags_s.append(at - datetime.fromisoformat(match[3].decode()).timestamp())


async def follow(client: httpx.AsyncClient, url: str, token: str, board: Board) -> None:
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    params = {"after": str(board.after)}
    async with client.stream("GET", url, headers=headers, params=params) as answer:
        answer.raise_for_status()
        pending = b""
        async for chunk in answer.aiter_bytes():
            pending += chunk
            end = pending.rfind(b"\n\n")
            if end >= 0:  # whole frames only: a chunk may end inside one
                board.note(pending[: end + 2], time.time())
                pending = pending[end + 2 :]


async def read_end() -> int:
    line = await asyncio.to_thread(sys.stdin.readline)
    return int(line.split()[1]) if line.startswith("END") else -1


async def run(args: argparse.Namespace) -> dict[str, object]:
    boards = [Board(args.after) for _ in range(args.clients)]
    limits = httpx.Limits(max_connections=args.clients + 5)
    async with httpx.AsyncClient(base_url=args.url, timeout=None, limits=limits) as client:
        tasks = [
            asyncio.create_task(follow(client, "/events/stream", args.token, b)) for b in boards
        ]
        print("READY", flush=True)
        end = await read_end()
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and any(b.last < end for b in boards):
            if any(t.done() for t in tasks):
                break  # a stream failed: reported below as missing events
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task
    return summary(boards, end)


def summary(boards: list[Board], end: int) -> dict[str, object]:
    lags = np.asarray([lag for b in boards for lag in b.lags_s] or [0.0]) * 1000
    expected = max(0, end - boards[0].after) if boards else 0
    return {
        "clients": len(boards),
        "events_expected": expected,
        "complete": sum(1 for b in boards if b.received == expected and not b.out_of_order),
        "missing_events": sum(max(0, expected - b.received) for b in boards),
        "out_of_order": sum(b.out_of_order for b in boards),
        "lag_ms_p50": round(float(np.percentile(lags, 50)), 1),
        "lag_ms_p95": round(float(np.percentile(lags, 95)), 1),
        "lag_ms_max": round(float(lags.max()), 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the API, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", required=True, help="a bearer token that may read")
    parser.add_argument("--clients", type=int, default=45)
    parser.add_argument("--after", type=int, required=True, help="the last event not expected")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to catch up after END")
    print(json.dumps(asyncio.run(run(parser.parse_args(argv)))), flush=True)


if __name__ == "__main__":
    main()
