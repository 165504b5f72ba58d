"""Audit speed: verify the hash chain and replay every projection, from a SQLite log of
~200,000 events made through the services themselves (routing, SLA clocks, lifecycle; no Kafka).

Rates count this process's CPU time (`time.process_time`: SQLite runs in-process), so other
work on a shared machine distorts less than wall time (it still slows a shared core: see
`calibration_loop_cpu_s`); wall-clock rates are printed beside. The last
line is JSON with `events`, `events_per_s` (replay: fold and write into an empty SQLite file)
and `verify_events_per_s`; `calibration_loop_cpu_s` times a fixed loop, to compare runs.

    .venv/bin/python bench/replay.py [--events N] [--keep PATH]
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

from sqlalchemy import select

from dispatch import bootstrap
from dispatch.audit.compare import compare_tables
from dispatch.audit.source import open_read_only
from dispatch.audit.verify import read_head, verify_log
from dispatch.bootstrap import Services
from dispatch.db import IncidentRow, create_schema, make_engine
from dispatch.lifecycle import SystemCaller, finish_in
from dispatch.projection import fold, projected_tables, write_board
from dispatch.routing import handle_incident_records
from dispatch.settings import Settings
from dispatch.simulation import simulated_incidents
from dispatch.teams import list_teams, replace_registry
from events import topics
from events.kafka import Record
from events.log import read_entries
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.clock import ManualClock
from models.hubei import hubei_registry

T = TypeVar("T")
BURST = 1000  # incidents reported per round


def timed(work: Callable[[], T]) -> tuple[T, float, float]:
    """The result, CPU seconds and wall seconds of `work`."""
    cpu, wall = time.process_time(), time.perf_counter()
    result = work()
    return result, time.process_time() - cpu, time.perf_counter() - wall


def generate(url: str, events: int) -> None:
    """Rounds of a storm: a burst of reports is routed, then every crew finishes its job."""
    clock = ManualClock()
    with bootstrap.database(Settings(database_url=url), clock=clock) as services:
        with services.sessions.begin() as session:
            replace_registry(session, hubei_registry(), clock.now())
            teams = list_teams(session)
        round_ = 0
        while head_of(services) < events:
            burst = simulated_incidents(teams, BURST, clock.now(), seed=round_, run=f"r{round_}")
            records = [_record(services, incident, n) for n, incident in enumerate(burst)]
            handle_incident_records(services, records)
            clock.advance(minutes=20)
            finish_all(services)
            clock.advance(minutes=10)
            round_ += 1
            print(f"  round {round_}: {head_of(services)} events", file=sys.stderr)


def _record(services: Services, incident: Any, offset: int) -> Record:
    envelope = envelope_for(
        IncidentReported(**incident.model_dump()),
        producer="bench",
        key=incident.partition_key,
        at=services.clock.now(),
    )
    return Record(topics.INCIDENTS, 0, offset, None, envelope.to_bytes())


def finish_all(services: Services) -> None:
    """Every task with a team is acknowledged, reached and resolved, in one transaction."""
    now = services.clock.now()
    with services.sessions.begin() as session:
        tasks = session.execute(
            select(IncidentRow.id, IncidentRow.team_id).where(
                IncidentRow.state.in_(("assigned", "acknowledged", "en_route", "on_scene"))
            )
        ).all()
        for incident_id, team_id in tasks:
            crew = SystemCaller(role="team", team_id=team_id, name=f"team:{team_id}")
            finish_in(session, services, incident_id, crew, "bench crew", now)


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


def measure(url: str) -> dict[str, Any]:
    source = open_read_only(url)
    with source.connect() as live, live.begin():
        verdict, verify_cpu, verify_wall = timed(lambda: verify_log(live))
        assert verdict.ok, verdict.finding
        with tempfile.TemporaryDirectory() as tmp:
            target = make_engine(f"sqlite:///{tmp}/replayed.db")

            def rebuild() -> dict[str, int]:
                board = fold(read_entries(live))
                create_schema(target)
                return write_board(board, target)

            written, replay_cpu, replay_wall = timed(rebuild)
            with target.connect() as replayed:
                differences, compare_cpu, _ = timed(
                    lambda: compare_tables(live, replayed, projected_tables())
                )
            target.dispose()
    source.dispose()
    events = verdict.entries
    return {
        "events": events,
        "events_per_s": round(events / replay_cpu),
        "verify_events_per_s": round(events / verify_cpu),
        "wall_events_per_s": round(events / replay_wall),
        "wall_verify_events_per_s": round(events / verify_wall),
        "replay_cpu_s": round(replay_cpu, 3),
        "verify_cpu_s": round(verify_cpu, 3),
        "compare_cpu_s": round(compare_cpu, 3),
        "identical": not differences,
        "rows": written,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000, help="log size to generate")
    parser.add_argument("--keep", type=Path, help="SQLite file: reuse it if it exists")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "bench.db"
        url = f"sqlite:///{path}"
        generated = 0.0
        if not path.exists():
            _, _, generated = timed(lambda: generate(url, args.events))
        figures = measure(url)
    figures["generate_wall_s"] = round(generated, 1)
    figures["calibration_loop_cpu_s"] = calibration()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
