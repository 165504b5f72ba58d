"""Rate-limit buckets in Redis (EVERYCALL_REDIS_URL), shared by every API process that uses it.

The same GCRA as the database's buckets (sql_rate_buckets): one key per bucket holding the
moment it is full again plus one request's interval. One Lua script reads, decides and writes,
so Redis runs each take whole and two processes never both spend a bucket's last token. A key
expires when its bucket is full, so Redis keeps only buckets that are in use. The time is
Redis's own (TIME), one clock for every API machine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

KEY_PREFIX = "everycall:rate:"
ROUNDING_S = 1e-5  # as in sql_rate_buckets: a burst's rounding never refuses its last token
SOCKET_TIMEOUT_S = 0.5  # past this a take falls back to the process's buckets (FallingBack)
OUTAGES = (RedisConnectionError, RedisTimeoutError)

# KEYS[1] the bucket; ARGV interval, slack (seconds), now ("" for Redis's clock).
# Returns "0" when a token was spent, else the seconds until one is there.
TAKE_SCRIPT = """
local now
if ARGV[3] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
else
  now = tonumber(ARGV[3])
end
local interval, slack = tonumber(ARGV[1]), tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
if tat - now > slack then
  return string.format('%.6f', tat - now - slack)
end
tat = tat + interval
redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', math.ceil((tat - now) * 1000))
return '0'
"""


def connect(url: str) -> redis.Redis:
    """A client for `url` (redis://host:port/db) that gives up quickly when Redis is away."""
    return redis.Redis.from_url(
        url, socket_timeout=SOCKET_TIMEOUT_S, socket_connect_timeout=SOCKET_TIMEOUT_S
    )


class RedisBuckets:
    """The buckets as Redis keys. `clock` is for tests; unset, Redis's own time is used."""

    blocking = True

    def __init__(self, client: redis.Redis, clock: Callable[[], float] | None = None) -> None:
        self._client, self._clock = client, clock
        self._script: Any = client.register_script(TAKE_SCRIPT)

    def take(self, key: str, rate: float, burst: int) -> float:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        interval = 1.0 / rate
        slack = (burst - 1) * interval + ROUNDING_S
        now = "" if self._clock is None else repr(self._clock())
        wait = float(self._script(keys=[KEY_PREFIX + key], args=[interval, slack, now]))
        return 0.0 if wait <= 0 else max(wait + ROUNDING_S, 1e-6)

    def close(self) -> None:
        self._client.close()
