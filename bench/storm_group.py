"""The storm against PostgreSQL with N `everycall dispatcher` processes in one consumer group
(`python -m bench.storm --dispatchers N --database-url URL`).

The burst is offered as fast as possible through the embedded broker. The dispatchers share
the incident partitions and one Prefect server, as a deployment would. What it measures:
throughput end to end, CPU per incident summed over the dispatchers, and the safety of the
group, read from the database after the burst: incidents assigned twice, lost (offered but
not routed), teams booked past their capacity, and rebalances seen by the members.

The URL names a PostgreSQL server; the run creates its own scratch database there and drops it
after, so the figures never mix with an earlier run's rows.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bench.geography import storm_incidents
from bench.offer import Offer, wire_form
from bench.probes import Announcements
from bench.storm import (
    drain_timeout,
    group_cpu_seconds,
    percentiles,
    router_command,
    router_env,
    stop_process,
    sustained_rate,
)
from dispatch import bootstrap
from dispatch.adapters.orm import AssignmentRow, IncidentRow, TeamRow
from dispatch.config import Settings
from dispatch.service_layer.registry import replace_registry
from events.log import LoggedEvent
from models.hubei import hubei_registry
from models.incident import Incident

GROUP = "everycall-storm-group"
REBALANCE_NOTE = b"rebalance: this member now holds"  # events/kafka.py logs each one
UNROUTED = ("reported", "queued")


@dataclass
class Member:
    """One dispatcher of the group: its process (own process group) and its log."""

    process: subprocess.Popen[bytes]
    log: Path

    def rebalances(self) -> int:
        return self.log.read_bytes().count(REBALANCE_NOTE) if self.log.exists() else 0


@contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server `server_url` names; dropped afterwards."""
    if make_url(server_url).get_backend_name() != "postgresql":
        raise SystemExit("--database-url must name a PostgreSQL server for several dispatchers")
    name = f"everycall_storm_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def prefect_server() -> Iterator[str]:
    """One throwaway Prefect server for the whole group, as one deployment shares one."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no internet here
    with prefect_test_harness(server_startup_timeout=120):
        yield str(PREFECT_API_URL.value())


def start_member(n: int, work: Path, env: dict[str, str]) -> Member:
    log = work / f"dispatcher-{n}.log"
    process = subprocess.Popen(
        router_command("dispatcher"),
        env={**env, "PREFECT_HOME": str(work / f"prefect-{n}")},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return Member(process, log)


def group_env(servers: str, database_url: str, prefect_api: str, work: Path) -> dict[str, str]:
    env = router_env(servers, database_url, work / "prefect")
    env.update(PREFECT_API_URL=prefect_api, EVERYCALL_CONSUMER_GROUP=GROUP, PYTHONUNBUFFERED="1")
    return env


def safety(engine: Engine, offered: list[str], capacity: int) -> dict[str, int]:
    """What the database says after the burst: the group's correctness, not its speed."""
    with Session(engine) as session:
        logged = select(LoggedEvent.subject).where(LoggedEvent.type == "team.assigned")
        entries = session.scalar(select(func.count()).select_from(logged.subquery())) or 0
        subjects = session.scalar(select(func.count(func.distinct(logged.subquery().c.subject))))
        rows = session.scalar(select(func.count()).select_from(AssignmentRow)) or 0
        assigned = session.scalar(select(func.count(func.distinct(AssignmentRow.incident_id))))
        states = dict(
            session.execute(
                select(IncidentRow.id, IncidentRow.state).where(IncidentRow.id.in_(offered))
            )
            .tuples()
            .all()
        )
        overbooked = session.scalar(
            select(func.count()).select_from(TeamRow).where(TeamRow.active_tasks > capacity)
        )
    missing = sum(1 for i in offered if i not in states)
    unrouted = sum(1 for s in states.values() if s in UNROUTED)
    return {
        "double_assignments": max(entries - (subjects or 0), rows - (assigned or 0)),
        "lost": missing + unrouted,
        "overbooked_teams": int(overbooked or 0),
    }


def cpu_seconds(members: list[Member]) -> float:
    return sum(group_cpu_seconds(m.process.pid) for m in members)


def run_group(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """A scratch database, one Prefect server, the broker and N dispatchers; then the burst."""
    total = args.warmup + args.incidents
    prepared = storm_incidents(total, datetime.now(UTC), run=f"group{args.dispatchers}")
    with scratch_database(args.database_url) as url, prefect_server() as prefect_api:
        settings = Settings(database_url=url, kafka_bootstrap_servers=None)
        with bootstrap.running(settings) as services:
            teams = [
                t.model_copy(update={"capacity": args.team_capacity}) for t in hubei_registry()
            ]
            with services.sessions.begin() as session:
                replace_registry(session, teams, services.clock.now())
            env = group_env(services.bootstrap_servers, url, prefect_api, work)
            members = [start_member(n, work, env) for n in range(args.dispatchers)]
            try:
                figures = offer_burst(services.bootstrap_servers, members, prepared, args)
                time.sleep(2)  # the last outbox rows drain; the figures below read rows only
                offered = [i.id for i in prepared[args.warmup :]]
                figures.update(safety(services.engine, offered, args.team_capacity))
                figures["rebalances"] = max((m.rebalances() for m in members), default=0)
                return figures
            finally:
                for member in members:
                    stop_process(member.process)


def offer_burst(
    servers: str, members: list[Member], prepared: list[Incident], args: argparse.Namespace
) -> dict[str, object]:
    """Warm the group up (every member in, Prefect answering), offer the burst as fast as
    possible, and time it from the assignments topic."""
    offer, heard = Offer(servers), Announcements(servers).start()
    try:

        def alive() -> bool:
            return all(m.process.poll() is None for m in members)

        warm, burst = prepared[: args.warmup], prepared[args.warmup :]
        offer.send([i.id for i in warm], [wire_form(i) for i in warm], 0)
        if not heard.wait_for([i.id for i in warm], 300, alive):
            raise RuntimeError(f"the group did not answer; see {members[0].log.parent}")
        ids = [i.id for i in burst]
        print(f"{len(members)} dispatchers: offering {len(ids)}", file=sys.stderr)
        cpu_before, started = cpu_seconds(members), time.time()
        offer.send(ids, [wire_form(i) for i in burst], 0)
        heard.wait_for(ids, drain_timeout(len(ids)), alive)
        cpu_used = cpu_seconds(members) - cpu_before
        finished = [i for i in ids if i in heard.done]
        ended = max((heard.done[i] for i in finished), default=time.time())
        latency = percentiles([(heard.done[i] - offer.sent_at[i]) * 1000 for i in finished])
        return {
            "dispatchers": len(members),
            "offered": len(ids),
            "measured": len(finished),
            "throughput_per_s": round(sustained_rate(list(heard.done.values()), started, ended), 1),
            **{f"latency_ms_{k}": round(v, 1) for k, v in latency.items()},
            "cpu_ms_per_incident": round(1000 * cpu_used / max(len(finished), 1), 2),
        }
    finally:
        heard.stop()
        offer.close()
