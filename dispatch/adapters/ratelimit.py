"""A rate limit per API token: a token bucket each, refused with 429 and Retry-After.

The limit is keyed by the credential a request presents (a hash of the bearer token, so the
token itself is not kept), or by the client address when there is none: a flood of bad
tokens costs no token lookups, only its bucket's take. Health probes and metrics scrapes are
not limited.

Where the buckets live is a BucketStore: in this process (InProcessBuckets), or shared by
every API process, in the database (sql_rate_buckets) or in Redis (redis_rate_buckets).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from anyio import to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
MAX_KEYS = 10_000  # past this, idle (full) buckets are forgotten
OUTAGE_LOG_EVERY_S = 60.0  # a store that is away is logged once a minute, not per request

log = logging.getLogger("everycall.ratelimit")


class BucketStore(Protocol):
    """Where the token buckets live. `take` spends one token of `key` in a bucket refilled at
    `rate` a second, holding at most `burst`: 0.0 if allowed, else the seconds until one is
    there. `blocking` says whether a take waits on I/O (then it runs off the event loop)."""

    blocking: bool

    def take(self, key: str, rate: float, burst: int) -> float: ...


@dataclass
class Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """`rate` requests a second per key on average, bursts of up to `burst`."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate, self.burst, self._clock, self._max_keys = rate, burst, clock, max_keys
        self._buckets: dict[str, Bucket] = {}

    def take(self, key: str) -> float:
        """Spend one token of `key`: 0.0 if allowed, else the seconds until one is there."""
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            self._forget_idle(now)
            bucket = self._buckets[key] = Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        if len(self._buckets) < self._max_keys:
            return
        full_after = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}


class InProcessBuckets:
    """The buckets in this process's memory: exact for one API process, per process for many."""

    blocking = False

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._by_limit: dict[tuple[float, int], TokenBuckets] = {}
        self._lock = threading.Lock()  # sign-in takes come from the thread pool

    def take(self, key: str, rate: float, burst: int) -> float:
        with self._lock:
            buckets = self._by_limit.get((rate, burst))
            if buckets is None:
                buckets = self._by_limit[(rate, burst)] = TokenBuckets(rate, burst, self._clock)
            return buckets.take(key)


class FallingBack:
    """A shared store, and this process's buckets while it is away: a Redis or database outage
    leaves each API process its own limit rather than none, and never fails a request."""

    def __init__(
        self,
        shared: BucketStore,
        outages: tuple[type[BaseException], ...],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.shared, self._outages, self._clock = shared, outages, clock
        self.blocking = shared.blocking
        self.local = InProcessBuckets(clock)
        self._logged_at: float | None = None

    def take(self, key: str, rate: float, burst: int) -> float:
        try:
            return self.shared.take(key, rate, burst)
        except self._outages as error:
            self._log_outage(error)
            return self.local.take(key, rate, burst)

    def _log_outage(self, error: BaseException) -> None:
        now = self._clock()
        if self._logged_at is None or now - self._logged_at >= OUTAGE_LOG_EVERY_S:
            self._logged_at = now
            log.warning("rate-limit store away (%s); limiting per process meanwhile", error)


@dataclass(frozen=True)
class Limits:
    rate_per_s: float
    burst: int


class RateLimit:
    """ASGI middleware: one bucket per presented credential; 429 with Retry-After when empty.

    `limits()` and `store()` are read on the first request, so the app's settings and
    services can arrive at start-up; without a store the buckets live in this process.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Callable[[], Limits],
        store: Callable[[], BucketStore] | None = None,
    ) -> None:
        self.app, self._limits = app, limits
        self._store = store or InProcessBuckets
        self._wired: tuple[Limits, BucketStore] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        limits, store = self._wired_now()
        key = "api:" + credential_key(scope)
        if store.blocking:
            wait_s = await to_thread.run_sync(store.take, key, limits.rate_per_s, limits.burst)
        else:
            wait_s = store.take(key, limits.rate_per_s, limits.burst)
        if wait_s <= 0:
            await self.app(scope, receive, send)
            return
        await _too_many(send, wait_s, limits)

    def _wired_now(self) -> tuple[Limits, BucketStore]:
        if self._wired is None:
            self._wired = (self._limits(), self._store())
        return self._wired


def credential_key(scope: Scope) -> str:
    """Whom a request counts against: its bearer token (hashed), else its client address."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return "token:" + hashlib.sha256(value).hexdigest()[:32]
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


async def _too_many(send: Send, wait_s: float, limits: Limits) -> None:
    retry_after = max(1, math.ceil(wait_s))
    body = json.dumps(
        {
            "detail": f"rate limit exceeded: {limits.rate_per_s:g} requests a second per token "
            f"(bursts of {limits.burst}); retry in {retry_after}s"
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
