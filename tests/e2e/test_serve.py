"""`everycall serve` as an operator runs it: one process, a fresh SQLite file, the embedded
broker; tokens come from the CLI and everything else is HTTP.

The process uses the test session's Prefect server (as it would use `PREFECT_API_URL` in
production): starting a temporary one per process is covered by the demo's e2e test, and on
a busy machine it can take a minute.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from events.broker import free_port

STARTUP_TIMEOUT_S = 180.0
WUHAN = (30.5928, 114.3055)


@dataclass
class Served:
    """A running `everycall serve` subprocess and what the CLI needs to reach its database."""

    process: subprocess.Popen[bytes]
    base_url: str
    env: dict[str, str]
    cwd: Path
    log: Path

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_cli(self.env, self.cwd, *args, check=check)

    def token(self, role: str, team: str | None = None) -> dict[str, str]:
        """A bearer header for a token made by `everycall tokens create` (last line: the token)."""
        args = ["tokens", "create", "--role", role] + (["--team", team] if team else [])
        token = self.cli(*args).stdout.strip().splitlines()[-1]
        return {"Authorization": f"Bearer {token}"}

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def run_cli(
    env: dict[str, str], cwd: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`everycall ARGS` as a subprocess, as an operator types it."""
    done = subprocess.run(
        [sys.executable, "-m", "dispatch.entrypoints.cli.main", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done


def clean_env(tmp_path: Path) -> dict[str, str]:
    """What a newcomer has: no Kafka, no Prefect server configured; a database of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "PREFECT_API_URL")
        and not k.startswith("EVERYCALL_")
    }
    env["EVERYCALL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'serve.db'}"
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    env["COLUMNS"] = "200"  # rich tables as on a wide terminal
    return env


def wait_until(check: Callable[[], bool], timeout_s: float, what: str, served: Served) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"serve exited with {served.process.returncode}:\n{served.output()}")
        if check():
            return
        time.sleep(0.25)
    pytest.fail(f"{what} not within {timeout_s}s:\n{served.output()}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def children_of(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        children = (task / "children").read_text().split()
        found.update(int(c) for c in children)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def served(tmp_path: Path, prefect_server: None) -> Iterator[Served]:
    """`everycall serve` on a free port; stopped with SIGTERM, as an init system would."""
    from prefect.settings import PREFECT_API_URL

    port = free_port()
    log = tmp_path / "serve.log"
    env = clean_env(tmp_path) | {"PREFECT_API_URL": str(PREFECT_API_URL.value())}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatch.entrypoints.cli.main", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, f"http://127.0.0.1:{port}", env, tmp_path, log)
    try:
        wait_until(lambda: answers(f"{served.base_url}/healthz"), 60, "healthz", served)
        yield served
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


def incident_state(served: Served, incident_id: str, headers: dict[str, str]) -> dict[str, Any]:
    answer = httpx.get(f"{served.base_url}/incidents/{incident_id}", headers=headers, timeout=10)
    return dict(answer.json()) if answer.status_code == 200 else {}


@pytest.mark.timeout(900)  # Prefect's first flow runs are slow on a busy machine
def test_serve_routes_a_report_and_the_team_takes_it_to_resolved(served: Served) -> None:
    url = served.base_url
    assert httpx.get(f"{url}/readyz", timeout=10).status_code == 200
    dispatcher = served.token("dispatcher")
    report = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1], "address": "e2e"}

    accepted = httpx.post(f"{url}/incidents", json=report, headers=dispatcher, timeout=10)
    assert accepted.status_code == 202, accepted.text
    incident_id = accepted.json()["id"]
    wait_until(
        lambda: incident_state(served, incident_id, dispatcher).get("state") == "assigned",
        STARTUP_TIMEOUT_S,
        "assignment",
        served,
    )
    team_id = incident_state(served, incident_id, dispatcher)["team_id"]
    team = served.token("team", team_id)

    states = []
    for action, body in [
        ("ack", None),
        ("en-route", None),
        ("on-scene", None),
        ("resolve", {"notes": "replaced the fuse"}),
    ]:
        answer = httpx.post(f"{url}/tasks/{incident_id}/{action}", json=body, headers=team)
        assert answer.status_code == 200, answer.text
        states.append(answer.json()["state"])

    assert states == ["acknowledged", "en_route", "on_scene", "resolved"]
    timeline = [e["type"] for e in incident_state(served, incident_id, dispatcher)["timeline"]]
    assert timeline[0] == "incident.reported"
    assert timeline.index("team.assigned") < timeline.index("task.acknowledged")
    assert [t for t in timeline if t.startswith("task.")] == [
        "task.acknowledged",
        "task.departed",
        "task.arrived",
        "task.resolved",
    ]
    assert "Traceback" not in served.output()  # the watchdog and relay ran without failing


def test_serve_stops_cleanly_on_sigterm_with_its_broker(served: Served) -> None:
    broker_pids = children_of(served.process.pid)
    assert broker_pids, "the embedded broker should run as a child of serve"

    served.process.send_signal(signal.SIGTERM)
    code = served.process.wait(timeout=60)

    assert code == 0, served.output()
    assert "everycall stopped" in served.output()
    assert not [pid for pid in broker_pids if alive(pid)]


def test_an_open_board_stream_is_ended_at_once_when_serve_stops(served: Served) -> None:
    # A live stream never ends by itself: uvicorn would wait out its grace period for it and
    # then cancel it (logging so), holding every stop with a board open for GRACE_S seconds.
    auditor = served.token("auditor")
    ended: list[str] = []

    def listen() -> None:
        url = f"{served.base_url}/events/stream"
        with httpx.stream("GET", url, headers=auditor, timeout=30) as answer:
            ended.append(str(answer.status_code))
            for _ in answer.iter_text():
                pass
        ended.append("ended")

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    wait_until(lambda: bool(ended), 30, "the stream to open", served)
    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(timeout=60) == 0, served.output()
    listener.join(timeout=30)

    assert ended == ["200", "ended"], served.output()
    assert "timeout graceful shutdown exceeded" not in served.output()
