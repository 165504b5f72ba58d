"""The composition root: reads the settings, starts what the set-up needs (the database's
schema, an embedded broker when none is configured), and wires the Services every handler
receives. Only entrypoints (and tests and benchmarks) import it."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine

from dispatch.adapters import redis_rate_buckets, sql_rate_buckets
from dispatch.adapters.orm import create_schema, make_engine, session_factory
from dispatch.adapters.ratelimit import BucketStore, FallingBack
from dispatch.config import Settings
from dispatch.service_layer.services import Services
from events.broker import EmbeddedBroker
from events.kafka import KafkaPublisher, OutgoingMessage, ensure_topics
from models.clock import Clock, SystemClock


def read_settings() -> Settings:
    """Every setting, from the environment (EVERYCALL_*): the one place that reads them."""
    return Settings()


def configure_prefect(settings: Settings) -> None:
    """Prefect reads its settings at import: set project-local defaults before that."""
    os.environ.setdefault("PREFECT_HOME", str(Path(settings.prefect_home).resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@contextmanager
def kafka_cluster(settings: Settings) -> Iterator[str]:
    """The configured cluster, or an embedded broker that lives as long as the block."""
    if settings.kafka_bootstrap_servers:
        yield settings.kafka_bootstrap_servers
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers


@contextmanager
def rate_buckets(settings: Settings, engine: Engine) -> Iterator[BucketStore]:
    """The API's rate-limit buckets, shared by every API process: in Redis when
    EVERYCALL_REDIS_URL is set, else in the database; each process's own while that is away."""
    shared: sql_rate_buckets.SqlBuckets | redis_rate_buckets.RedisBuckets
    outages: tuple[type[BaseException], ...]
    if settings.redis_url is None:
        shared, outages = sql_rate_buckets.SqlBuckets(engine), sql_rate_buckets.OUTAGES
    else:
        client = redis_rate_buckets.connect(settings.redis_url)
        shared, outages = redis_rate_buckets.RedisBuckets(client), redis_rate_buckets.OUTAGES
    try:
        yield FallingBack(shared, outages)
    finally:
        shared.close()


@contextmanager
def running(settings: Settings | None = None, clock: Clock | None = None) -> Iterator[Services]:
    """Start everything the settings ask for, yield the wired services, stop it all after."""
    settings = settings or read_settings()
    configure_prefect(settings)
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with kafka_cluster(settings) as servers, rate_buckets(settings, engine) as buckets:
        ensure_topics(servers)
        publisher = KafkaPublisher(servers, client_id=settings.producer_name)
        services = Services(
            settings,
            engine,
            session_factory(engine),
            servers,
            publisher,
            session_factory(engine, read_only=True),
            clock or SystemClock(),
            rate_buckets=buckets,
        )
        try:
            yield services
        finally:
            publisher.close()
            engine.dispose()


class OfflinePublisher(KafkaPublisher):
    """The publisher of a process with no broker: what it stages waits in the outbox."""

    def __init__(self) -> None:  # nothing to connect to
        pass

    def publish(self, messages: Iterable[OutgoingMessage]) -> int:
        raise RuntimeError(
            "this process has no broker: the outbox relay of a running everycall api publishes"
        )

    def close(self) -> None:
        pass


@contextmanager
def database(settings: Settings | None = None, clock: Clock | None = None) -> Iterator[Services]:
    """The database alone (no broker), for commands that read or stage to the outbox."""
    settings = settings or read_settings()
    engine = make_engine(settings.database_url)
    create_schema(engine)
    try:
        yield Services(
            settings,
            engine,
            session_factory(engine),
            "",
            OfflinePublisher(),
            session_factory(engine, read_only=True),
            clock or SystemClock(),
        )
    finally:
        engine.dispose()
