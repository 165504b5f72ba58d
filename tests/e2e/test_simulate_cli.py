"""`everycall simulate` as an operator runs it: the embedded broker, Prefect, a fresh database,
simulated crews that ignore a fifth of their tasks, and a summary that must show every call
answered."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_simulate_answers_every_call_despite_crews_that_ignore_tasks(tmp_path: Path) -> None:
    summary = tmp_path / "simulate.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "PREFECT_API_URL")
    }
    env["EVERYCALL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'simulate.db'}"
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dispatch.entrypoints.cli.main",
            "simulate",
            "--incidents",
            "300",
            "--no-ack-rate",
            "0.2",
            "--summary-json",
            str(summary),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(summary.read_text())
    for key in ("reported", "acknowledged", "unanswered", "reassigned", "escalated"):
        assert isinstance(figures[key], int), key
    assert figures["reported"] == 300
    assert figures["unanswered"] == 0
    assert figures["acknowledged"] + figures["merged"] == 300
    assert figures["reassigned"] > 0  # the watchdog took back the ignored tasks
    assert 0 < figures["sla_compliance"] < 1
    assert figures["compliance_by_clock"]["acknowledge"] < 1  # the misses count against it
    assert "unanswered" in done.stdout
    # each incident's first estimate held against what happened: nearly every one measured,
    # the errors finite and no larger than the run and the longest time on site assumed
    assert figures["eta_measured"] > 0.9 * figures["acknowledged"]
    assert figures["ert_measured"] > 0  # outages are a quarter of the storm
    for name in ("eta", "ert"):
        mean, p90 = figures[f"{name}_error_min_mean"], figures[f"{name}_error_min_p90"]
        bound = figures["simulated_minutes"] + 240
        assert 0 <= mean <= bound and 0 <= p90 <= bound, (name, mean, p90)
    # the first team's trip alone, estimated when it was assigned
    at_assignment = figures["eta_error_min_mean_at_assignment"]
    assert 0 <= at_assignment <= figures["simulated_minutes"], at_assignment
