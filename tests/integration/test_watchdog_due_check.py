"""The dispatcher starts a watchdog flow run only when something is due: the cheap check says
so whenever `run_watchdog` would act, and not once it has (both databases). For a long wait it
may say so early: it checks the tightest acknowledge target (3 min), not the incident's own."""

from __future__ import annotations

from dispatch.service_layer.services import Services
from dispatch.service_layer.watchdog import run_watchdog, watchdog_has_work
from models.clock import ManualClock
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import one_busy_one_waiting, route


def test_work_is_due_at_a_warning_and_not_once_it_is_done(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, [team("near", 30.60, 114.30)])
    route(services, [incident(1, 30.601, 114.301, clock.now())])
    assert not watchdog_has_work(services)
    clock.advance(minutes=2, seconds=29)
    assert not watchdog_has_work(services)
    clock.advance(seconds=1)
    assert watchdog_has_work(services)
    assert run_watchdog(services).warned == 1
    assert not watchdog_has_work(services)


def test_work_is_due_when_an_incident_waited_too_long_for_a_team(
    services: Services, clock: ManualClock
) -> None:
    one_busy_one_waiting(services)
    clock.advance(minutes=2)
    assert not watchdog_has_work(services)
    clock.advance(minutes=3)
    assert watchdog_has_work(services)
    assert run_watchdog(services).escalated == 1
    assert not watchdog_has_work(services)
