"""Shared fixtures: the real broker (Tansu), real databases (SQLite and PostgreSQL), Prefect.

Nothing here is a stand-in: a test that asks for PostgreSQL gets a fresh database on the
server at 127.0.0.1:5432 (started if it is down), and a test that asks for Kafka gets its own
broker process on a free port.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

# Prefect reads these at import time; set them before anything imports it. Each pytest-xdist
# worker gets a Prefect home of its own (it would otherwise inherit the controller's).
_PREFECT_HOME = Path(tempfile.mkdtemp(prefix="everycall-prefect-"))
if "PREFECT_HOME" not in os.environ or os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

import pytest  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from dispatch.bootstrap import running  # noqa: E402
from dispatch.config import Settings  # noqa: E402
from dispatch.service_layer.services import Services  # noqa: E402
from events.broker import EmbeddedBroker  # noqa: E402
from events.kafka import ensure_topics  # noqa: E402
from models.clock import ManualClock  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get(
    "EVERYCALL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def _postgres_answers() -> bool:
    try:
        with create_engine(POSTGRES_ADMIN_URL).connect() as connection:
            connection.execute(text("select 1"))
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The PostgreSQL server, started with the machine's own command if it is down."""
    if not _postgres_answers():
        subprocess.run(
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            shell=True,
            check=False,
            capture_output=True,
        )
        deadline = time.monotonic() + 30
        while not _postgres_answers():
            if time.monotonic() > deadline:
                pytest.fail(f"PostgreSQL does not answer at {POSTGRES_ADMIN_URL}")
            time.sleep(0.5)
    return POSTGRES_ADMIN_URL


def fresh_postgres_database(admin_url: str) -> tuple[str, str]:
    name = f"everycall_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}", name


def drop_postgres_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database on each backend in turn: same test, every backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'everycall.db'}"
        return
    admin_url = request.getfixturevalue("postgres_admin_url")
    url, name = fresh_postgres_database(admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(admin_url, name)


@pytest.fixture
def broker() -> Iterator[str]:
    """A real Kafka-protocol broker of this test's own: it starts in milliseconds."""
    with EmbeddedBroker() as embedded:
        ensure_topics(embedded.bootstrap_servers)
        yield embedded.bootstrap_servers


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(database_url: str, broker: str) -> Settings:
    return Settings(
        database_url=database_url,
        kafka_bootstrap_servers=broker,
        consumer_group=f"test-{uuid.uuid4().hex[:8]}",
        max_poll_interval_ms=5_000,
        # storm grouping off: tests put many reports on one spot; grouping tests turn it on
        storm_radius_m=0.0,
    )


@pytest.fixture
def services(settings: Settings, clock: ManualClock) -> Iterator[Services]:
    with running(settings, clock=clock) as wired:
        yield wired


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """A throwaway Prefect server for the flows under test."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


FAULT_REPORT = "fault_report"  # user property: what a fault test injected and checked
FAULT_REPORT_PATH = Path(__file__).resolve().parents[1] / "out" / "fault-report.txt"
_fault_lines: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Runs where the summary is printed: in the pytest-xdist controller, or the only process.
    for name, lines in report.user_properties:
        if name == FAULT_REPORT:
            _fault_lines.extend(lines)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _fault_lines:
        return
    terminalreporter.section("fault injection report")
    for line in _fault_lines:
        terminalreporter.write_line(line)
    FAULT_REPORT_PATH.parent.mkdir(exist_ok=True)
    FAULT_REPORT_PATH.write_text("\n".join(_fault_lines) + "\n")
    terminalreporter.write_line(f"(also written to {FAULT_REPORT_PATH})")
