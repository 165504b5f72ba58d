"""`everycall simulate`: a storm through Kafka and the dispatcher flow, answered by simulated
crews on a simulated clock, with the SLA watchdog between batches.

Crews acknowledge within a couple of minutes, except that a share of tasks (`no_ack_rate`) is
ignored, which the watchdog must catch; then they set off, travel at 40 km/h, work and resolve.
The clock is a ManualClock the loop moves `step_min` simulated minutes per tick, so the
5-minute acknowledgement deadlines pass within seconds of real time. It ends when every
incident has been acknowledged by some team (a merged duplicate: when its master has).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from uuid import uuid4

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from dispatch.adapters.orm import AssignmentRow, IncidentRow, SlaClockRow
from dispatch.bootstrap import Services
from dispatch.service_layer.clocks import batched_commands, run_watchdog
from dispatch.service_layer.lifecycle import (
    SystemCaller,
    acknowledge_in,
    lock_incidents,
    mark_en_route_in,
    mark_on_scene_in,
    resolve_in,
)
from dispatch.service_layer.registry import list_teams, replace_registry
from models.clock import ManualClock
from models.hubei import hubei_registry
from models.sla import ClockState, compliance
from models.team import Team

ANSWERED = ("acknowledged", "en_route", "on_scene", "resolved")
SPEED_KMH = 40.0


def _chance(*parts: object) -> float:
    """A uniform number in [0, 1) fixed by `parts`: the same run decides the same way."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class CrewHabits:
    """How simulated crews behave; times in simulated minutes."""

    no_ack_rate: float = 0.2
    seed: int = 7
    ack_within_min: tuple[float, float] = (0.2, 1.5)  # by the next tick, inside 3 min
    set_off_after_min: float = 1.0
    work_min: tuple[float, float] = (15.0, 45.0)

    def ignores(self, incident_id: str, team_id: str) -> bool:
        return _chance(self.seed, "ignore", incident_id, team_id) < self.no_ack_rate

    def _between(self, span: tuple[float, float], *parts: object) -> timedelta:
        low, high = span
        return timedelta(minutes=low + (high - low) * _chance(self.seed, *parts))

    def ack_delay(self, incident_id: str, team_id: str) -> timedelta:
        return self._between(self.ack_within_min, "ack", incident_id, team_id)

    def travel(self, distance_km: float) -> timedelta:
        return timedelta(minutes=5 + distance_km / SPEED_KMH * 60)

    def work(self, incident_id: str) -> timedelta:
        return self._between(self.work_min, "work", incident_id)


@dataclass
class Task:
    incident_id: str
    team_id: str
    state: str
    assigned_at: datetime
    acknowledged_at: datetime | None
    arrived_at: datetime | None
    distance_km: float


def open_tasks(session: Session, distances: dict[tuple[str, str], float]) -> list[Task]:
    """Every task a team holds now, with the distance routing measured for it (`distances`
    remembers them from tick to tick: only new assignments are looked up)."""
    rows = session.execute(
        select(
            IncidentRow.id,
            IncidentRow.team_id,
            IncidentRow.state,
            IncidentRow.assigned_at,
            IncidentRow.acknowledged_at,
            IncidentRow.arrived_at,
        )
        .where(IncidentRow.state.in_(["assigned", "acknowledged", "en_route", "on_scene"]))
        .where(IncidentRow.assigned_at.is_not(None))  # always set while a team holds it
        .order_by(IncidentRow.id)
    ).all()
    unknown = sorted({r.id for r in rows if (r.id, r.team_id) not in distances})
    for start in range(0, len(unknown), 500):
        for incident_id, team_id, km in session.execute(
            select(AssignmentRow.incident_id, AssignmentRow.team_id, AssignmentRow.distance_km)
            .where(AssignmentRow.incident_id.in_(unknown[start : start + 500]))
            .order_by(AssignmentRow.id)
        ):
            distances[(incident_id, team_id)] = km
    return [
        Task(
            incident_id=r.id,
            team_id=str(r.team_id),
            state=r.state,
            assigned_at=r.assigned_at,
            acknowledged_at=r.acknowledged_at,
            arrived_at=r.arrived_at,
            distance_km=distances.get((r.id, str(r.team_id)), 0.0),
        )
        for r in rows
        if r.assigned_at is not None
    ]


def act_as_crews(
    services: Services, habits: CrewHabits, distances: dict[tuple[str, str], float] | None = None
) -> int:
    """Every crew does what is due by now, all in one transaction; returns steps taken."""
    now = services.clock.now()
    distances = {} if distances is None else distances
    with services.sessions.begin() as session, batched_commands(session, services):
        due = [
            (task, step)
            for task in open_tasks(session, distances)
            if (step := next_step(habits, task, now))
        ]
        lock_incidents(session, [task.incident_id for task, _ in due])
        for task, step in due:
            crew = SystemCaller(role="team", team_id=task.team_id, name=f"sim-crew:{task.team_id}")
            if step == "resolve":
                resolve_in(session, services, task.incident_id, crew, "simulated crew", now)
            else:
                STEPS[step](session, services, task.incident_id, crew, now)
    return len(due)


STEPS = {
    "acknowledge": acknowledge_in,
    "en_route": mark_en_route_in,
    "on_scene": mark_on_scene_in,
}


def next_step(habits: CrewHabits, task: Task, now: datetime) -> str | None:
    """What the crew of `task` does now, if anything: acknowledge, en_route, on_scene, resolve."""
    if task.state == "assigned":
        if habits.ignores(task.incident_id, task.team_id):
            return None  # the watchdog will take it back
        ready = task.assigned_at + habits.ack_delay(task.incident_id, task.team_id) <= now
        return "acknowledge" if ready else None
    acked = task.acknowledged_at or task.assigned_at
    set_off = acked + timedelta(minutes=habits.set_off_after_min)
    if task.state == "acknowledged":
        return "en_route" if set_off <= now else None
    if task.state == "en_route":
        return "on_scene" if set_off + habits.travel(task.distance_km) <= now else None
    arrived = task.arrived_at
    if task.state == "on_scene" and arrived and arrived + habits.work(task.incident_id) <= now:
        return "resolve"
    return None


@dataclass
class SimulationSummary:
    reported: int
    acknowledged: int
    unanswered: int
    reassigned: int
    escalated: int
    merged: int
    sla_compliance: float | None
    compliance_by_clock: dict[str, float | None] = field(default_factory=dict)
    simulated_minutes: float = 0.0
    real_seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def answered_count(services: Services, prefix: str) -> tuple[int, int]:
    """(acknowledged by a team, merged into an incident a team acknowledged) among the
    incidents whose id starts with `prefix` (one simulation run)."""
    master = aliased(IncidentRow)
    of_run = IncidentRow.id.like(f"{prefix}%")
    with services.reads() as session:
        acked = session.scalar(
            select(func.count()).where(of_run).where(IncidentRow.state.in_(ANSWERED))
        )
        merged = session.scalar(
            select(func.count())
            .select_from(IncidentRow)
            .join(master, master.id == IncidentRow.master_id)
            .where(of_run)
            .where(IncidentRow.state == "merged")
            .where(master.state.in_(ANSWERED))
        )
    return int(acked or 0), int(merged or 0)


def summarise(
    services: Services, ids: Sequence[str], prefix: str, elapsed: timedelta
) -> SimulationSummary:
    acked, merged = answered_count(services, prefix)
    now = services.clock.now()
    met: dict[str, int] = {}
    breached: dict[str, int] = {}
    reassigned = escalated = 0
    with services.reads() as session:
        for start in range(0, len(ids), 5000):
            chunk = ids[start : start + 5000]
            for kind, state, deadline in session.execute(
                select(SlaClockRow.kind, SlaClockRow.state, SlaClockRow.deadline).where(
                    SlaClockRow.incident_id.in_(chunk)
                )
            ):
                overdue = state == ClockState.RUNNING.value and deadline <= now
                if state == ClockState.BREACHED.value or overdue:
                    breached[kind] = breached.get(kind, 0) + 1
                    reassigned += kind == "acknowledge" and not overdue
                elif state == ClockState.MET.value:
                    met[kind] = met.get(kind, 0) + 1
            escalated += int(
                session.scalar(
                    select(func.count())
                    .where(IncidentRow.id.in_(chunk))
                    .where(IncidentRow.escalated.is_(True))
                )
                or 0
            )
    kinds = sorted(set(met) | set(breached))
    return SimulationSummary(
        reported=len(ids),
        acknowledged=acked,
        unanswered=len(ids) - acked - merged,
        reassigned=reassigned,
        escalated=escalated,
        merged=merged,
        sla_compliance=compliance(sum(met.values()), sum(breached.values())),
        compliance_by_clock={k: compliance(met.get(k, 0), breached.get(k, 0)) for k in kinds},
        simulated_minutes=round(elapsed.total_seconds() / 60, 1),
    )


async def _until_stored(services: Services, prefix: str, count: int, limit: float) -> None:
    """Wait (real time) until the dispatcher has stored every report: the clock starts then."""
    while time.monotonic() < limit:
        with services.reads() as session:
            stored = session.scalar(select(func.count()).where(IncidentRow.id.like(f"{prefix}%")))
        if int(stored or 0) >= count:
            return
        await asyncio.sleep(0.2)


def _seed_if_empty(services: Services) -> list[Team]:
    with services.sessions.begin() as session:
        if not list_teams(session):
            replace_registry(session, hubei_registry(), services.clock.now())
        return list_teams(session)


def run_simulation(
    services: Services,
    clock: ManualClock,
    incidents: int,
    habits: CrewHabits,
    console: Console,
    *,
    step_min: float = 2.5,
    timeout_s: float = 600.0,
) -> SimulationSummary:
    """Seed the registry if empty, stream the storm, answer it, and summarise this run."""
    from dispatch.simulation.load import publish_reports, simulated_incidents
    from flows.dispatcher import queue_state, run_dispatcher

    teams = _seed_if_empty(services)
    started_real, started_sim = time.monotonic(), clock.now()
    run = uuid4().hex[:8]
    prefix = f"sim-{run}-"  # simulated_incidents names them so
    storm = simulated_incidents(teams, incidents, started_sim, seed=habits.seed, run=run)
    ids = [i.id for i in storm]
    console.print(
        f"{len(teams)} teams; {incidents} incidents through Kafka at {services.bootstrap_servers};"
        f" crews ignore {habits.no_ack_rate:.0%} of their tasks"
    )
    finished = False
    iterations = 0
    distances: dict[tuple[str, str], float] = {}

    def stop() -> bool:
        nonlocal iterations
        iterations += 1  # the dispatcher asks before each of its iterations
        return finished

    async def routing_caught_up() -> None:
        """Hold the simulated clock until a dispatcher iteration that began after the last
        change has ended, so that SLA figures measure dispatch, not this machine's speed."""
        if queue_state(services) is None:
            return  # nothing a pass could assign
        target, limit = iterations + 2, time.monotonic() + 60
        while iterations < target and time.monotonic() < limit:
            await asyncio.sleep(0.002)

    async def answer_the_storm() -> None:
        nonlocal finished
        ready = asyncio.Event()
        dispatcher = asyncio.create_task(run_dispatcher(services, stop=stop, ready=ready))
        await ready.wait()
        publish_reports(services.publisher, storm, "everycall-simulate", clock.now())
        try:
            await _until_stored(services, prefix, len(ids), time.monotonic() + timeout_s)
            while not finished:
                await routing_caught_up()
                act_as_crews(services, habits, distances)
                run_watchdog(services)  # the dispatcher also runs the sla-watchdog flow
                acked, merged = answered_count(services, prefix)
                finished = acked + merged >= len(ids) or time.monotonic() - started_real > timeout_s
                if not finished:
                    clock.advance(minutes=step_min)
        finally:
            finished = True
            await dispatcher

    asyncio.run(answer_the_storm())
    summary = summarise(services, ids, prefix, clock.now() - started_sim)
    summary.real_seconds = round(time.monotonic() - started_real, 1)
    return summary


def print_summary(console: Console, summary: SimulationSummary, json_path: Path | None) -> None:
    table = Table(title="everycall simulate: every call answered?")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in summary.as_dict().items():
        table.add_row(name.replace("_", " "), json.dumps(value))
    console.print(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(summary.as_dict(), indent=2) + "\n")
        console.print(f"summary written to {json_path}")


def simulate(
    incidents: Annotated[int, typer.Option(min=1, help="incidents in the storm")] = 2000,
    no_ack_rate: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="share of tasks crews ignore")
    ] = 0.2,
    summary_json: Annotated[Path | None, typer.Option(help="also write the summary here")] = None,
    seed: Annotated[int, typer.Option(help="seed of the storm and of the crews")] = 7,
    step_min: Annotated[
        float, typer.Option(min=0.1, max=2.9, help="simulated minutes per tick (< 3 min)")
    ] = 2.5,
) -> None:
    """Stream a storm, let simulated crews answer (some ignore tasks), watch every SLA."""
    from dispatch import bootstrap

    console = Console()
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with bootstrap.running(clock=clock) as services:
        habits = CrewHabits(no_ack_rate=no_ack_rate, seed=seed)
        summary = run_simulation(services, clock, incidents, habits, console, step_min=step_min)
    print_summary(console, summary, summary_json)
    if summary.unanswered:
        raise typer.Exit(code=1)
