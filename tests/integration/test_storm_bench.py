"""The storm benchmark, run as `make bench` runs it but tiny: every offered incident is measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = (
    "throughput_per_s",
    "latency_ms_p50",
    "latency_ms_p99",
    "baseline_throughput_per_s",
    "speedup",
    "peak_rss_mb",
)


@pytest.mark.timeout(900)
@pytest.mark.xdist_group("heavy")  # with the fault tests: one at a time (see tests/faults)
def test_storm_bench_measures_every_offered_incident_and_prints_its_json(tmp_path: Path) -> None:
    plot = tmp_path / "storm.png"
    env = {k: v for k, v in os.environ.items() if k != "KAFKA_BOOTSTRAP_SERVERS"}
    done = subprocess.run(
        [
            sys.executable, "-m", "bench.storm",
            "--rate", "40", "--duration", "1", "--incidents", "60", "--open", "150",
            "--probe-incidents", "20", "--warmup", "5", "--baseline-incidents", "3",
            "--plot", str(plot),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=850,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(KEYS) <= set(figures)
    assert figures["offered"] == 3 + 40 + 60 + 20
    assert figures["measured"] == figures["offered"]
    assert figures["throughput_per_s"] > 0 and figures["baseline_throughput_per_s"] > 0
    assert figures["speedup"] == pytest.approx(
        figures["throughput_per_s"] / figures["baseline_throughput_per_s"], rel=0.05
    )
    assert 0 < figures["latency_ms_p50"] <= figures["latency_ms_p99"]
    assert figures["peak_rss_mb"] > 50
    assert figures["open_incidents"] == 150 + 20  # 45 of them written straight to the database
    assert plot.stat().st_size > 10_000
