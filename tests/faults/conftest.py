"""Fixtures of the fault tests, and the report of what they injected and what they checked.

Each test's record rides on its call report; tests/conftest.py prints them all at the end of
the run and writes them to out/fault-report.txt.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import FAULT_REPORT
from tests.faults.harness import EverycallProcess, process_env


@dataclass
class FaultRecord:
    test: str
    injected: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    outcome: str = "?"


_RECORDS: list[FaultRecord] = []


class FaultReport:
    """What one test injected and what it then checked, for the session's summary."""

    def __init__(self, record: FaultRecord) -> None:
        self._record = record

    def injected(self, what: str) -> None:
        self._record.injected.append(what)

    def checked(self, what: str) -> None:
        self._record.checked.append(what)


@pytest.fixture
def fault_report(request: pytest.FixtureRequest) -> Iterator[FaultReport]:
    record = FaultRecord(request.node.nodeid.split("::", 1)[-1])
    _RECORDS.append(record)
    yield FaultReport(record)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: pytest.TestReport = yield
    setattr(item, f"report_{report.when}", report)  # the fixtures' teardown looks at it
    if report.when == "call":
        name = item.nodeid.split("::", 1)[-1]
        for record in _RECORDS:
            if record.test == name:
                record.outcome = report.outcome
                # to tests/conftest.py's summary, across pytest-xdist's process boundary
                report.user_properties.append((FAULT_REPORT, render_report([record])))
    return report


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`) the fault tests run one after another on one worker:
    each starts its own broker, API and dispatcher, and two at once would starve each other."""
    for item in items:
        if "tests/faults/" in item.nodeid:
            item.add_marker(pytest.mark.xdist_group("heavy"))


def render_report(records: list[FaultRecord]) -> list[str]:
    lines: list[str] = []
    for record in records:
        lines.append(f"{record.test}: {record.outcome}")
        lines += [f"  injected: {what}" for what in record.injected]
        lines += [f"  checked:  {what}" for what in record.checked]
    return lines


@pytest.fixture(scope="session")
def prefect_api_url(prefect_server: None) -> str:
    """The throwaway Prefect server's URL, for the everycall subprocesses."""
    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url, "the Prefect test harness gave no API URL"
    return str(url)


ProcessFactory = Callable[..., EverycallProcess]


@pytest.fixture
def everycall(
    request: pytest.FixtureRequest, database_url: str, prefect_api_url: str, tmp_path: Path
) -> Iterator[Callable[..., EverycallProcess]]:
    """Builds `everycall` subprocesses on this test's database; stops the survivors after."""
    started: list[EverycallProcess] = []
    prefect_home = Path(tempfile.mkdtemp(prefix="everycall-fault-prefect-"))
    group = f"fault-{uuid.uuid4().hex[:8]}"

    def build(
        args: list[str], bootstrap_servers: str, name: str, **settings: str
    ) -> EverycallProcess:
        env = process_env(
            database_url=database_url,
            bootstrap_servers=bootstrap_servers,
            prefect_api_url=prefect_api_url,
            prefect_home=prefect_home,
            consumer_group=group,
            **settings,
        )
        process = EverycallProcess(args, env, tmp_path, name)
        started.append(process)
        return process

    yield build
    call = getattr(request.node, "report_call", None)
    for process in started:
        if call is not None and call.failed:
            process.dump_stacks()  # where a process that should have moved on was waiting
        process.stop()
