"""The simulator's measure of the estimates (dispatch/simulation/estimate_error.py): first
estimates against when the team was on site and the power back, on a situation worked out by
hand; an estimate two hours off must measure worse than the real one."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.service_layer import tasks
from dispatch.service_layer.clocks import policy_of
from dispatch.service_layer.services import Services
from dispatch.simulation.estimate_error import (
    FirstEstimates,
    at_first_assignment,
    estimate_errors,
    mean_and_p90,
    what_happened,
)
from dispatch.views.estimates import compute_estimates
from models.clock import ManualClock
from models.estimates import PRIOR_SHARE, Estimate, travel_minutes
from models.sla import ClockKind
from tests.integration.spine_helpers import incident, seed_teams, team
from tests.integration.test_lifecycle_support import crew, route

HOME = (30.60, 114.30)
KM_PER_HUNDREDTH = 1.11195


def two_hours_late(found: dict[str, Estimate]) -> dict[str, Estimate]:
    late = timedelta(hours=2)
    return {
        i: Estimate(e.on_site_at + late, e.restored_at and e.restored_at + late, e.team_id)
        for i, e in found.items()
    }


def test_first_estimates_against_what_happened_and_a_wrong_one_measures_worse(
    services: Services, clock: ManualClock
) -> None:
    seed_teams(services, [team("t1", *HOME, capacity=2)])
    north, further = (HOME[0] + 0.01, HOME[1]), (HOME[0] + 0.02, HOME[1])
    route(
        services, [incident(1, *north, clock.now()), incident(2, *further, clock.now(), "outage")]
    )
    with services.reads() as session:
        found = compute_estimates(
            session, clock.now(), services.settings.routing, policy_of(services)
        )
    first, wrong = FirstEstimates("inc-"), FirstEstimates("inc-")
    assert first.record(found) == 2 and wrong.record(two_hours_late(found)) == 2
    assert first.record(two_hours_late(found)) == 0  # the first estimate stays
    # both on site 4 minutes later, resolved 30 minutes after that
    clock.advance(minutes=4)
    for n in ("inc-00001", "inc-00002"):
        tasks.acknowledge(services, n, crew("t1"))
        tasks.mark_on_scene(services, n, crew("t1"))
    clock.advance(minutes=30)
    for n in ("inc-00001", "inc-00002"):
        tasks.resolve(services, n, crew("t1"))

    happened = what_happened(services, "inc-")
    assigned = at_first_assignment(services, "inc-")
    measured, worse = estimate_errors(first, happened, assigned), estimate_errors(wrong, happened)

    trip_1 = travel_minutes(KM_PER_HUNDREDTH, "urban")  # 3.47: arrived 0.53 min later
    trip_2 = travel_minutes(2 * KM_PER_HUNDREDTH, "urban")  # 6.94: arrived 2.94 min sooner
    assert measured.eta_measured == 2 and measured.ert_measured == 1
    assert measured.eta_error_min_mean == pytest.approx(
        (abs(trip_1 - 4) + abs(trip_2 - 4)) / 2, abs=0.06
    )
    target = policy_of(services).target(
        ClockKind.RESOLVE, area="urban", priority="normal", kind="outage"
    )
    # no outage resolved before: the prior, a share of the target
    on_site_min = target.total_seconds() / 60 * PRIOR_SHARE
    assert measured.ert_error_min_mean == pytest.approx(abs(trip_2 + on_site_min - 34), abs=0.06)
    assert worse.eta_error_min_mean is not None and measured.eta_error_min_mean is not None
    assert worse.eta_error_min_mean > measured.eta_error_min_mean + 100
    # both were assigned as they were reported: the trip alone is the same estimate
    assert measured.eta_error_min_mean_at_assignment == pytest.approx(
        measured.eta_error_min_mean, abs=0.11
    )  # routing's geodesic against the estimate's sphere: metres apart
    assert worse.eta_error_min_mean_at_assignment is None  # not asked for
    assert worse.eta_error_min_p90 is not None and measured.eta_error_min_p90 is not None
    assert worse.eta_error_min_p90 > measured.eta_error_min_p90


def test_no_error_measured_without_anything_to_hold_it_against() -> None:
    assert mean_and_p90([]) == (None, None)
    assert mean_and_p90([1.0] * 9 + [11.0]) == (2.0, 2.0)  # 90th of ten: nine ones, then 11
