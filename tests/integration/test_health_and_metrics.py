"""/healthz, /readyz and the Prometheus metrics at /metrics, on real parts."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from contextlib import nullcontext

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import KafkaPublisher, OutgoingMessage
from flows.dispatcher import run_dispatcher
from tests.integration.spine_helpers import WUHAN, incident, report, seed_teams, team


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(
        services, [team(f"t{n}", WUHAN[0] + n / 100, WUHAN[1], capacity=5) for n in range(3)]
    )
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


def scrape(client: TestClient) -> dict[str, float]:
    """Every sample of /metrics, by name and labels: `name{label="v"}` -> value."""
    answer = client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            samples[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return samples


def test_health_says_up_and_ready_names_what_it_checked(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


@pytest.mark.usefixtures("prefect_server")
def test_metrics_follow_the_dispatcher_and_the_database(
    services: Services, client: TestClient
) -> None:
    before = scrape(client)
    assert before["everycall_database_up"] == 1 and before["everycall_broker_up"] == 1
    now = services.clock.now()
    report(services, [incident(n, WUHAN[0], WUHAN[1] + n / 1000, now) for n in range(20)])
    KafkaPublisher(services.bootstrap_servers).publish(
        [OutgoingMessage(topics.INCIDENTS, "wuhan", b"not an envelope")]
    )

    def settled() -> bool:
        figures = scrape(client)
        return (
            figures.get('everycall_incidents{state="queued"}', 0) == 5
            and figures.get('everycall_incidents{state="assigned"}', 0) == 15
        )

    deadline = time.monotonic() + 60
    asyncio.run(run_dispatcher(services, stop=lambda: settled() or time.monotonic() > deadline))
    after = scrape(client)
    assert after['everycall_incidents{state="assigned"}'] == 15  # 3 teams of 5
    assert after["everycall_queue_length"] == 5
    assert after["everycall_dead_letters"] == 1
    latency = "everycall_routing_latency_seconds_count"
    assert after[latency] - before.get(latency, 0) == 15
    dead = "everycall_dead_lettered_total"
    assert after[dead] - before.get(dead, 0) == 1
    assert "everycall_consumer_lag_total" in after
    assert after["everycall_outbox_backlog"] >= 0
    assert any(re.match(r"everycall_batches_total", name) for name in after)
    assert "# HELP everycall_sla_breaches" in client.get("/metrics").text
