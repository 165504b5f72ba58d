"""The broker goes away for 30 s while incidents keep arriving through the API.

The API stages each report in the outbox and answers 202 without Kafka; the relay and the
dispatcher wait the outage out and reconnect; once the broker is back, every report is routed.

The development broker (Tansu) keeps nothing in memory across a restart: it comes back on the
same port with no topics and no committed offsets. So the test recreates the topics (as the
deployment's topic set-up would), and, before the stop, lets the dispatcher catch up, because a
record the broker had acknowledged but nobody had consumed yet is gone with it; Apache Kafka
keeps it on disk (docs/reliability.md, limits).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from events.broker import EmbeddedBroker, free_port
from events.kafka import ensure_topics
from tests.faults.conftest import FaultReport
from tests.faults.harness import (
    EverycallProcess,
    Reporter,
    dispatcher_token,
    outbox_rows,
    prepared_database,
    states_of,
    stored_ids,
    wait_for_http,
    wait_until,
    wuhan_teams,
)
from tests.faults.whereabouts import describe, last_seen

pytestmark = pytest.mark.timeout(900)  # real processes on a shared machine

OUTAGE_S = 30


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite, the embedded default: the broker's outage does not depend on the database, and
    the kill test and the database-outage test cover PostgreSQL."""
    return f"sqlite:///{tmp_path / 'everycall.db'}"


SLOW_ANSWER_S = 2.0  # well below the 10 s a request would hang if it waited on Kafka


def test_broker_outage_leaves_the_api_answering_and_every_report_is_routed_after(
    database_url: str,
    everycall: Callable[..., EverycallProcess],
    fault_report: FaultReport,
) -> None:
    with (
        EmbeddedBroker(free_port()) as broker,
        prepared_database(database_url, wuhan_teams(40, capacity=40)) as engine,
    ):
        servers = broker.bootstrap_servers
        ensure_topics(servers)
        token = dispatcher_token(engine)
        api_port = free_port()
        base_url = f"http://127.0.0.1:{api_port}"
        api = everycall(["api", "--port", str(api_port)], servers, "api", relay_interval_s="0.1")
        dispatcher = everycall(["dispatcher"], servers, "dispatcher", watchdog_interval_s="3600")
        api.start()
        dispatcher.start()
        wait_for_http(base_url, 120, api)
        reporter = Reporter(base_url, token)
        reporter.start()

        def routed() -> set[str]:
            return stored_ids(engine, reporter.accepted.values(), "assigned")

        def where_they_are() -> str:
            accepted = reporter.accepted.values()
            group = dispatcher.env["EVERYCALL_CONSUMER_GROUP"]
            return (
                f"accepted reports by state: {states_of(engine, accepted)}; "
                f"outbox rows: {outbox_rows(engine)}\n"
                f"{describe(last_seen(engine, servers, group, accepted))}\n"
                f"dispatcher log:\n{dispatcher.log_tail()}\napi log:\n{api.log_tail(1500)}"
            )

        try:
            wait_until(lambda: len(routed()) >= 10, 120, "the first reports to be routed")

            # Let the dispatcher catch up: the memory-only broker loses what nobody consumed.
            reporter.pause()
            wait_until(
                lambda: routed() == set(reporter.accepted.values()),
                60,
                "a catch-up",
                why=where_they_are,
            )
            before = len(reporter.accepted)
            broker.stop()
            down_at = time.monotonic()
            reporter.resume()
            fault_report.injected(
                f"broker stopped after {before} reports were routed; reports keep coming"
            )
            time.sleep(3)
            ready = httpx.get(f"{base_url}/readyz", timeout=10)
            assert ready.status_code == 503, ready.text
            assert ready.json()["checks"]["broker"] != "ok"
            fault_report.checked("/readyz answers 503 naming the broker while it is away")
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            during = len(reporter.accepted) - before
            waiting = outbox_rows(engine)
            assert during > 0 and waiting >= during
            broker.start()  # the same port: clients find it where it was
            ensure_topics(servers)
            up_at = time.monotonic()
            fault_report.injected(
                f"broker restarted on the same port after {up_at - down_at:.0f}s, empty "
                "(memory-only); topics recreated"
            )
            time.sleep(5)
        finally:
            reporter.stop()
        statuses = reporter.statuses(down_at, up_at)
        assert set(statuses) == {202}, statuses
        slowest = reporter.slowest(down_at, up_at)
        assert slowest < SLOW_ANSWER_S, slowest
        assert not reporter.refused
        fault_report.checked(
            f"API answered 202 to all {statuses[202]} reports during the outage "
            f"(slowest {slowest * 1000:.0f} ms); {waiting} events held in the outbox"
        )
        accepted = set(reporter.accepted.values())
        took = wait_until(
            lambda: routed() == accepted, 180, "every report to be routed", why=where_they_are
        )
        fault_report.checked(
            f"all {len(accepted)} accepted reports routed, {took:.0f}s after the last report"
        )
        wait_until(lambda: outbox_rows(engine) == 0, 60, "the outbox to drain")
        assert api.running() and dispatcher.running(), dispatcher.log_tail()
        fault_report.checked("outbox drained; the API and dispatcher processes never stopped")
