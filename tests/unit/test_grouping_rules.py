"""Storm grouping as a pure function: radius, time window, kind, nearest master, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.grouping import distance_m, find_duplicates
from models.incident import Incident, IncidentKind

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=30)


def report(n: int, north_m: float, minutes: float = 0, kind: str = "repair") -> Incident:
    return Incident(
        id=f"r{n}",
        kind=IncidentKind(kind),
        latitude=30.6 + north_m / 111_195,
        longitude=114.3,
        reported_at=T0 + timedelta(minutes=minutes),
    )


def links(new: list[Incident], open_: list[Incident], radius: float = 200) -> dict[str, str]:
    return {lk.incident_id: lk.master_id for lk in find_duplicates(new, open_, radius, WINDOW)}


def test_distance_is_metres_on_the_ground() -> None:
    assert abs(distance_m(report(1, 0), report(2, 150)) - 150) < 0.5


def test_a_close_report_of_the_same_kind_within_the_window_is_a_duplicate() -> None:
    assert links([report(2, 150, minutes=29)], [report(1, 0)]) == {"r2": "r1"}


def test_radius_window_and_kind_each_keep_a_report_apart() -> None:
    master = report(1, 0)
    assert links([report(2, 250, minutes=5)], [master]) == {}
    assert links([report(2, 50, minutes=31)], [master]) == {}
    assert links([report(2, 50, minutes=5, kind="outage")], [master]) == {}
    assert links([report(2, 50, minutes=-1)], [master]) == {}  # reported before its master


def test_the_nearest_master_wins() -> None:
    found = find_duplicates([report(3, 120)], [report(1, 0), report(2, 180)], 200, WINDOW)
    assert [(lk.master_id, round(lk.distance_m)) for lk in found] == [("r2", 60)]


def test_reports_of_one_batch_group_around_the_first_one() -> None:
    burst = [report(3, 20, minutes=2), report(1, 0), report(2, 10, minutes=1)]
    assert links(burst, []) == {"r2": "r1", "r3": "r1"}


def test_a_chain_does_not_stretch_the_radius() -> None:
    """r2 is a duplicate of r1, so it is no master: r3, 300 m from r1, stands alone."""
    burst = [report(1, 0), report(2, 150, minutes=1), report(3, 300, minutes=2)]
    assert links(burst, []) == {"r2": "r1"}


def test_zero_radius_or_window_turns_grouping_off() -> None:
    assert links([report(2, 0)], [report(1, 0)], radius=0) == {}
    assert find_duplicates([report(2, 0)], [report(1, 0)], 200, timedelta(0)) == []


def test_bands_do_not_miss_a_neighbour_across_a_band_edge() -> None:
    for offset in range(0, 400, 7):
        master = report(1, offset)
        assert links([report(2, offset + 199, minutes=1)], [master]) == {"r2": "r1"}
