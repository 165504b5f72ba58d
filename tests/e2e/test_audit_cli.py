"""The auditor at the command line, after real runs (`everycall demo`, `everycall simulate`):
every `everycall audit` command agrees with the live state, and a tampered entry is named."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def environment(tmp_path: Path) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "PREFECT_API_URL")
    }
    return env | {
        "EVERYCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'everycall.db'}",
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),  # the test session's server
        "PYTHONPATH": str(ROOT),
        "EVERYCALL_LANG": "en",  # the verdicts asserted below are the English ones
    }


def everycall(env: dict[str, str], *args: str, expect: int = 0) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "dispatch.entrypoints.cli.main", *args],
        env=env,
        cwd=env["PREFECT_HOME"].rsplit("/", 1)[0],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == expect, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def audit_everything(env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    """Every audit command on the run's database; returns the log's head."""
    head = everycall(env, "audit", "digest").strip()
    seq = int(head.split(":")[0])
    assert seq > 0
    assert everycall(env, "audit", "verify", "--digest", head).startswith(f"OK {seq} entries")
    replayed = everycall(env, "audit", "replay", "--into", f"sqlite:///{tmp_path / 'r.db'}")
    assert "identical: the replayed projection equals the live one" in replayed
    assert "the board at 2100-01-01" in everycall(env, "audit", "state", "--at", "2100-01-01")
    with sqlite3.connect(tmp_path / "everycall.db") as db:
        (incident,) = db.execute("SELECT incident_id FROM assignments LIMIT 1").fetchone()
    story = everycall(env, "audit", "timeline", incident)
    assert "incident.reported.v1" in story and "team.assigned.v1" in story
    assert "routing explanation" in story
    everycall(env, "audit", "export", "--format", "jsonl", "--out", str(tmp_path / "log.jsonl"))
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == seq
    return seq, head


@pytest.mark.timeout(1200)  # a demo and eight CLI processes, on a shared two-core machine
def test_after_the_demo_the_audit_agrees_and_names_a_tampered_entry(
    tmp_path: Path, prefect_server: None
) -> None:
    env = environment(tmp_path)
    everycall(env, "demo", "--incidents", "80")
    audit_everything(env, tmp_path)
    with sqlite3.connect(tmp_path / "everycall.db") as db:
        db.execute("DROP TRIGGER event_log_no_update")  # what an owner of the file can do
        db.execute("UPDATE event_log SET envelope = replace(envelope, 'a', 'b') WHERE seq = 5")
    verdict = everycall(env, "audit", "verify", expect=1)
    assert "FAIL seq 5: its content does not match its hash" in verdict


@pytest.mark.timeout(1200)
def test_after_simulate_replay_reports_identical_state(
    tmp_path: Path, prefect_server: None
) -> None:
    """Crews that ignore a fifth of their tasks: reassignments, escalations, exclusions."""
    env = environment(tmp_path)
    everycall(env, "simulate", "--incidents", "60", "--no-ack-rate", "0.2")
    audit_everything(env, tmp_path)
    with sqlite3.connect(tmp_path / "everycall.db") as db:
        kinds = {kind for (kind,) in db.execute("SELECT DISTINCT type FROM event_log")}
    assert {"task.reassigned", "sla.breached", "task.acknowledged"} <= kinds
