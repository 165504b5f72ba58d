"""Prometheus metrics: what this process did (batches, routing latency, dead letters) and
what the database and the broker say at scrape time (incidents by state, queue, SLA breaches,
outbox backlog, consumer lag).

The API serves both at /metrics (entrypoints/api/health.py); `everycall dispatcher` serves its
own on settings.metrics_port when set (its batch counters live in its process).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.orm import DeadLetterRow, IncidentRow, OutboxRow, SlaClockRow
from dispatch.config import Settings
from events import topics

log = logging.getLogger("everycall.metrics")

# From the report to the assignment: seconds to a few minutes, the SLA scale.
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 900)


class Sources(Protocol):
    """What the metrics read: the settings, the database and the broker (the Services of
    dispatch.service_layer.services fit)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def reads(self) -> sessionmaker[Session]: ...

    @property
    def bootstrap_servers(self) -> str: ...


class BatchCounts(Protocol):
    """What a routed batch tells the counters (the routing service's BatchOutcome fits)."""

    received: int
    duplicates: int
    dead_lettered: int
    latencies_ms: list[float]


class ProcessMetrics:
    """Counters and histograms of the work done in this process."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.batches = Counter("everycall_batches", "Micro-batches routed", registry=self.registry)
        self.records = Counter(
            "everycall_records_consumed",
            "Records consumed from the incident topic, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.dead_lettered = Counter(
            "everycall_dead_lettered",
            "Records sent to the dead-letter topic by this process",
            registry=self.registry,
        )
        self.routing_latency = Histogram(
            "everycall_routing_latency_seconds",
            "From an incident's report to its assignment",
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )

    def observe_batch(self, outcome: BatchCounts) -> None:
        self.batches.inc()
        self.records.labels("duplicate").inc(outcome.duplicates)
        self.records.labels("dead_lettered").inc(outcome.dead_lettered)
        self.records.labels("stored").inc(
            max(0, outcome.received - outcome.duplicates - outcome.dead_lettered)
        )
        self.dead_lettered.inc(outcome.dead_lettered)
        for latency_ms in outcome.latencies_ms:
            self.routing_latency.observe(latency_ms / 1000.0)


_process: ProcessMetrics | None = None
_process_lock = threading.Lock()


def process_metrics() -> ProcessMetrics:
    """This process's metrics, made on first use (nothing is built at import)."""
    global _process
    with _process_lock:
        if _process is None:
            _process = ProcessMetrics()
        return _process


class DatabaseCollector(Collector):
    """Gauges read from the database at each scrape."""

    def __init__(self, services: Sources) -> None:
        self._services = services

    def collect(self) -> Iterator[Metric]:
        try:
            with self._services.reads() as session:
                by_state = session.execute(
                    select(IncidentRow.state, func.count()).group_by(IncidentRow.state)
                ).all()
                breaches = session.execute(
                    select(SlaClockRow.kind, func.count())
                    .where(SlaClockRow.state == "breached")
                    .group_by(SlaClockRow.kind)
                ).all()
                dead = session.scalar(select(func.count()).select_from(DeadLetterRow)) or 0
                outbox = session.scalar(select(func.count()).select_from(OutboxRow)) or 0
        except Exception as error:  # the database is away: say so, do not fail the scrape
            log.warning("metrics: database unreadable (%s)", error)
            yield _gauge("everycall_database_up", "1 if the database answered the scrape", 0)
            return
        yield _gauge("everycall_database_up", "1 if the database answered the scrape", 1)
        states = GaugeMetricFamily("everycall_incidents", "Incidents by state", labels=["state"])
        for state, count in by_state:
            states.add_metric([state], count)
        yield states
        queued = sum(count for state, count in by_state if state == "queued")
        yield _gauge("everycall_queue_length", "Incidents waiting for a team", queued)
        sla = GaugeMetricFamily(
            "everycall_sla_breaches", "SLA clocks breached, by kind", labels=["kind"]
        )
        for kind, count in breaches:
            sla.add_metric([kind], count)
        yield sla
        yield _gauge("everycall_dead_letters", "Records kept in the dead-letter table", dead)
        yield _gauge("everycall_outbox_backlog", "Events staged and not yet published", outbox)


class ConsumerLagCollector(Collector):
    """The dispatcher group's lag on the incident topic: end offset minus committed offset.

    A short-lived client per scrape (scrapes are seconds apart; nothing lingers when the app
    stops). The development broker under-reports end offsets (docs/reliability.md), so there
    the figure is a lower bound.
    """

    def __init__(self, services: Sources, timeout_ms: int = 2_000) -> None:
        self._services, self._timeout_ms = services, timeout_ms

    def collect(self) -> Iterator[Metric]:
        try:
            lags = self._lags()
        except Exception as error:  # the broker is away
            log.warning("metrics: consumer lag unknown (%s)", error)
            yield _gauge("everycall_broker_up", "1 if the broker answered the scrape", 0)
            return
        yield _gauge("everycall_broker_up", "1 if the broker answered the scrape", 1)
        lag = GaugeMetricFamily(
            "everycall_consumer_lag",
            "Records on the incident topic the dispatcher group has not committed",
            labels=["partition"],
        )
        for partition, behind in sorted(lags.items()):
            lag.add_metric([str(partition)], behind)
        yield lag
        total = sum(lags.values())
        yield _gauge("everycall_consumer_lag_total", "Consumer lag, all partitions", total)

    def _lags(self) -> dict[int, int]:
        from kafka import KafkaConsumer, TopicPartition

        consumer = KafkaConsumer(
            bootstrap_servers=self._services.bootstrap_servers,
            group_id=self._services.settings.consumer_group,
            enable_auto_commit=False,
            request_timeout_ms=self._timeout_ms + 500,
        )
        try:
            ids = consumer.partitions_for_topic(topics.INCIDENTS) or set()
            partitions = [TopicPartition(topics.INCIDENTS, p) for p in sorted(ids)]
            ends = consumer.end_offsets(partitions)
            return {
                tp.partition: max(0, ends.get(tp, 0) - (consumer.committed(tp) or 0))
                for tp in partitions
            }
        finally:
            consumer.close(autocommit=False)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


class ScrapeRegistry:
    """The state collectors of one set of services, plus this process's work metrics."""

    def __init__(self, services: Sources, *, with_lag: bool = True) -> None:
        self.services = services
        self.registry = CollectorRegistry()
        self.registry.register(DatabaseCollector(services))
        if with_lag and services.bootstrap_servers:
            self.registry.register(ConsumerLagCollector(services))

    def exposition(self) -> bytes:
        return generate_latest(process_metrics().registry) + generate_latest(self.registry)


def serve_process_metrics(services: Sources, port: int) -> None:
    """For a process without the API (the dispatcher): metrics on their own port."""
    scrape = ScrapeRegistry(services)
    registry = CollectorRegistry()
    registry.register(_Joined(scrape))
    start_http_server(port, addr=services.settings.api_host, registry=registry)
    log.info("metrics on http://%s:%d/metrics", services.settings.api_host, port)


class _Joined(Collector):
    def __init__(self, scrape: ScrapeRegistry) -> None:
        self._scrape = scrape

    def collect(self) -> Iterator[Metric]:
        yield from process_metrics().registry.collect()
        yield from self._scrape.registry.collect()
