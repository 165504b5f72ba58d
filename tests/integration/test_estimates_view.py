"""Estimated times of the open incidents (dispatch/views/estimates.py) against a situation
small enough to work out by hand: one team with one place, a task it holds, two waiting."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import tasks
from dispatch.service_layer.access import Role
from dispatch.service_layer.clocks import policy_of
from dispatch.service_layer.registry import list_teams, replace_registry
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.views.estimates import compute_estimates, open_estimates
from dispatch.views.open_board import INCIDENT_FIELDS, open_board
from models.clock import ManualClock
from models.estimates import PRIOR_SHARE, travel_minutes
from models.sla import ClockKind
from models.storm import DutyConditions
from models.storm_policy import StormPolicy
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import crew, route

HOME = (30.60, 114.30)
KM_PER_HUNDREDTH = 1.11195  # 0.01° of latitude on the mean-radius sphere
ON_SITE_MIN = 40.0  # the one repair resolved before: the time on site learned


@pytest.fixture
def small_day(services: Services, clock: ManualClock) -> datetime:
    """t1 (one place) resolved inc-0 after 40 min on site; now it holds inc-1 (at its base,
    just assigned); inc-2 (an outage 0.01° north) and inc-3 (a repair 0.02° north) wait."""
    seed_teams(services, [team("t1", *HOME, capacity=1)])
    route(services, [incident(0, *HOME, clock.now())])
    tasks.acknowledge(services, "inc-00000", crew("t1"))
    tasks.mark_on_scene(services, "inc-00000", crew("t1"))
    clock.advance(minutes=ON_SITE_MIN)
    tasks.resolve(services, "inc-00000", crew("t1"))
    route(services, [incident(1, *HOME, clock.now())])
    north, further = (HOME[0] + 0.01, HOME[1]), (HOME[0] + 0.02, HOME[1])
    route(services, [incident(2, *north, clock.now(), kind="outage")])
    route(services, [incident(3, *further, clock.now())])
    return clock.now()


def minutes_from(now: datetime, moment: datetime | None) -> float:
    assert moment is not None
    return (moment - now).total_seconds() / 60


def test_the_queue_waits_for_the_one_place_task_after_task(
    services: Services, small_day: datetime
) -> None:
    now = small_day
    outage_min = policy_of(services).target(
        ClockKind.RESOLVE, area="urban", priority="normal", kind="outage"
    )
    # no outage resolved yet: the prior, a share of the target
    outage_on_site = outage_min.total_seconds() / 60 * PRIOR_SHARE
    with services.reads() as session:
        found = compute_estimates(session, now, services.settings.routing, policy_of(services))

    assert set(found) == {"inc-00001", "inc-00002", "inc-00003"}
    held = found["inc-00001"]
    assert minutes_from(now, held.on_site_at) == pytest.approx(0.0)  # assigned at its base
    assert held.restored_at is None  # a repair has no power to restore
    # inc-2 waits for inc-1's 40 minutes on site, then drives 1.11 km in town
    trip_2 = travel_minutes(KM_PER_HUNDREDTH, "urban")
    assert minutes_from(now, found["inc-00002"].on_site_at) == pytest.approx(
        ON_SITE_MIN + trip_2, abs=0.01
    )
    assert minutes_from(now, found["inc-00002"].restored_at) == pytest.approx(
        ON_SITE_MIN + trip_2 + outage_on_site, abs=0.01
    )
    # inc-3 waits for inc-2 as well: its trip, its time on site, then 2.22 km
    trip_3 = travel_minutes(2 * KM_PER_HUNDREDTH, "urban")
    assert minutes_from(now, found["inc-00003"].on_site_at) == pytest.approx(
        ON_SITE_MIN + trip_2 + outage_on_site + trip_3, abs=0.01
    )
    assert {e.team_id for e in found.values()} == {"t1"}


def test_a_second_free_team_takes_the_queue_at_once(
    services: Services, clock: ManualClock, small_day: datetime
) -> None:
    """The same day with a free team 0.02° south of the base added: inc-2 no longer waits."""
    with services.sessions.begin() as session:
        teams = [*list_teams(session), team("t2", HOME[0] - 0.02, HOME[1], capacity=1)]
        replace_registry(session, teams, clock.now())
    with services.reads() as session:
        found = compute_estimates(
            session, small_day, services.settings.routing, policy_of(services)
        )
    # t2 reaches inc-2 (0.03° away) in 3 × 3.47 min, sooner than t1 after 40 minutes
    assert found["inc-00002"].team_id == "t2"
    assert minutes_from(small_day, found["inc-00002"].on_site_at) == pytest.approx(
        travel_minutes(3 * KM_PER_HUNDREDTH, "urban"), abs=0.01
    )


def test_estimates_are_kept_until_the_log_moves(
    services: Services, clock: ManualClock, small_day: datetime
) -> None:
    routing, sla = services.settings.routing, policy_of(services)
    with services.reads() as session:
        first = open_estimates(session, small_day, routing, sla)
        again = open_estimates(session, small_day + timedelta(seconds=20), routing, sla)
    assert again is first  # nothing logged in between: the same pass
    tasks.acknowledge(services, "inc-00001", crew("t1"))
    with services.reads() as session:
        soon = open_estimates(session, small_day + timedelta(seconds=4), routing, sla)
        moved = open_estimates(session, small_day + timedelta(seconds=30), routing, sla)
    assert soon is first  # the log moved, but the pass is 4 seconds old: fresh enough
    assert moved is not first


def test_the_api_and_the_board_carry_the_estimates(services: Services, small_day: datetime) -> None:
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with services.sessions.begin() as session:
        reader = create_token(session, Role.AUDITOR)
    auth = {"Authorization": f"Bearer {reader}"}
    with TestClient(app) as client:
        one = client.get("/incidents/inc-00002", headers=auth).json()
        closed = client.get("/incidents/inc-00000", headers=auth).json()
        listed = {i["id"]: i for i in client.get("/incidents", headers=auth).json()}
        queue = {w["id"]: w for w in client.get("/queue", headers=auth).json()}
        board = client.get("/board/open", headers=auth).json()

    assert one["eta_on_site"] and one["ert"] and one["ert"] > one["eta_on_site"]
    assert closed["eta_on_site"] is None and closed["ert"] is None  # resolved: nothing to wait for
    assert listed["inc-00002"]["eta_on_site"] == one["eta_on_site"]
    assert listed["inc-00003"]["ert"] is None  # a repair
    assert queue["inc-00002"]["eta_on_site"] is not None
    assert set(queue) == {"inc-00002", "inc-00003"}
    rows = {r[0]: dict(zip(INCIDENT_FIELDS, r, strict=True)) for r in board["incidents"]}
    assert rows["inc-00002"]["eta_on_site"].endswith("Z") and rows["inc-00002"]["ert"]
    assert rows["inc-00001"]["ert"] is None
    eta = datetime.fromisoformat(rows["inc-00003"]["eta_on_site"])
    assert eta > datetime.fromisoformat(one["eta_on_site"])  # further back in the queue


def test_the_board_without_estimates_still_names_both_fields(
    services: Services, small_day: datetime
) -> None:
    with services.reads() as session:
        board = open_board(session)
    assert all(
        len(r) == len(INCIDENT_FIELDS) and r[-2:] == [None, None] for r in board["incidents"]
    )


def test_a_reserve_squad_counts_only_under_storm_mode_and_an_off_duty_team_not_at_all(
    services: Services, clock: ManualClock, small_day: datetime
) -> None:
    """A reserve squad of one place at inc-2: the estimates leave it out until storm mode is
    on in its division, as routing does, then give it the storm's capacity; off duty, no
    team may go."""
    squad = team("r1", HOME[0] + 0.01, HOME[1], capacity=1).model_copy(update={"reserve": True})
    with services.sessions.begin() as session:
        replace_registry(session, [*list_teams(session), squad], clock.now())
    routing, sla = services.settings.routing, policy_of(services)
    storm = DutyConditions(storms={"wuhan": StormPolicy(capacity_per_team=3)})
    with services.reads() as session:
        calm = compute_estimates(session, small_day, routing, sla)
        stormy = compute_estimates(session, small_day, routing, sla, storm)
        t1_away = compute_estimates(
            session, small_day, routing, sla, DutyConditions(off_duty=frozenset({"t1"}))
        )
    assert calm["inc-00002"].team_id == "t1"
    assert stormy["inc-00002"].team_id == "r1"  # on the spot: on site at once
    assert minutes_from(small_day, stormy["inc-00002"].on_site_at) == pytest.approx(0, abs=0.01)
    # three places under the storm (one of its own): r1 sets off for inc-3 at once as well
    assert stormy["inc-00003"].team_id == "r1"
    assert minutes_from(small_day, stormy["inc-00003"].on_site_at) == pytest.approx(
        travel_minutes(KM_PER_HUNDREDTH, "urban"), abs=0.01
    )
    assert "inc-00002" not in t1_away and "inc-00003" not in t1_away  # nobody may go
    assert t1_away["inc-00001"].team_id == "t1"  # a shift's end does not withdraw its task
