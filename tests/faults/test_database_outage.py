"""The database goes away while incidents arrive: the API answers 503, acknowledges nothing it
did not store, and work resumes when the database is back.

PostgreSQL only: a server that refuses connections is the outage a deployment sees. A SQLite
file cannot vanish under a process that holds it open (docs/reliability.md, limits).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from events.broker import free_port
from tests.conftest import drop_postgres_database, fresh_postgres_database
from tests.faults.conftest import FaultReport
from tests.faults.harness import (
    EverycallProcess,
    Reporter,
    dispatcher_token,
    incidents_in,
    prepared_database,
    stored_ids,
    wait_for_http,
    wait_until,
    wuhan_teams,
)
from tests.faults.whereabouts import describe, last_seen

pytestmark = pytest.mark.timeout(900)  # real processes on a shared machine

OUTAGE_S = 12


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database (this module overrides the both-backends fixture)."""
    url, name = fresh_postgres_database(postgres_admin_url)
    try:
        yield url
    finally:
        set_connections(postgres_admin_url, name, allowed=True)
        drop_postgres_database(postgres_admin_url, name)


def set_connections(admin_url: str, database: str, *, allowed: bool) -> None:
    """Open or close the database to new connections; closing also ends the open ones."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {str(allowed).lower()}')
        )
        if not allowed:
            connection.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )
    admin.dispose()


def test_database_outage_answers_503_loses_nothing_and_work_resumes(
    database_url: str,
    postgres_admin_url: str,
    broker: str,
    everycall: Callable[..., EverycallProcess],
    fault_report: FaultReport,
) -> None:
    name = database_url.rsplit("/", 1)[1]
    with prepared_database(database_url, wuhan_teams(40, capacity=40)) as engine:
        token = dispatcher_token(engine)
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        api = everycall(["api", "--port", str(port)], broker, "api")
        dispatcher = everycall(["dispatcher"], broker, "dispatcher", watchdog_interval_s="3600")
        api.start()
        dispatcher.start()
        wait_for_http(base_url, 120, api)
        reporter = Reporter(base_url, token)
        reporter.start()

        def routed() -> set[str]:
            return stored_ids(engine, reporter.accepted.values(), "assigned")

        try:
            wait_until(lambda: len(routed()) >= 10, 120, "the first reports to be routed")
            set_connections(postgres_admin_url, name, allowed=False)
            down_at = time.monotonic()
            fault_report.injected(
                f"database closed to connections, its sessions terminated, for {OUTAGE_S}s"
            )
            time.sleep(2)
            assert httpx.get(f"{base_url}/healthz", timeout=10).status_code == 200
            ready = httpx.get(f"{base_url}/readyz", timeout=10)
            assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
            fault_report.checked("/healthz 200 and /readyz 503 naming the database while away")
            refused = httpx.post(
                f"{base_url}/incidents",
                json={"kind": "repair", "latitude": 30.6, "longitude": 114.3},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert refused.status_code == 503, refused.text
            assert "Retry-After" in refused.headers
            time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
            set_connections(postgres_admin_url, name, allowed=True)
            up_at = time.monotonic()
            fault_report.injected("database opened again")
            time.sleep(4)
        finally:
            reporter.stop()
        during = reporter.statuses(down_at, up_at)
        assert during[503] > 0, during
        assert set(during) <= {202, 503}, during
        everything = reporter.statuses()
        assert set(everything) <= {202, 503}, everything
        assert not reporter.refused
        fault_report.checked(
            f"during the outage the API answered {dict(during)} (no 500, no hang); "
            "the client retried each 503 with its Idempotency-Key"
        )
        accepted = set(reporter.accepted.values())
        group = dispatcher.env["EVERYCALL_CONSUMER_GROUP"]
        wait_until(
            lambda: routed() == accepted,
            120,
            "every accepted report to be routed",
            why=lambda: describe(last_seen(engine, broker, group, accepted)),
        )
        assert incidents_in(engine) == len(accepted) == len(reporter.accepted)
        fault_report.checked(
            f"all {len(accepted)} acknowledged reports stored and routed, one incident per "
            "Idempotency-Key: nothing acknowledged that was not stored, nothing doubled"
        )
        assert api.running() and dispatcher.running(), dispatcher.log_tail()
        fault_report.checked("the API and dispatcher processes rode the outage out")
