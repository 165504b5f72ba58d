"""Two `everycall api` processes on one PostgreSQL database, as a deployment scales the API:
a token's rate limit is one limit across both (in the database, or in Redis when
EVERYCALL_REDIS_URL is set), and an Idempotency-Key sent to both at once makes one incident.

The processes are real (their own ports, the test's broker and database); PostgreSQL and Redis
are the machine's, started if they are down, and a test that cannot reach them fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dispatch import bootstrap
from dispatch.adapters.orm import AssignmentRow
from dispatch.config import Settings
from dispatch.service_layer import users
from dispatch.service_layer.access import Role
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.tokens import create_token
from events import topics
from events.broker import free_port
from events.kafka import KafkaBatchConsumer, Record
from events.log import LoggedEvent
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.incident import Incident, IncidentKind
from tests.conftest import drop_postgres_database, fresh_postgres_database
from tests.faults.harness import (
    WUHAN,
    EverycallProcess,
    count,
    dispatcher_token,
    prepared_database,
    process_env,
    wait_for_http,
    wuhan_teams,
)
from tests.integration.test_api_processes_buckets import redis_url

pytestmark = pytest.mark.timeout(600)  # real processes on a shared machine

BURST = 10
RATE = "0.01"  # a token a hundred seconds: nothing refills while the test runs
KEYS = 20
__all__ = ["redis_url"]  # the fixture, shared with the bucket stores' tests


@pytest.fixture
def database(postgres_admin_url: str) -> Iterator[tuple[str, Engine]]:
    """A fresh PostgreSQL database with the schema and a few Wuhan teams."""
    url, name = fresh_postgres_database(postgres_admin_url)
    try:
        with prepared_database(url, wuhan_teams(4, capacity=3)) as engine:
            yield url, engine
    finally:
        drop_postgres_database(postgres_admin_url, name)


APIs = Callable[..., list[str]]


@pytest.fixture
def two_apis(database: tuple[str, Engine], broker: str, tmp_path: Path) -> Iterator[APIs]:
    """Starts two `everycall api` processes with the given settings; their base URLs."""
    started: list[EverycallProcess] = []

    def start(**settings: str) -> list[str]:
        env = process_env(
            database_url=database[0],
            bootstrap_servers=broker,
            prefect_api_url="http://127.0.0.1:9/api",  # the API runs no flows
            prefect_home=tmp_path / "prefect",
            consumer_group=f"api-test-{uuid.uuid4().hex[:8]}",
            **settings,
        )
        urls = []
        for n in (1, 2):
            port = free_port()
            process = EverycallProcess(["api", "--port", str(port)], env, tmp_path, f"api-{n}")
            started.append(process.start())
            urls.append(f"http://127.0.0.1:{port}")
        for url, process in zip(urls, started, strict=True):
            wait_for_http(url, 120, process)
        return urls

    yield start
    for process in started:
        process.stop()


class UvicornWorkers(EverycallProcess):
    """`uvicorn --workers N` serving the API's factory: N processes on one port."""

    def __init__(self, workers: int, port: int, env: dict[str, str], workdir: Path) -> None:
        super().__init__([], env, workdir, f"uvicorn-{workers}-workers")
        self.command = [
            *(sys.executable, "-m", "uvicorn", "--factory"),
            "dispatch.entrypoints.api.server:app_from_environment",
            *("--workers", str(workers), "--port", str(port), "--log-level", "warning"),
        ]

    def start(self, **extra_env: str) -> EverycallProcess:
        with self.log_path.open("ab") as log:
            log.write(f"--- {datetime.now(UTC):%H:%M:%S} start {self.command}\n".encode())
            self._process = subprocess.Popen(
                self.command,
                env={**self.env, **extra_env},
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self


def store_settings(store: str, request: pytest.FixtureRequest) -> dict[str, str]:
    """The settings that put the buckets in `store` (the database is the default)."""
    if store == "redis":
        return {"redis_url": request.getfixturevalue("redis_url")}
    return {}


@pytest.mark.parametrize("store", ["database", "redis"])
def test_a_tokens_rate_limit_is_one_limit_across_two_api_processes(
    store: str,
    request: pytest.FixtureRequest,
    database: tuple[str, Engine],
    two_apis: APIs,
) -> None:
    urls = two_apis(
        api_rate_per_s=RATE, api_rate_burst=str(BURST), **store_settings(store, request)
    )
    busy, calm = (bearer(dispatcher_token(database[1])) for _ in range(2))
    answers = [httpx.get(f"{urls[n % 2]}/queue", headers=busy, timeout=30) for n in range(BURST)]
    assert [a.status_code for a in answers] == [200] * BURST  # five on each process
    over = [httpx.get(f"{url}/queue", headers=busy, timeout=30) for url in urls]
    # each process alone has had five: only a shared bucket is empty now
    assert [a.status_code for a in over] == [429, 429]
    assert all(1 <= int(a.headers["Retry-After"]) <= 100 for a in over)
    assert all(httpx.get(f"{u}/queue", headers=calm, timeout=30).status_code == 200 for u in urls)
    if store == "database":
        assert count(database[1], "SELECT count(*) FROM rate_limit_buckets") == 2  # two tokens


def test_a_teams_tap_sent_to_two_api_processes_at_once_is_applied_once(
    database: tuple[str, Engine], two_apis: APIs
) -> None:
    url, engine = database
    task_id, team_id = routed_task(url, engine)
    with Session(engine) as session, session.begin():
        headers = bearer(create_token(session, Role.TEAM, team_id))
    urls = two_apis()
    for step in ("ack", "en-route", "on-scene"):
        key = f"tap-{step}-{uuid.uuid4().hex[:8]}"
        answers = at_once([f"{u}/tasks/{task_id}/{step}" for u in urls], key, None, headers)
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
        assert answers[0].json() == answers[1].json()  # the second got the first's answer
    assert task_events(engine, task_id) == ["task.acknowledged", "task.departed", "task.arrived"]
    for u in urls:  # a used key with another move: refused by either process
        other = httpx.post(
            f"{u}/tasks/{task_id}/resolve",
            json={"notes": "done"},
            headers={**headers, "Idempotency-Key": key},
            timeout=30,
        )
        assert other.status_code == 422, other.text


def routed_task(url: str, engine: Engine) -> tuple[str, str]:
    """One report routed in this process, before the APIs start: (incident id, its team)."""
    settings = Settings(database_url=url, storm_radius_m=0.0)
    with bootstrap.database(settings) as services:
        reported = Incident(
            kind=IncidentKind.REPAIR,
            latitude=WUHAN[0],
            longitude=WUHAN[1],
            region="wuhan",
            reported_at=services.clock.now(),
        )
        payload = IncidentReported(**reported.model_dump())
        envelope = envelope_for(payload, producer="test", key="wuhan", at=reported.reported_at)
        record = Record(topics.INCIDENTS, 0, 0, b"wuhan", envelope.to_bytes())
        handle_incident_records(services, [record])
    with Session(engine) as session:
        team_id = session.scalar(
            select(AssignmentRow.team_id).where(AssignmentRow.incident_id == reported.id)
        )
    assert team_id is not None, "the report was not routed"
    return reported.id, team_id


def task_events(engine: Engine, incident_id: str) -> list[str]:
    with Session(engine) as session:
        types = session.scalars(
            select(LoggedEvent.type)
            .where(LoggedEvent.subject == incident_id)
            .order_by(LoggedEvent.seq)
        )
        return [t for t in types if t.startswith("task.")]


def test_sign_in_attempts_are_counted_across_two_api_processes(
    database: tuple[str, Engine], two_apis: APIs
) -> None:
    with Session(database[1]) as session, session.begin():
        users.add_user(session, "li.na", Role.AUDITOR, "长江大桥-2026-good", at=datetime.now(UTC))
    urls = two_apis()

    def guess(n: int) -> httpx.Response:
        body = {"username": "li.na", "password": f"guess-{n:04d}-x"}
        return httpx.post(f"{urls[n % 2]}/session", json=body, timeout=30)

    answers = [guess(n) for n in range(7)]
    # five attempts at once per account and address, shared: three on one, two on the other
    assert [a.status_code for a in answers] == [401] * 5 + [429, 429]
    assert int(answers[-1].headers["Retry-After"]) >= 1


def test_uvicorn_workers_share_one_rate_limit_per_token(
    database: tuple[str, Engine], broker: str, tmp_path: Path
) -> None:
    env = process_env(
        database_url=database[0],
        bootstrap_servers=broker,
        prefect_api_url="http://127.0.0.1:9/api",
        prefect_home=tmp_path / "prefect",
        consumer_group="unused",
        api_rate_per_s=RATE,
        api_rate_burst=str(BURST),
    )
    port = free_port()
    workers = UvicornWorkers(2, port, env, tmp_path).start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_http(url, 120, workers)
        headers = bearer(dispatcher_token(database[1]))
        # at once, each on a connection of its own: the kernel hands them to both workers
        with ThreadPoolExecutor(6) as pool:
            answers = list(
                pool.map(
                    lambda _: httpx.get(f"{url}/queue", headers=headers, timeout=30).status_code,
                    range(3 * BURST),
                )
            )
        assert Counter(answers) == {200: BURST, 429: 2 * BURST}
    finally:
        workers.stop()


@pytest.mark.parametrize("store", ["database", "redis"])
def test_one_idempotency_key_sent_to_two_api_processes_at_once_makes_one_incident(
    store: str,
    request: pytest.FixtureRequest,
    database: tuple[str, Engine],
    broker: str,
    two_apis: APIs,
) -> None:
    urls = two_apis(**store_settings(store, request))
    headers = bearer(dispatcher_token(database[1]))
    ids: dict[str, set[str]] = {}
    for n in range(KEYS):
        key = f"twin-{n}-{uuid.uuid4().hex[:8]}"
        answers = at_once([f"{u}/incidents" for u in urls], key, report(n), headers)
        assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
        ids[key] = {a.json()["id"] for a in answers}
    assert all(len(got) == 1 for got in ids.values()), ids  # both processes gave the same id
    assert count(database[1], "SELECT count(*) FROM idempotency_keys") == KEYS
    # Both relays may publish a row before either deletes it (at least once; consumers keep
    # one copy per event_id): what must hold is one event, of one incident, per key.
    published = incidents_published(broker, expected=KEYS)
    assert set(published.values()) == {next(iter(got)) for got in ids.values()}
    assert len(published) == KEYS

    reused = next(iter(ids))
    for url in urls:  # the same key with another report: refused by either process
        refused = post_report(url, reused, report(KEYS + 1), headers)
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["type"] == "idempotency_key_reused"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def report(n: int) -> dict[str, object]:
    return {
        "kind": "repair",
        "latitude": WUHAN[0] + n / 1000,
        "longitude": WUHAN[1],
        "address": f"武汉市江岸区 test {n}",
    }


def post_report(
    url: str, key: str, body: dict[str, object], headers: dict[str, str]
) -> httpx.Response:
    return post_with_key(f"{url}/incidents", key, body, headers)


def post_with_key(
    url: str, key: str, body: dict[str, object] | None, headers: dict[str, str]
) -> httpx.Response:
    return httpx.post(url, json=body, headers={**headers, "Idempotency-Key": key}, timeout=30)


def at_once(
    urls: list[str], key: str, body: dict[str, object] | None, headers: dict[str, str]
) -> list[httpx.Response]:
    """The same request to each URL (one per process), released together: a client's retry
    racing itself."""
    start = threading.Barrier(len(urls))
    answers: list[httpx.Response | None] = [None] * len(urls)

    def send(n: int) -> None:
        start.wait()
        answers[n] = post_with_key(urls[n], key, body, headers)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert all(a is not None for a in answers), "a request did not come back"
    return [a for a in answers if a is not None]


def incidents_published(broker: str, expected: int, timeout_s: float = 30) -> dict[str, str]:
    """The incident of each event_id the two relays published on the incidents topic, read
    until `expected` events arrived, then a few seconds more so that an extra would be seen."""
    consumer = KafkaBatchConsumer(
        broker, [topics.INCIDENTS], f"reader-{uuid.uuid4().hex[:8]}", max_poll_interval_ms=3000
    )
    got: dict[str, str] = {}
    try:
        deadline = time.monotonic() + timeout_s
        while len(got) < expected and time.monotonic() < deadline:
            got.update(event_and_incident(r.value) for r in consumer.poll_batch(1000, 500))
        settle = time.monotonic() + 3
        while time.monotonic() < settle:
            got.update(event_and_incident(r.value) for r in consumer.poll_batch(500, 500))
    finally:
        consumer.close()
    return got


def event_and_incident(value: bytes | None) -> tuple[str, str]:
    envelope = json.loads(value or b"{}")
    return str(envelope["event_id"]), str(envelope["payload"]["id"])
