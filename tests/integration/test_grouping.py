"""Storm grouping at intake, on both databases: duplicates are linked, not sent a second team,
and the dispatcher can unlink them."""

from __future__ import annotations

import pytest

from dispatch.service_layer import incidents, tasks
from dispatch.service_layer.services import Services
from models.clock import ManualClock
from models.errors import Forbidden, InvalidTransition
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import (
    DESK,
    clock_row,
    crew,
    event_types,
    incident_row,
    payloads,
    route,
    team_row,
)

# about 111 m per 0.001 degree of latitude
HERE = (30.6000, 114.3000)
CLOSE = (30.6010, 114.3000)  # 111 m away
FAR = (30.6030, 114.3000)  # 334 m away


@pytest.fixture
def grouping(services: Services) -> Services:
    services.settings.storm_radius_m = 200.0
    services.settings.storm_window_min = 30.0
    seed_teams(services, [team("a", 30.60, 114.30, capacity=5), team("b", 30.70, 114.3)])
    return services


def test_a_report_near_an_open_one_of_its_kind_is_merged_not_sent_a_team(
    grouping: Services, clock: ManualClock
) -> None:
    master = incident(1, *HERE, clock.now())
    route(grouping, [master])
    clock.advance(minutes=10)
    duplicate = incident(2, *CLOSE, clock.now())
    outcome = route(grouping, [duplicate])

    assert outcome.assigned == 0
    row = incident_row(grouping, duplicate.id)
    assert (row.state, row.master_id, row.team_id) == ("merged", master.id, None)
    assert team_row(grouping, "a").active_tasks == 1
    (merged,) = payloads(grouping, duplicate.id, "incident.merged")
    assert merged["master_id"] == master.id and 100 < merged["distance_m"] < 120  # type: ignore[operator]
    assert merged["minutes_apart"] == 10
    assert clock_row(grouping, duplicate.id, "arrive").state == "paused"


def test_reports_in_one_batch_are_grouped_too(grouping: Services, clock: ManualClock) -> None:
    burst = [incident(n, *CLOSE if n % 2 else HERE, clock.now()) for n in range(1, 5)]
    outcome = route(grouping, burst)
    assert outcome.assigned == 1
    states = sorted(incident_row(grouping, i.id).state for i in burst)
    assert states == ["assigned", "merged", "merged", "merged"]


@pytest.mark.parametrize(
    ("where", "kind", "minutes_later"),
    [(FAR, "repair", 5), (CLOSE, "outage", 5), (CLOSE, "repair", 31)],
    ids=["beyond-the-radius", "another-kind", "after-the-window"],
)
def test_a_report_that_is_not_a_duplicate_gets_its_own_team(
    grouping: Services,
    clock: ManualClock,
    where: tuple[float, float],
    kind: str,
    minutes_later: int,
) -> None:
    route(grouping, [incident(1, *HERE, clock.now())])
    clock.advance(minutes=minutes_later)
    other = incident(2, *where, clock.now(), kind=kind)
    assert route(grouping, [other]).assigned == 1
    assert incident_row(grouping, other.id).master_id is None


def test_a_resolved_incident_is_no_longer_a_master(grouping: Services, clock: ManualClock) -> None:
    master = incident(1, *HERE, clock.now())
    route(grouping, [master])
    tasks.acknowledge(grouping, master.id, crew("a"))
    tasks.mark_on_scene(grouping, master.id, crew("a"))
    tasks.resolve(grouping, master.id, crew("a"))
    again = incident(2, *CLOSE, clock.now())
    assert route(grouping, [again]).assigned == 1


def test_the_dispatcher_unlinks_a_duplicate_and_it_is_routed_on_its_own(
    grouping: Services, clock: ManualClock
) -> None:
    master, duplicate = incident(1, *HERE, clock.now()), incident(2, *CLOSE, clock.now())
    route(grouping, [master, duplicate])
    clock.advance(minutes=20)
    with pytest.raises(Forbidden):
        incidents.unlink_duplicate(grouping, duplicate.id, crew("a"))
    with pytest.raises(InvalidTransition, match="it is assigned"):
        incidents.unlink_duplicate(grouping, master.id, DESK)

    view = incidents.unlink_duplicate(grouping, duplicate.id, DESK)

    assert (view.state, view.master_id) == ("queued", None)
    arrive = clock_row(grouping, duplicate.id, "arrive")
    assert (
        arrive.state == "running" and arrive.paused_s == 20 * 60
    )  # the merged time is not counted
    route(grouping)
    assert incident_row(grouping, duplicate.id).state == "assigned"
    assert event_types(grouping, duplicate.id)[-3:] == [
        "incident.unlinked",
        "sla.clocks_started",
        "team.assigned",
    ]
