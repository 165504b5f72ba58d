"""The composition root: reads settings once, starts what the set-up needs, wires services."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.orm import create_schema, make_engine, session_factory
from dispatch.config import Settings
from events.broker import EmbeddedBroker
from events.kafka import KafkaPublisher, OutgoingMessage, ensure_topics
from events.log import SqlEventLog
from models.clock import Clock, SystemClock


@dataclass
class Services:
    """Everything a running everycall process shares."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    bootstrap_servers: str
    publisher: KafkaPublisher
    reads: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    event_log: SqlEventLog = field(default_factory=SqlEventLog)


_current: Services | None = None


def current() -> Services:
    """The services of this process, for Prefect flows (their parameters must stay small)."""
    if _current is None:
        raise RuntimeError("everycall services are not running: use bootstrap.running()")
    return _current


def configure_prefect(settings: Settings) -> None:
    """Prefect reads its settings at import: set project-local defaults before that."""
    os.environ.setdefault("PREFECT_HOME", str(Path(settings.prefect_home).resolve()))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")


@contextmanager
def prefect_run_settings() -> Iterator[None]:
    """Settings for a loop of short flow runs, in force inside the block.

    No heartbeat: each flow run would start a thread that emits an event at once (a Prefect
    server's work too) to detect crashed runs; a batch's run lasts about a second and the
    dispatcher retries a failed batch itself. (An environment variable cannot say "none".)
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


@contextmanager
def kafka_cluster(settings: Settings) -> Iterator[str]:
    """The configured cluster, or an embedded broker that lives as long as the block."""
    if settings.kafka_bootstrap_servers:
        yield settings.kafka_bootstrap_servers
        return
    with EmbeddedBroker() as broker:
        yield broker.bootstrap_servers


@contextmanager
def running(settings: Settings | None = None, clock: Clock | None = None) -> Iterator[Services]:
    """Start everything the settings ask for, yield the wired services, stop it all after."""
    global _current
    settings = settings or Settings()
    configure_prefect(settings)
    engine = make_engine(settings.database_url)
    create_schema(engine)
    with kafka_cluster(settings) as servers:
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
        )
        _current = services
        try:
            yield services
        finally:
            _current = None
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
    settings = settings or Settings()
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
