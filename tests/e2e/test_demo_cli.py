"""`everycall demo` as a newcomer runs it: a fresh database, the embedded broker, Prefect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def test_demo_assigns_every_incident_and_writes_its_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.json"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "PREFECT_API_URL")
    }
    env["EVERYCALL_DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.db'}"
    env["PREFECT_HOME"] = str(tmp_path / "prefect")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dispatch.entrypoints.cli.main",
            "demo",
            "--incidents",
            "300",
            "--summary-json",
            str(summary),
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    figures = json.loads(summary.read_text())
    assert figures["reported"] == 300
    # storm grouping may merge a report into an open one nearby: its team answers both
    assert figures["assigned"] + figures["merged"] == 300
    assert figures["unassigned"] == 0
    assert 0 < figures["latency_ms_p50"] <= figures["latency_ms_p95"] <= figures["latency_ms_p99"]
    assert "未派出 unassigned" in done.stdout  # Chinese first, English beside
    assert "派单时延 p99（毫秒） latency ms p99" in done.stdout
