"""The SLA watchdog on both databases with the real broker: warnings, withdrawal and
re-dispatch, escalation, deadlines that survive a restart, and the dispatcher's 15 s promise."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.adapters.orm import IncidentExclusionRow
from dispatch.bootstrap import running
from dispatch.config import Settings
from dispatch.service_layer import tasks
from dispatch.service_layer.services import Services
from dispatch.service_layer.watchdog import run_watchdog
from flows.dispatcher import run_dispatcher
from models.clock import ManualClock
from tests.integration.spine_helpers import incident, report, seed_teams, team
from tests.integration.test_lifecycle_support import (
    clock_row,
    crew,
    event_types,
    incident_row,
    one_busy_one_waiting,
    payloads,
    route,
    team_row,
)

TEAMS = [team("near", 30.60, 114.30), team("mid", 30.70, 114.30), team("far", 30.90, 114.30)]


def assign_one(services: Services) -> str:
    seed_teams(services, TEAMS)
    inc = incident(1, 30.601, 114.301, services.clock.now())
    route(services, [inc])
    assert incident_row(services, inc.id).team_id == "near"
    return inc.id


def test_warnings_come_at_half_and_three_quarters_of_the_deadline(
    services: Services, clock: ManualClock
) -> None:
    incident_id = assign_one(services)
    ack = clock_row(services, incident_id, "acknowledge")
    assert ack.deadline == clock.now() + timedelta(minutes=5)

    clock.advance(minutes=2, seconds=29)
    assert run_watchdog(services).warned == 0
    clock.advance(seconds=1)
    assert run_watchdog(services).warned == 1
    assert run_watchdog(services).warned == 0  # once only
    clock.advance(minutes=1, seconds=15)
    assert run_watchdog(services).warned == 1

    warned = clock_row(services, incident_id, "acknowledge")
    assert warned.warned_50 and warned.warned_75 and warned.state == "running"
    fractions = [p["fraction"] for p in payloads(services, incident_id, "sla.warning")]
    assert fractions == [0.5, 0.75]
    assert incident_row(services, incident_id).state == "assigned"


def test_unacknowledged_task_is_withdrawn_and_redispatched_to_the_next_team(
    services: Services, clock: ManualClock
) -> None:
    incident_id = assign_one(services)
    clock.advance(minutes=4, seconds=59)
    assert run_watchdog(services).reassigned == 0
    clock.advance(seconds=1)

    outcome = run_watchdog(services)

    assert (outcome.breached, outcome.reassigned, outcome.escalated) == (1, 1, 0)
    row = incident_row(services, incident_id)
    assert (row.state, row.team_id, row.escalated) == ("queued", None, False)
    assert team_row(services, "near").active_tasks == 0
    assert clock_row(services, incident_id, "acknowledge").state == "breached"
    with services.reads() as session:
        reasons = dict(
            session.execute(select(IncidentExclusionRow.team_id, IncidentExclusionRow.reason)).all()
        )
    assert reasons == {"near": "no acknowledgement within 5 min"}
    assert event_types(services, incident_id)[-2:] == ["sla.breached", "task.reassigned"]
    (reassigned,) = payloads(services, incident_id, "task.reassigned")
    assert reassigned["from_team_id"] == "near" and reassigned["actor"] == "sla-watchdog"

    route(services)  # the dispatcher's next pass

    assert incident_row(services, incident_id).team_id == "mid"
    second = clock_row(services, incident_id, "acknowledge", attempt=2)
    assert (second.team_id, second.deadline) == ("mid", clock.now() + timedelta(minutes=5))


def test_a_second_miss_escalates_to_the_supervisor_and_the_incident_is_still_retried(
    services: Services, clock: ManualClock
) -> None:
    incident_id = assign_one(services)
    clock.advance(minutes=5)
    run_watchdog(services)
    route(services)
    clock.advance(minutes=5)

    outcome = run_watchdog(services)

    assert (outcome.reassigned, outcome.escalated) == (1, 1)
    row = incident_row(services, incident_id)
    assert row.escalated and row.state == "queued"
    (escalated,) = payloads(services, incident_id, "incident.escalated")
    assert escalated["supervisor"] == "supervisor:wuhan"
    assert escalated["reason"] == "2 acknowledgement deadlines missed"

    route(services)  # still retried: the third team gets it
    view = tasks.acknowledge(services, incident_id, crew("far"))
    assert view.escalated and view.state == "acknowledged" and view.team_id == "far"


def test_an_incident_no_team_can_take_is_escalated_and_kept_in_the_queue(
    services: Services, clock: ManualClock
) -> None:
    first, second = one_busy_one_waiting(services)
    assert incident_row(services, second.id).state == "queued"
    clock.advance(minutes=4)
    assert run_watchdog(services).escalated == 0
    clock.advance(minutes=1)

    assert run_watchdog(services).escalated == 1

    row = incident_row(services, second.id)
    assert row.escalated and row.state == "queued"
    (escalated,) = payloads(services, second.id, "incident.escalated")
    assert escalated["reason"] == "no eligible team within 5 min"
    tasks.mark_on_scene(services, first.id, crew("only"))
    tasks.resolve(services, first.id, crew("only"))
    route(services)
    assert incident_row(services, second.id).team_id == "only"


def test_a_breached_arrive_clock_is_announced_once_and_stays_breached_on_arrival(
    services: Services, clock: ManualClock
) -> None:
    incident_id = assign_one(services)
    tasks.acknowledge(services, incident_id, crew("near"))
    clock.advance(minutes=45)
    assert run_watchdog(services).breached == 1
    assert run_watchdog(services).breached == 0
    assert incident_row(services, incident_id).state == "acknowledged"  # no withdrawal
    view = tasks.mark_on_scene(services, incident_id, crew("near"))
    arrive = next(c for c in view.clocks if c.kind == "arrive")
    assert arrive.state == "breached" and arrive.closed_at == clock.now()


def test_deadlines_survive_a_restart(settings: Settings, clock: ManualClock) -> None:
    with running(settings, clock=clock) as services:
        incident_id = assign_one(services)
        clock.advance(minutes=3)
    # the process is gone; nothing in memory remembers the deadline
    clock.advance(minutes=3)
    with running(settings, clock=clock) as services:
        outcome = run_watchdog(services)
        assert outcome.reassigned == 1
        assert incident_row(services, incident_id).state == "queued"


@pytest.mark.usefixtures("prefect_server")
def test_the_dispatcher_acts_on_a_missed_deadline_within_15_seconds(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, TEAMS)
    report(services, [incident(1, 30.601, 114.301, clock.now())])

    def team_of() -> str | None:
        with services.reads() as session:
            from dispatch.adapters.orm import IncidentRow

            row = session.get(IncidentRow, "inc-00001")
            return row.team_id if row else None

    deadline = time.monotonic() + 60
    asyncio.run(run_dispatcher(services, stop=lambda: team_of() or time.monotonic() > deadline))
    assert team_of() == "near"
    clock.advance(minutes=5)  # the deadline passes now
    started = time.monotonic()
    asyncio.run(
        run_dispatcher(services, stop=lambda: team_of() == "mid" or time.monotonic() > started + 30)
    )
    assert team_of() == "mid"
    assert time.monotonic() - started < 15
