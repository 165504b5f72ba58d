"""The estimator of on-site and restoration times (models/estimates.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.estimates import (
    Candidate,
    ResolveTimes,
    Waiting,
    backlog_minutes,
    estimate,
    estimate_assigned,
    estimate_queue,
    places,
    serve_queue,
    travel_minutes,
)
from models.sla import SlaPolicy

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def minutes_after_now(moment: datetime) -> float:
    return (moment - NOW).total_seconds() / 60


def test_travel_time_follows_the_stated_speed_of_the_area_class() -> None:
    assert travel_minutes(10, "urban") == pytest.approx(10 * 1.3 / 25 * 60)
    assert travel_minutes(10, "rural") < travel_minutes(10, "urban")
    assert travel_minutes(0, "remote") == 0


def test_resolve_times_start_from_half_the_sla_target_then_learn_the_mean() -> None:
    resolve = ResolveTimes(SlaPolicy())
    assert resolve.minutes("repair", "urban") == 90  # half the policy's 3 h resolve target
    assert resolve.minutes("disaster_relief", "urban") == 90
    resolve.observe("repair", "urban", 40)
    resolve.observe("repair", "urban", 60)
    assert resolve.minutes("repair", "urban") == 50
    assert resolve.minutes("repair", "rural") == 120  # other area classes keep their prior


def test_a_free_team_nearby_is_on_site_after_its_travel() -> None:
    resolve = ResolveTimes()
    found = estimate(
        NOW, kind="repair", area="urban", candidates=[Candidate("t1", 5.0)], resolve=resolve
    )
    assert found is not None
    assert minutes_after_now(found.on_site_at) == pytest.approx(travel_minutes(5, "urban"))
    assert found.restored_at is None  # only outages get a restoration time


def test_a_busy_team_comes_after_its_backlog() -> None:
    resolve = ResolveTimes()
    resolve.observe("repair", "urban", 30)
    backlog = backlog_minutes([("repair", "urban"), ("repair", "urban")], resolve)
    assert backlog == 60
    busy_near = Candidate("near", 1.0, backlog_min=backlog)
    free_far = Candidate("far", 10.0)
    found = estimate(
        NOW, kind="repair", area="urban", candidates=[busy_near, free_far], resolve=resolve
    )
    assert found is not None and found.team_id == "far"
    assert minutes_after_now(found.on_site_at) == pytest.approx(travel_minutes(10, "urban"))


def test_a_later_place_in_the_queue_waits_for_the_incidents_ahead() -> None:
    resolve = ResolveTimes()
    resolve.observe("repair", "urban", 30)
    teams = [Candidate("t1", 2.0)]
    ahead = estimate(NOW, kind="repair", area="urban", candidates=teams, resolve=resolve)
    third = estimate(
        NOW, kind="repair", area="urban", candidates=teams, queue_position=2, resolve=resolve
    )
    assert ahead is not None and third is not None
    one_job = travel_minutes(2, "urban") + 30
    assert third.on_site_at - ahead.on_site_at == timedelta(minutes=2 * one_job)


def test_an_outage_is_restored_after_the_time_on_site_seen_so_far() -> None:
    resolve = ResolveTimes()
    resolve.observe("outage", "rural", 75)
    found = estimate(
        NOW, kind="outage", area="rural", candidates=[Candidate("t1", 0.0)], resolve=resolve
    )
    assert found is not None and found.restored_at is not None
    assert found.restored_at - found.on_site_at == timedelta(minutes=75)


def test_no_eligible_team_gives_no_estimate() -> None:
    assert estimate(NOW, kind="repair", area="urban", candidates=[], resolve=ResolveTimes()) is None


def test_the_queue_shares_the_teams_in_the_order_it_is_served() -> None:
    resolve = ResolveTimes()
    resolve.observe("repair", "urban", 30)
    teams = [Candidate("near", 1.0), Candidate("far", 5.0)]
    queue = [Waiting(f"i{n}", "repair", "urban", teams) for n in range(3)]
    found = estimate_queue(NOW, queue, {"near": 0.0, "far": 0.0}, resolve)
    assert found["i0"].team_id == "near"
    assert found["i1"].team_id == "far"  # near is busy with i0 for longer than far's trip
    assert found["i2"].team_id == "near"
    near_round = travel_minutes(1, "urban") + 30
    assert minutes_after_now(found["i2"].on_site_at) == pytest.approx(
        near_round + travel_minutes(1, "urban")
    )
    assert found["i0"].on_site_at < found["i2"].on_site_at


def test_an_assigned_team_is_due_after_its_trip_and_never_before_now() -> None:
    resolve = ResolveTimes()
    on_time = estimate_assigned(
        NOW,
        kind="outage",
        area="urban",
        team_id="t1",
        assigned_at=NOW,
        distance_km=5.0,
        arrived_at=None,
        resolve=resolve,
    )
    assert minutes_after_now(on_time.on_site_at) == pytest.approx(travel_minutes(5, "urban"))
    assert on_time.restored_at == on_time.on_site_at + timedelta(minutes=90)  # the prior
    late = estimate_assigned(
        NOW,
        kind="repair",
        area="urban",
        team_id="t1",
        assigned_at=NOW - timedelta(hours=2),
        distance_km=5.0,
        arrived_at=None,
        resolve=resolve,
    )
    assert late.on_site_at == NOW


def test_a_team_of_three_places_holding_one_task_has_two_free_now() -> None:
    assert places(3, [50.0]) == [0.0, 0.0, 50.0]
    assert places(2, [30.0, 10.0, 20.0]) == [20.0, 30.0]  # over capacity: free after two
    assert places(1, [-5.0]) == [0.0]  # a task running late frees nothing before now


def test_the_queue_fills_every_place_of_a_team_before_waiting() -> None:
    resolve = ResolveTimes()
    resolve.observe("repair", "urban", 30)
    waiting = [Waiting(f"i{n}", "repair", "urban", [Candidate("t1", 0.0)]) for n in range(3)]
    found = serve_queue(NOW, waiting, {"t1": places(2, [])}, resolve)
    assert [minutes_after_now(found[f"i{n}"].on_site_at) for n in range(3)] == [0, 0, 30]
