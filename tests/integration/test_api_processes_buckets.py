"""The rate-limit bucket stores, one contract for every backend: this process's memory, the
database (SQLite, PostgreSQL) and Redis, on an injected clock. The shared stores are also
raced from two clients at once (as two API processes would), and one that is away falls back
to the process's own buckets instead of failing the request.

Redis is the machine's (127.0.0.1:6379, started here if it is down); a test that cannot reach
it fails, it is not skipped.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine

from dispatch.adapters.orm import create_schema, make_engine
from dispatch.adapters.ratelimit import BucketStore, FallingBack, InProcessBuckets
from dispatch.adapters.redis_rate_buckets import OUTAGES, RedisBuckets, connect
from dispatch.adapters.sql_rate_buckets import OUTAGES as DATABASE_OUTAGES
from dispatch.adapters.sql_rate_buckets import SqlBuckets
from events.broker import free_port
from tests.conftest import drop_postgres_database, fresh_postgres_database

REDIS_URL = "redis://127.0.0.1:6379/0"
STORES = ["memory", "sqlite", "postgresql", "redis"]


def _redis_answers(url: str) -> bool:
    try:
        return bool(connect(url).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis, started (without persistence) if it is down."""
    if not _redis_answers(REDIS_URL):
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail(f"Redis does not answer at {REDIS_URL} and redis-server is not installed")
        subprocess.run(
            [server, "--port", "6379", "--save", "", "--appendonly", "no", "--daemonize", "yes"],
            check=False,
            capture_output=True,
        )
        deadline = time.monotonic() + 15
        while not _redis_answers(REDIS_URL):
            if time.monotonic() > deadline:
                pytest.fail(f"Redis does not answer at {REDIS_URL}, even after starting it")
            time.sleep(0.2)
    return REDIS_URL


class Clock:
    """Wall time, moved by hand: Unix seconds of 2027, so rounding is that of real times."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


StoreFactory = Callable[[Clock], BucketStore]


@pytest.fixture(params=STORES)
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Builds stores of one backend on one shared place (as several API processes would)."""
    if request.param == "memory":
        yield lambda clock: InProcessBuckets(clock)
        return
    with ExitStack() as closing:
        if request.param == "redis":
            url = request.getfixturevalue("redis_url")

            def on_redis(clock: Clock) -> BucketStore:
                store = RedisBuckets(connect(url), clock)
                closing.callback(store.close)
                return store

            yield on_redis
            return
        url = closing.enter_context(empty_database(request, tmp_path))

        def on_database(clock: Clock) -> BucketStore:
            engine = make_engine(url)
            # SQLite: wait for the write lock as long as it takes; the race below is about
            # atomicity, and the short wait of the API has a test of its own
            store = SqlBuckets(engine, clock, lock_wait_s=30)
            closing.callback(engine.dispose)
            closing.callback(store.close)
            return store

        yield on_database


@contextmanager
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with the schema on the backend the test runs on."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'buckets.db'}"
        create_schema(make_engine(url))
        yield url
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url, name = fresh_postgres_database(admin_url)
    try:
        engine = make_engine(url)
        create_schema(engine)
        engine.dispose()
        yield url
    finally:
        drop_postgres_database(admin_url, name)


def bucket() -> str:
    return f"test:{uuid.uuid4().hex}"  # Redis is shared with other runs: a key of our own


def test_a_burst_is_allowed_then_one_request_per_refill(make_store: StoreFactory) -> None:
    clock = Clock()
    store, key = make_store(clock), bucket()
    assert [store.take(key, 2.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert store.take(key, 2.0, 3) == pytest.approx(0.5, abs=1e-3)  # a token in half a second
    clock.now += 0.25
    assert store.take(key, 2.0, 3) == pytest.approx(0.25, abs=1e-3)  # refused: time not spent
    clock.now += 0.25
    assert store.take(key, 2.0, 3) == 0.0
    assert store.take(key, 2.0, 3) > 0


def test_the_default_burst_is_allowed_whole_at_real_times(make_store: StoreFactory) -> None:
    store, key = make_store(Clock()), bucket()
    allowed = [store.take(key, 20.0, 100) == 0.0 for _ in range(101)]
    assert allowed == [True] * 100 + [False]


def test_keys_do_not_share_a_bucket(make_store: StoreFactory) -> None:
    store, a, b = make_store(Clock()), bucket(), bucket()
    assert store.take(a, 1.0, 1) == 0.0
    assert store.take(a, 1.0, 1) > 0
    assert store.take(b, 1.0, 1) == 0.0


def test_a_bucket_never_holds_more_than_the_burst(make_store: StoreFactory) -> None:
    clock = Clock()
    store, key = make_store(clock), bucket()
    store.take(key, 10.0, 2)
    clock.now += 3600
    assert [store.take(key, 10.0, 2) == 0.0 for _ in range(3)] == [True, True, False]


def test_nonsense_limits_are_refused(make_store: StoreFactory) -> None:
    store = make_store(Clock())
    with pytest.raises(ValueError):
        store.take(bucket(), 0, 1)
    with pytest.raises(ValueError):
        store.take(bucket(), 1, 0)


@pytest.mark.parametrize("make_store", ["sqlite", "postgresql", "redis"], indirect=True)
def test_two_clients_racing_on_one_bucket_spend_exactly_its_burst(
    make_store: StoreFactory,
) -> None:
    clock, key, burst = Clock(), bucket(), 40
    stores = [make_store(clock), make_store(clock)]  # two API processes' connections
    start = threading.Barrier(8)
    allowed: list[bool] = []

    def hammer(store: BucketStore) -> None:
        start.wait()
        results = [store.take(key, 0.001, burst) == 0.0 for _ in range(15)]
        allowed.extend(results)

    threads = [threading.Thread(target=hammer, args=(stores[n % 2],)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(allowed) == 8 * 15
    assert sum(allowed) == burst


def test_redis_away_falls_back_to_the_processs_own_buckets() -> None:
    away = RedisBuckets(connect(f"redis://127.0.0.1:{free_port()}/0"))
    store = FallingBack(away, OUTAGES)
    key = bucket()
    assert [store.take(key, 0.01, 2) == 0.0 for _ in range(3)] == [True, True, False]


def test_a_database_away_falls_back_to_the_processs_own_buckets() -> None:
    away = SqlBuckets(make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/x"))
    store = FallingBack(away, DATABASE_OUTAGES)
    key = bucket()
    assert [store.take(key, 0.01, 2) == 0.0 for _ in range(3)] == [True, True, False]


def test_a_take_on_sqlite_waits_briefly_behind_a_long_write_then_uses_the_processs_buckets(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    engine = make_engine(url)
    create_schema(engine)
    shared = SqlBuckets(engine)
    store = FallingBack(shared, DATABASE_OUTAGES)
    try:
        with engine.begin() as batch:  # BEGIN IMMEDIATE: a dispatcher's batch holds the lock
            batch.exec_driver_sql("DELETE FROM rate_limit_buckets")
            started = time.monotonic()
            assert store.take(bucket(), 1.0, 1) == 0.0
            waited = time.monotonic() - started
        assert waited < 1.0  # the lock wait is 50 ms; the rest is a loaded machine's
        assert stored_buckets(engine) == 0  # the take was the process's own
        assert store.take(bucket(), 1.0, 1) == 0.0
        assert stored_buckets(engine) == 1  # the lock is free again: shared once more
    finally:
        shared.close()
        engine.dispose()


def stored_buckets(engine: Engine) -> int:
    with engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM rate_limit_buckets")
        return int(stored.scalar() or 0)
