"""A rate limit per API token: a token bucket each, refused with 429 and Retry-After.

The limit is keyed by the credential a request presents (a hash of the bearer token, so the
token itself is not kept), or by the client address when there is none: a flood of bad
tokens costs no database lookups. Health probes and metrics scrapes are not limited.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
MAX_KEYS = 10_000  # past this, idle (full) buckets are forgotten


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


@dataclass(frozen=True)
class Limits:
    rate_per_s: float
    burst: int


class RateLimit:
    """ASGI middleware: one bucket per presented credential; 429 with Retry-After when empty.

    `limits()` is read on the first request, so the app's settings can arrive at start-up.
    """

    def __init__(
        self,
        app: ASGIApp,
        limits: Callable[[], Limits],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app, self._limits, self._clock = app, limits, clock
        self._buckets: TokenBuckets | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        wait_s = self._buckets_now().take(credential_key(scope))
        if wait_s <= 0:
            await self.app(scope, receive, send)
            return
        await _too_many(send, wait_s, self._buckets_now())

    def _buckets_now(self) -> TokenBuckets:
        if self._buckets is None:
            limits = self._limits()
            self._buckets = TokenBuckets(limits.rate_per_s, limits.burst, self._clock)
        return self._buckets


def credential_key(scope: Scope) -> str:
    """Whom a request counts against: its bearer token (hashed), else its client address."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return "token:" + hashlib.sha256(value).hexdigest()[:32]
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


async def _too_many(send: Send, wait_s: float, buckets: TokenBuckets) -> None:
    retry_after = max(1, math.ceil(wait_s))
    body = json.dumps(
        {
            "detail": f"rate limit exceeded: {buckets.rate:g} requests a second per token "
            f"(bursts of {buckets.burst}); retry in {retry_after}s"
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
