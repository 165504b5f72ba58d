"""The audit benchmark, run as a user runs it but tiny: it generates a log through the services,
verifies and replays it, and prints its JSON line last."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_replay_bench_generates_a_storm_log_and_prints_its_json(tmp_path: Path) -> None:
    kept = tmp_path / "bench.db"
    done = subprocess.run(
        [sys.executable, "bench/replay.py", "--events", "3000", "--runs", "2", "--keep", str(kept)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["events"] >= 3000
    assert figures["identical"] is True
    assert figures["events_per_s"] > 0 and figures["verify_events_per_s"] > 0
    assert len(figures["replay_cpu_s"]) == len(figures["verify_cpu_s"]) == 2
    with sqlite3.connect(kept) as log:
        kinds = {kind for (kind,) in log.execute("SELECT DISTINCT type FROM event_log")}
    # the crews answered and the watchdog acted, not only the router
    assert {"task.acknowledged", "task.resolved", "sla.breached", "task.reassigned"} <= kinds
