"""A slow or stuck team-facing call never holds up routing for the other regions.

Two shapes of "stuck", at once: a transaction of a team's call that stops half-way with its row
locks held (the locks a task update takes: the incident and the team), and team clients that
send their requests so slowly that the handlers wait for the bodies.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence

import httpx
import pytest
from sqlalchemy import Connection, Engine, create_engine, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow, TeamRow
from events.broker import free_port
from models.team import GeoPoint, Team
from tests.conftest import drop_postgres_database, fresh_postgres_database
from tests.faults.conftest import FaultReport
from tests.faults.harness import (
    WUHAN,
    EverycallProcess,
    dispatcher_token,
    prepared_database,
    stored_ids,
    wait_for_http,
    wait_until,
    wuhan_teams,
)

pytestmark = pytest.mark.timeout(900)  # real processes on a shared machine

YICHANG = (30.6919, 111.2865)
HOLD_S = 20
SLOW = 20  # slow team clients
ROUTED_WITHIN_S = 12.0


def yichang_teams(count: int) -> list[Team]:
    return [
        Team(
            id=f"yc-{n:03d}",
            name=f"Yichang team {n}",
            region="yichang",
            home=GeoPoint(latitude=YICHANG[0] + n / 100, longitude=YICHANG[1]),
            members=5,
            party_members=4,
            capacity=20,
        )
        for n in range(count)
    ]


class Center:
    """The dispatch center's HTTP client."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )

    def report(self, at: tuple[float, float], n: int) -> str:
        body = {
            "kind": "repair",
            "latitude": round(at[0] + (n % 10) * 0.004, 6),
            "longitude": round(at[1] + (n // 10) * 0.005, 6),
        }
        answer = self.client.post("/incidents", json=body)
        assert answer.status_code == 202, answer.text
        return str(answer.json()["id"])


@pytest.fixture
def started(
    database_url: str, broker: str, everycall: Callable[..., EverycallProcess]
) -> Iterator[tuple[Engine, Center, str]]:
    """API and dispatcher processes on teams in Wuhan and Yichang; (engine, center, API url)."""
    teams = wuhan_teams(10, capacity=20) + yichang_teams(10)
    with prepared_database(database_url, teams) as engine:
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        api = everycall(["api", "--port", str(port)], broker, "api")
        dispatcher = everycall(["dispatcher"], broker, "dispatcher", watchdog_interval_s="3600")
        api.start()
        dispatcher.start()
        wait_for_http(base_url, 120, api)
        yield engine, Center(base_url, dispatcher_token(engine)), base_url


def team_of(engine: Engine, incident_id: str) -> str:
    with Session(engine) as session:
        query = select(IncidentRow.team_id).where(IncidentRow.id == incident_id)
        return str(session.scalar(query))


def routed_within(engine: Engine, ids: Sequence[str], seconds: float) -> float:
    return wait_until(
        lambda: stored_ids(engine, ids, "assigned") == set(ids), seconds, f"{len(ids)} routed"
    )


@pytest.fixture
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """PostgreSQL: row locks are per row there; SQLite has one writer at a time (limits)."""
    url, name = fresh_postgres_database(postgres_admin_url)
    try:
        yield url
    finally:
        drop_postgres_database(postgres_admin_url, name)


def test_stuck_and_slow_team_calls_do_not_hold_up_routing_elsewhere(
    database_url: str, started: tuple[Engine, Center, str], fault_report: FaultReport
) -> None:
    engine, center, base_url = started
    first = center.report(WUHAN, 0)
    routed_within(engine, [first], 120)
    team_id = team_of(engine, first)
    token = team_token(engine, team_id)
    slow = [SlowClient(base_url, f"/tasks/{first}/resolve", token, HOLD_S) for _ in range(SLOW)]
    stuck_engine = create_engine(database_url)
    with stuck_engine.connect() as stuck:
        hold_task_locks(stuck, first, team_id)
        held_at = time.monotonic()
        for client in slow:
            client.start()
        fault_report.injected(
            f"a team call's transaction stuck for {HOLD_S}s holding the row locks of its "
            f"task ({first}) and its team ({team_id})"
        )
        fault_report.injected(
            f"{SLOW} team clients sending their resolve request a byte a second meanwhile"
        )
        elsewhere = [center.report(YICHANG, n) for n in range(10)]
        nearby = [center.report(WUHAN, n) for n in range(1, 6)]
        took = routed_within(engine, elsewhere + nearby, ROUTED_WITHIN_S)
        health = max(_answer_time(base_url) for _ in range(5))
        assert time.monotonic() - held_at < HOLD_S, "the locks were released too early"
        assert all(client.is_alive() for client in slow), "the slow requests ended too early"
        assert health < 1.0
        fault_report.checked(
            f"10 Yichang and 5 Wuhan reports routed in {took:.1f}s, /healthz answered within "
            f"{health * 1000:.0f} ms, while the locks were held and the slow requests open"
        )
        with Session(engine) as session:
            query = select(IncidentRow.team_id).where(IncidentRow.id.in_(elsewhere + nearby))
            chosen = set(session.scalars(query))
        assert team_id not in chosen
        fault_report.checked(f"the stuck team {team_id} was passed over, not waited for")
        time.sleep(max(0.0, HOLD_S - (time.monotonic() - held_at)))
        stuck.rollback()
    stuck_engine.dispose()
    later = [center.report(WUHAN, n) for n in range(6, 9)]
    routed_within(engine, later, 30)
    for client in slow:
        client.join(timeout=HOLD_S + 30)
    assert all(client.status for client in slow)
    fault_report.checked(
        "after the stuck call ended, routing went on and the slow requests were answered "
        f"({sorted({c.status for c in slow})})"
    )


def hold_task_locks(connection: Connection, incident_id: str, team_id: str) -> None:
    """What a task update holds half-way: its incident's row, then its team's row."""
    connection.execute(
        select(IncidentRow.id).where(IncidentRow.id == incident_id).with_for_update()
    )
    connection.execute(select(TeamRow.id).where(TeamRow.id == team_id).with_for_update())


def team_token(engine: Engine, team_id: str) -> str:
    from dispatch.service_layer.access import Role
    from dispatch.service_layer.tokens import create_token

    with Session(engine) as session, session.begin():
        return create_token(session, Role.TEAM, team_id, name="slow-team")


def _answer_time(base_url: str) -> float:
    start = time.monotonic()
    assert httpx.get(f"{base_url}/healthz", timeout=5).status_code == 200
    return time.monotonic() - start


class SlowClient(threading.Thread):
    """A team's phone on a bad line: its request body arrives a byte a second."""

    def __init__(self, base_url: str, path: str, token: str, seconds: float) -> None:
        super().__init__(daemon=True)
        host, port = base_url.removeprefix("http://").split(":")
        self._address = (host, int(port))
        self._path, self._token, self._seconds = path, token, seconds
        self.status = ""

    def run(self) -> None:
        body = b'{"notes":"' + b"x" * max(0, int(self._seconds) - 12) + b'"}'
        head = (
            f"POST {self._path} HTTP/1.1\r\nHost: everycall\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            f"Authorization: Bearer {self._token}\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(self._address, timeout=self._seconds + 30) as connection:
            connection.sendall(head.encode())
            for byte in body:
                connection.sendall(bytes([byte]))
                time.sleep(self._seconds / len(body))
            self.status = connection.recv(64).decode(errors="replace").split("\r\n")[0]
