"""Audit speed: verify the hash chain and replay every projection, from a SQLite log of
~200,000 events made through the services themselves (no Kafka).

The log is a steady storm: every tick (2.5 simulated minutes, as `everycall simulate` steps)
brings `REPORTS_PER_TICK` reports that the dispatcher's batch handler stores and routes; the
simulated crews of `everycall simulate` then acknowledge, set off, arrive and resolve (a fifth
of tasks they ignore), in one transaction per tick, and the SLA watchdog warns, breaches,
reassigns and escalates. So the log holds every kind of event the storm makes, in the mix a
storm near capacity makes them. Generating 200,000 events takes about a minute and a half of
CPU; `--keep PATH` keeps the log to measure again without generating it.

Rates count this process's CPU time (`time.process_time`: SQLite runs in-process), so other
work on a shared machine distorts less than wall time (it still slows a shared core: see
`calibration_loop_cpu_s`); wall-clock rates are printed beside. Verify and replay run `--runs`
times (default 3): rates are of the fastest run, and every run's CPU seconds are listed. The
last line is JSON with `events`, `events_per_s` (replay: fold and write into an empty SQLite
file), `verify_events_per_s`, and `replay_and_compare_events_per_s` (what `everycall audit
replay` does: rebuild, then compare with the live tables); `calibration_loop_cpu_s` times a
fixed loop, to compare runs.

    .venv/bin/python bench/replay.py [--events N] [--keep PATH] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dispatch import bootstrap
from dispatch.adapters.orm import create_schema, make_engine
from dispatch.audit.bulk_write import write_board
from dispatch.audit.compare import compare_tables
from dispatch.audit.projection import projected_tables
from dispatch.audit.source import open_read_only
from dispatch.audit.verify import read_head, verify_log
from dispatch.config import Settings
from dispatch.service_layer.folds import fold
from dispatch.service_layer.registry import list_teams, replace_registry
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.watchdog import run_watchdog
from dispatch.simulation.crews import CrewHabits, act_as_crews
from dispatch.simulation.load import simulated_incidents
from events import topics
from events.kafka import Record
from events.log import read_envelopes
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.clock import ManualClock
from models.hubei import hubei_registry

T = TypeVar("T")
TICK_MIN = 2.5  # simulated minutes per tick: crews acknowledge within the 5-minute clock
REPORTS_PER_TICK = 25  # about what the 310 crews finish per tick: the queue stays short
HABITS = CrewHabits(work_min=(4.0, 12.0))  # short jobs: more of each task's life per tick


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """The result, CPU seconds and wall seconds of `work`."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def generate(url: str, events: int) -> None:
    """Tick by tick: new reports are routed, crews do what is due, the watchdog acts."""
    clock = ManualClock()
    with bootstrap.database(Settings(database_url=url), clock=clock) as services:
        with services.sessions.begin() as session:
            replace_registry(session, hubei_registry(), clock.now())
            teams = list_teams(session)
        distances: dict[tuple[str, str], float] = {}  # act_as_crews remembers routes here
        tick = 0
        while head_of(services) < events:
            reports = simulated_incidents(
                teams, REPORTS_PER_TICK, clock.now(), seed=tick, run=f"t{tick}"
            )
            handle_incident_records(
                services, [_record(services, r, n) for n, r in enumerate(reports)]
            )
            clock.advance(minutes=TICK_MIN)
            act_as_crews(services, HABITS, distances)
            run_watchdog(services)
            tick += 1
            if tick % 100 == 0:
                print(f"  tick {tick}: {head_of(services)} events", file=sys.stderr)


def _record(services: Services, incident: Any, offset: int) -> Record:
    envelope = envelope_for(
        IncidentReported(**incident.model_dump()),
        producer="bench",
        key=incident.partition_key,
        at=services.clock.now(),
    )
    return Record(topics.INCIDENTS, 0, offset, None, envelope.to_bytes())


def head_of(services: Services) -> int:
    with services.engine.connect() as connection:
        head = read_head(connection)
    return head.seq if head else 0


def calibration() -> float:
    """CPU seconds of a fixed pure-Python loop: how fast this machine's core is right now (on a
    shared machine, compare runs by it)."""
    start, total = time.process_time(), 0
    for n in range(5_000_000):
        total += n
    return round(time.process_time() - start, 3)


def measure(url: str, runs: int) -> dict[str, Any]:
    """Verify and replay `runs` times each (a fresh target each time), compare the last replay
    with the live tables once; rates are of the fastest run, every run's CPU time is listed."""
    source = open_read_only(url)
    with source.connect() as live, live.begin():
        verifies = [timed(lambda: verify_log(live)) for _ in range(runs)]
        verdict = verifies[0][0]
        assert verdict.ok, verdict.finding
        with tempfile.TemporaryDirectory() as tmp:
            replays = []
            for run in range(runs):
                target = make_engine(f"sqlite:///{tmp}/replayed-{run}.db")

                def rebuild(target: Any = target) -> dict[str, int]:
                    board = fold(read_envelopes(live))
                    create_schema(target)
                    return write_board(board, target)

                replays.append(timed(rebuild))
                if run < runs - 1:
                    target.dispose()
            with target.connect() as replayed:
                differences, compare_cpu, _ = timed(
                    lambda: compare_tables(live, replayed, projected_tables())
                )
            target.dispose()
    source.dispose()
    events = verdict.entries
    _, verify_cpu, verify_wall = min(verifies, key=lambda run: run[1])
    written, replay_cpu, replay_wall = min(replays, key=lambda run: run[1])
    return {
        "events": events,
        "events_per_s": round(events / replay_cpu),
        "verify_events_per_s": round(events / verify_cpu),
        "replay_and_compare_events_per_s": round(events / (replay_cpu + compare_cpu)),
        "wall_events_per_s": round(events / replay_wall),
        "wall_verify_events_per_s": round(events / verify_wall),
        "replay_cpu_s": [round(run[1], 3) for run in replays],
        "verify_cpu_s": [round(run[1], 3) for run in verifies],
        "compare_cpu_s": round(compare_cpu, 3),
        "identical": not differences,
        "rows": written,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="log size to generate")
    parser.add_argument("--keep", type=Path, help="SQLite file: reuse it if it exists")
    parser.add_argument("--runs", type=int, default=3, help="verify and replay this many times")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        generated = 0.0
        if not path.exists():
            _, _, generated = timed(lambda: generate(url, args.events))
        figures = measure(url, args.runs)
    figures["generate_wall_s"] = round(generated, 1)
    figures["calibration_loop_cpu_s"] = calibration()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
