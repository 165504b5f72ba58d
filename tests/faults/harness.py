"""Real `everycall` processes for the fault tests, and small waits and counts around them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from dispatch.adapters.orm import AssignmentRow, IncidentRow, OutboxRow, create_schema, make_engine
from dispatch.service_layer.registry import replace_registry
from events.broker import listener_owner
from events.log import LoggedEvent
from models.incident import Incident
from models.response_plans import ResponsePlans
from models.team import GeoPoint, Team

# Where the test teams work: Wuhan, the region code the registry uses for it.
WUHAN = (30.5928, 114.3055)


def everycall_command() -> list[str]:
    """The installed `everycall` script of this interpreter's environment."""
    script = Path(sys.executable).with_name("everycall")
    return (
        [str(script)]
        if script.exists()
        else [sys.executable, "-m", "dispatch.entrypoints.cli.main"]
    )


class EverycallProcess:
    """One `everycall <command>` subprocess; its output goes to a log file for post-mortems."""

    def __init__(self, args: Sequence[str], env: Mapping[str, str], workdir: Path, name: str):
        self.args, self.env, self.workdir, self.name = list(args), dict(env), workdir, name
        self.log_path = workdir / f"{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, **extra_env: str) -> EverycallProcess:
        with self.log_path.open("ab") as log:
            stamp = datetime.now(UTC).strftime("%H:%M:%S.%f")[:-3]
            log.write(f"\n--- {stamp} start {' '.join(self.args)} {extra_env}\n".encode())
            self._process = subprocess.Popen(
                [*everycall_command(), *self.args],
                env={**self.env, **extra_env},
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a kill -9 of the test run's group does not reach it
            )
        return self

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill9(self) -> int:
        """SIGKILL: no handler runs, nothing is flushed or committed."""
        assert self._process is not None
        os.kill(self._process.pid, signal.SIGKILL)
        return self._process.wait(timeout=30)

    def dump_stacks(self) -> None:
        """For a post-mortem: SIGABRT makes Python's faulthandler write every thread's stack
        to the log (PYTHONFAULTHANDLER is set), then the process ends."""
        if self.running():
            assert self._process is not None
            os.kill(self._process.pid, signal.SIGABRT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._process.wait(timeout=10)

    def wait_exit(self, timeout_s: float) -> int:
        assert self._process is not None
        return self._process.wait(timeout=timeout_s)

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def process_env(
    *,
    database_url: str,
    bootstrap_servers: str,
    prefect_api_url: str,
    prefect_home: Path,
    consumer_group: str,
    **settings: str,
) -> dict[str, str]:
    """The environment of an everycall process pointed at the test's broker, DB and Prefect."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("EVERYCALL_", "PREFECT_", "KAFKA_BOOTSTRAP"))
    }
    env.update(
        EVERYCALL_DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=bootstrap_servers,
        EVERYCALL_CONSUMER_GROUP=consumer_group,
        PREFECT_API_URL=prefect_api_url,
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        PYTHONFAULTHANDLER="1",
        # These tests check delivery, not storm grouping: their reports repeat a few spots,
        # and grouping would merge the repeats instead of routing them.
        EVERYCALL_STORM_RADIUS_M="0",
    )
    env.update({f"EVERYCALL_{k.upper()}": v for k, v in settings.items()})
    return env


def wait_until(
    done: Callable[[], bool],
    timeout_s: float,
    what: str,
    poll_s: float = 0.2,
    why: Callable[[], str] | None = None,
) -> float:
    """Poll `done` until it holds; returns the seconds it took, fails the test on timeout
    (with what `why` says about the state things were left in, for the post-mortem)."""
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout_s:
            detail = f"\n{why()}" if why else ""
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}{detail}")
        time.sleep(poll_s)
    return time.monotonic() - start


def wuhan_teams(count: int, capacity: int) -> list[Team]:
    return [
        Team(
            id=f"ft-{n:03d}",
            name=f"Fault team {n}",
            region="wuhan",
            home=GeoPoint(latitude=WUHAN[0] + (n % 10) / 100, longitude=WUHAN[1] + n // 10 / 100),
            members=5,
            party_members=4,
            capacity=capacity,
        )
        for n in range(count)
    ]


@contextmanager
def prepared_database(url: str, teams: Sequence[Team]) -> Iterator[Engine]:
    """The schema and the team registry, written before any process starts."""
    engine = make_engine(url)
    create_schema(engine)
    with Session(engine) as session, session.begin():
        replace_registry(session, teams, datetime.now(UTC))
    try:
        yield engine
    finally:
        engine.dispose()


def count(engine: Engine, statement: str, **params: object) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(statement), params).scalar() or 0)


def tasks_for(reports: Sequence[Incident]) -> int:
    """The tasks a burst of reports makes: one per report, and one per support task of those
    whose built-in response plan wants several teams (critical disaster relief: two)."""
    plans = ResponsePlans()
    return sum(plans.plan_for(i.kind, i.priority).teams for i in reports)


def incidents_in(engine: Engine, state: str | None = None) -> int:
    """Stored incidents, support tasks included (each is an incident of its own)."""
    query = select(func.count()).select_from(IncidentRow)
    if state is not None:
        query = query.where(IncidentRow.state == state)
    with Session(engine) as session:
        return int(session.scalar(query) or 0)


def assignment_rows(engine: Engine) -> tuple[int, int]:
    """(assignments, distinct incidents assigned)."""
    with Session(engine) as session:
        rows = session.scalar(select(func.count()).select_from(AssignmentRow)) or 0
        distinct = session.scalar(select(func.count(func.distinct(AssignmentRow.incident_id))))
        return int(rows), int(distinct or 0)


def states_of(engine: Engine, ids: Iterable[str]) -> str:
    """How many of `ids` are in each state ("missing": not stored at all)."""
    wanted = set(ids)
    with Session(engine) as session:
        rows = session.execute(
            select(IncidentRow.id, IncidentRow.state).where(IncidentRow.id.in_(wanted))
        ).all()
    states = Counter(state for _, state in rows)
    states["missing"] = len(wanted) - len(rows)
    return ", ".join(f"{state}: {n}" for state, n in sorted(states.items()))


def outbox_rows(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


def logged_effects(engine: Engine, event_type: str) -> tuple[int, int]:
    """(entries of `event_type` in the event log, distinct subjects among them)."""
    with Session(engine) as session:
        of_type = select(LoggedEvent).where(LoggedEvent.type == event_type).subquery()
        total = session.scalar(select(func.count()).select_from(of_type)) or 0
        subjects = session.scalar(select(func.count(func.distinct(of_type.c.subject))))
        return int(total), int(subjects or 0)


def wait_for_http(base_url: str, timeout_s: float, process: EverycallProcess) -> None:
    """Until `process` answers on `base_url`: the listener must be its own, not another
    process's that took the picked port first (another test's API under pytest-xdist)."""
    port = int(base_url.rsplit(":", 1)[1])

    def answers() -> bool:
        if not process.running():
            raise AssertionError(f"{process.name} exited:\n{process.log_tail()}")
        if listener_owner(process.pid, port) is False:
            return False
        try:
            return httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, timeout_s, f"{process.name} to answer on {base_url}")


def dispatcher_token(engine: Engine, pepper: str = "") -> str:
    """A dispatch-center token, stored hashed as `everycall tokens create` stores it."""
    from dispatch.service_layer.access import Role
    from dispatch.service_layer.tokens import create_token

    with Session(engine) as session, session.begin():
        return create_token(session, Role.DISPATCHER, name="fault-test", pepper=pepper)


@dataclass
class Answer:
    at: float
    status: int | str  # an HTTP status, or the name of the connection error
    latency_s: float


class Reporter(threading.Thread):
    """A dispatch-center client that reports incidents over HTTP at a steady pace.

    Like a careful client it retries a failed report (5xx or no answer) with the same
    Idempotency-Key until it is accepted, so each key stands for one call for help.
    """

    def __init__(self, base_url: str, token: str, interval_s: float = 0.1):
        super().__init__(name="fault-reporter", daemon=True)
        self._client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self.accepted: dict[str, str] = {}  # Idempotency-Key -> incident id
        self.answers: list[Answer] = []
        self.refused: list[tuple[int, str]] = []  # 4xx answers: the test's own bugs

    def run(self) -> None:
        while not self._stopped.is_set():
            if self._paused.is_set():
                self._idle.set()
                time.sleep(0.05)
                continue
            self._idle.clear()
            self._report_once(uuid.uuid4().hex)
            time.sleep(self._interval_s)
        self._idle.set()

    def _report_once(self, key: str) -> None:
        # About 450 m apart, so storm grouping (200 m) never merges two of them.
        n = len(self.accepted)
        body = {
            "kind": "repair",
            "latitude": round(WUHAN[0] - 0.08 + (n % 40) * 0.004, 6),
            "longitude": round(WUHAN[1] - 0.1 + (n // 40 % 40) * 0.005, 6),
            "address": f"fault test {key[:8]}",
        }
        while not self._stopped.is_set():
            start = time.monotonic()
            try:
                answer = self._client.post(
                    "/incidents", json=body, headers={"Idempotency-Key": key}
                )
                status: int | str = answer.status_code
            except httpx.HTTPError as error:
                answer, status = None, type(error).__name__
            self.answers.append(Answer(start, status, time.monotonic() - start))
            if answer is not None and answer.status_code == 202:
                self.accepted[key] = str(answer.json()["id"])
                return
            if answer is not None and answer.status_code < 500:
                self.refused.append((answer.status_code, answer.text))
                return
            time.sleep(0.2)  # the server is in trouble: try again with the same key

    def pause(self) -> None:
        """Stop reporting after the report in flight is accepted."""
        self._paused.set()
        self._idle.clear()
        self._idle.wait(timeout=60)

    def resume(self) -> None:
        self._paused.clear()

    def stop(self) -> None:
        self._stopped.set()
        self.join(timeout=30)
        self._client.close()

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> Counter[int | str]:
        return Counter(a.status for a in self.answers if since <= a.at < until)

    def slowest(self, since: float = 0.0, until: float = float("inf")) -> float:
        return max((a.latency_s for a in self.answers if since <= a.at < until), default=0.0)


def stored_ids(engine: Engine, ids: Iterable[str], state: str | None = None) -> set[str]:
    """Which of these incident ids are in the database (in `state`, if given)."""
    wanted = list(ids)
    found: set[str] = set()
    with Session(engine) as session:
        for start in range(0, len(wanted), 500):
            query = select(IncidentRow.id).where(IncidentRow.id.in_(wanted[start : start + 500]))
            if state is not None:
                query = query.where(IncidentRow.state == state)
            found.update(session.scalars(query))
    return found


@dataclass
class Standby:
    """A process started but held at its start gate (EVERYCALL_FAULT_START_GATE) until the test
    lets it join, so a test decides when the consumer group changes."""

    process: EverycallProcess
    gate: Path
    fault_batch: int | None

    def release(self) -> None:
        """Let it join the consumer group, once it is ready (imports done, routing warm)."""
        waiting = self.gate.with_name(self.gate.name + ".waiting")

        def ready() -> bool:
            assert self.process.running(), self.process.log_tail()
            return waiting.exists()

        wait_until(ready, 180, f"{self.process.name} to be ready")
        self.gate.touch()
