"""A storm through Kafka and the dispatcher flow, answered by simulated crews on a simulated
clock, with the SLA watchdog between batches (`everycall simulate`).

The clock is a ManualClock the loop moves `step_min` simulated minutes per tick, so the
5-minute acknowledgement deadlines pass within seconds of real time. It ends when every
incident has been acknowledged by some team (a merged duplicate: when its master has) and
resolved, so that each incident's first estimate (ETA on site, and ERT for outages) can be
held against what happened (estimate_error.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any
from uuid import uuid4

from rich.console import Console
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from dispatch.adapters.orm import IncidentRow, SlaClockRow
from dispatch.service_layer.clocks import policy_of
from dispatch.service_layer.registry import list_teams, replace_registry
from dispatch.service_layer.services import Services
from dispatch.service_layer.storm import conditions_at
from dispatch.service_layer.watchdog import run_watchdog
from dispatch.simulation.crews import CrewHabits, act_as_crews
from dispatch.simulation.estimate_error import (
    FirstEstimates,
    at_first_assignment,
    estimate_errors,
    what_happened,
)
from dispatch.simulation.load import IncidentMaker, publish_reports, simulated_incidents
from dispatch.views.estimates import compute_estimates
from models.clock import ManualClock
from models.hubei import hubei_registry
from models.lifecycle import OPEN
from models.sla import ClockState, compliance
from models.team import Team

ANSWERED = ("acknowledged", "en_route", "on_scene", "resolved")
_OPEN_STATES = sorted(s.value for s in OPEN)


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
    # each incident's first estimate against what happened, absolute error in minutes
    eta_error_min_mean: float | None = None
    eta_error_min_p90: float | None = None
    eta_measured: int = 0
    ert_error_min_mean: float | None = None
    ert_error_min_p90: float | None = None
    ert_measured: int = 0
    eta_error_min_mean_at_assignment: float | None = None  # the first team's trip alone
    eta_error_min_p90_at_assignment: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def answered_count(services: Services, prefix: str) -> tuple[int, int]:
    """(acknowledged by a team, merged into an incident a team acknowledged) among the
    calls whose id starts with `prefix` (one simulation run; support tasks are not calls)."""
    master = aliased(IncidentRow)
    of_run = IncidentRow.id.like(f"{prefix}%") & IncidentRow.lead_id.is_(None)
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


def open_ids(services: Services, prefix: str) -> set[str]:
    """Incidents of the run still open: the run goes on until each has been resolved, so
    that every estimate can be held against what happened."""
    with services.reads() as session:
        return set(
            session.scalars(
                select(IncidentRow.id)
                .where(IncidentRow.id.like(f"{prefix}%"))
                .where(IncidentRow.state.in_(_OPEN_STATES))
            )
        )


def record_first_estimates(services: Services, first: FirstEstimates) -> None:
    """The board's estimates of every open incident, kept for those not estimated yet (all
    of the run at its first tick; later, any no team could be found for before). A merged
    report is never open, and never estimated: its master is."""
    if open_ids(services, first.prefix) <= first.on_site.keys():
        return
    with services.reads() as session:
        now, routing = services.clock.now(), services.settings.routing
        duty = conditions_at(session, now)
        first.record(compute_estimates(session, now, routing, policy_of(services), duty))


async def _until_stored(services: Services, prefix: str, count: int, limit: float) -> None:
    """Wait (real time) until the dispatcher has stored every report: the clock starts then."""
    while time.monotonic() < limit:
        with services.reads() as session:
            stored = session.scalar(select(func.count()).where(IncidentRow.id.like(f"{prefix}%")))
        if int(stored or 0) >= count:
            return
        await asyncio.sleep(0.2)


def seed_if_empty(services: Services) -> list[Team]:
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
    run: str | None = None,
    make_incidents: IncidentMaker | None = None,
) -> SimulationSummary:
    """Seed the registry if empty, stream the storm, answer it, and summarise this run.

    `make_incidents` makes the reports (default: scattered around all teams); `run` names
    the run (its incidents' ids start with sim-<run>-), a fresh one by default."""
    from flows.dispatcher import queue_state, run_dispatcher  # Prefect loads only here

    teams = seed_if_empty(services)
    started_real, started_sim = time.monotonic(), clock.now()
    run = run or uuid4().hex[:8]
    prefix = f"sim-{run}-"  # simulated_incidents names them so
    if make_incidents is None:
        storm = simulated_incidents(teams, incidents, started_sim, seed=habits.seed, run=run)
    else:
        storm = make_incidents(incidents, started_sim, habits.seed, run)
    ids = [i.id for i in storm]
    console.print(
        f"{len(teams)} teams; {incidents} incidents through Kafka at {services.bootstrap_servers};"
        f" crews ignore {habits.no_ack_rate:.0%} of their tasks"
    )
    finished = False
    iterations = 0
    distances: dict[tuple[str, str], float] = {}
    first = FirstEstimates(prefix)

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
                record_first_estimates(services, first)
                act_as_crews(services, habits, distances)
                run_watchdog(services)  # the dispatcher also runs the sla-watchdog flow
                acked, merged = answered_count(services, prefix)
                done = acked + merged >= len(ids) and not open_ids(services, prefix)
                finished = done or time.monotonic() - started_real > timeout_s
                if not finished:
                    clock.advance(minutes=step_min)
        finally:
            finished = True
            await dispatcher

    asyncio.run(answer_the_storm())
    summary = summarise(services, ids, prefix, clock.now() - started_sim)
    summary.real_seconds = round(time.monotonic() - started_real, 1)
    assigned = at_first_assignment(services, prefix)
    errors = estimate_errors(first, what_happened(services, prefix), assigned)
    for name, value in asdict(errors).items():
        setattr(summary, name, value)
    return summary
