"""Rate-limit buckets in the database, shared by every API process on it (SQLite, PostgreSQL).

Each bucket is one row holding GCRA's theoretical arrival time: the moment the bucket is full
again, plus one request's interval. A take is one upsert that moves the time on only when a
token is there, so two processes racing on one bucket never both spend its last token: the
row's lock (PostgreSQL) or the write lock (SQLite) orders them, and the second sees the first's
time. Same arithmetic as TokenBuckets: a bucket holds `burst`, refills `rate` a second.

The takes run on a pool of their own, each statement committed alone: they never wait for a
transaction of the application's, and a take is one round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, Table, case, create_engine, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import InterfaceError, OperationalError

from dispatch.adapters.orm import RateBucketRow

SWEEP_EVERY = 1_000  # takes between two deletions of full buckets (rows that mean nothing)
OUTAGES = (OperationalError, InterfaceError)  # the database is away (see FallingBack)
# Unix seconds near 2e9 carry about 2e-7 s of rounding each: a bucket's last token must not be
# refused for the sum of a burst's worth of them
ROUNDING_S = 1e-5
LOCK_WAIT_S = 0.05  # SQLite: how long a take waits for the write lock (see _sqlite_pool)

_buckets: Table = RateBucketRow.__table__  # type: ignore[assignment]


class SqlBuckets:
    """The buckets as rows of `rate_limit_buckets`; `clock` is wall time, the same in every
    process on the machine (keep the API machines' clocks in step, e.g. with NTP)."""

    blocking = True

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], float] = time.time,
        lock_wait_s: float = LOCK_WAIT_S,
    ) -> None:
        self._clock, self._takes = clock, 0
        postgres = engine.dialect.name == "postgresql"
        self._insert: Any = (postgresql if postgres else sqlite).insert
        self._engine = _postgres_pool(engine) if postgres else _sqlite_pool(engine, lock_wait_s)

    def take(self, key: str, rate: float, burst: int) -> float:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        interval, now = 1.0 / rate, self._clock()
        # how far ahead of now the bucket's time may run and a request still be allowed
        slack = (burst - 1) * interval + ROUNDING_S
        with self._engine.connect() as connection:
            if connection.execute(self._spend(key, now, interval, slack)).first() is not None:
                self._sweep_now_and_then(connection, now)
                return 0.0
            tat = connection.execute(select(_buckets.c.tat).where(_buckets.c.key == key))
            ahead = max(float(tat.scalar_one()), now) - now
        return max(ahead - slack + ROUNDING_S, 1e-6)  # refused: never a wait of zero

    def close(self) -> None:
        self._engine.dispose()

    def _spend(self, key: str, now: float, interval: float, slack: float) -> Any:
        """Insert a full bucket less one token, or spend one if the bucket has it."""
        start = case((_buckets.c.tat > now, _buckets.c.tat), else_=literal(now))
        statement = self._insert(_buckets).values(key=key, tat=now + interval)
        return statement.on_conflict_do_update(
            index_elements=[_buckets.c.key],
            set_={"tat": start + interval},
            where=start - now <= slack,
        ).returning(_buckets.c.tat)

    def _sweep_now_and_then(self, connection: Any, now: float) -> None:
        self._takes += 1
        if self._takes % SWEEP_EVERY == 0:
            connection.execute(delete(_buckets).where(_buckets.c.tat < now))


def _postgres_pool(engine: Engine) -> Engine:
    """Statements commit without waiting for the WAL flush: a bucket lost in a crash lets a
    few requests more through."""
    return create_engine(
        engine.url,
        isolation_level="AUTOCOMMIT",
        # soon over to the process's own buckets (FallingBack) when the server is unreachable
        connect_args={"options": "-c synchronous_commit=off", "connect_timeout": 2},
    )


def _sqlite_pool(engine: Engine, lock_wait_s: float) -> Engine:
    """SQLite has one writer at a time, and a dispatcher's batch holds the lock for its whole
    transaction: a take waits `lock_wait_s` at most, then FallingBack answers from the
    process's own buckets, rather than hold a board's request up behind the batch."""
    return create_engine(
        engine.url,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": lock_wait_s, "check_same_thread": False},
    )
