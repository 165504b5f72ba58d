"""Storm grouping reads only boxes around a batch: every point within the radius of a report
lies in one of them, and points far from every report lie in none."""

from __future__ import annotations

import math
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.adapters.storm_search import Box, search_boxes
from models.grouping import distance_m
from models.incident import Incident, IncidentKind

T0 = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def place(n: int, lat: float, lon: float, kind: str = "repair") -> Incident:
    return Incident(
        id=f"p{n}", kind=IncidentKind(kind), latitude=lat, longitude=lon, reported_at=T0
    )


def inside(boxes: list[Box], point: Incident) -> bool:
    return any(
        b.kind == point.kind
        and b.south <= point.latitude <= b.north
        and b.west <= point.longitude <= b.east
        for b in boxes
    )


def moved(point: Incident, metres: float, bearing: float) -> Incident:
    lat = point.latitude + metres * math.cos(bearing) / 111_195
    lon = point.longitude + metres * math.sin(bearing) / (
        111_195 * math.cos(math.radians(point.latitude))
    )
    return place(999, lat, lon, point.kind)


latitudes = st.floats(28.0, 34.3)
longitudes = st.floats(107.3, 117.1)
kinds = st.sampled_from(["repair", "outage"])
reports = st.lists(st.tuples(latitudes, longitudes, kinds), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(
    reports,
    st.floats(10, 5_000),
    st.floats(0.9, 1.0),
    st.floats(0, 2 * math.pi),
    st.integers(0, 39),
)
def test_every_point_within_the_radius_of_a_report_is_in_a_box(
    places: list[tuple[float, float, str]],
    radius: float,
    share: float,
    bearing: float,
    pick: int,
) -> None:
    batch = [place(n, lat, lon, kind) for n, (lat, lon, kind) in enumerate(places)]
    report = batch[pick % len(batch)]
    boxes = search_boxes(batch, radius)
    for turn in range(16):  # around the report, near the edge of its radius
        near = moved(report, share * radius, bearing + turn * math.pi / 8)
        if distance_m(report, near) <= radius:
            assert inside(boxes, near)


def test_a_point_far_from_every_report_is_in_no_box() -> None:
    wuhan, yichang = place(1, 30.59, 114.30), place(2, 30.69, 111.29)
    boxes = search_boxes([wuhan, yichang], 200)
    assert not inside(boxes, moved(wuhan, 1_000, 0.3))
    assert not inside(boxes, place(3, 30.64, 112.8))  # between the two cities


def test_only_the_reports_kind_is_searched() -> None:
    wuhan = place(1, 30.59, 114.30)
    boxes = search_boxes([wuhan], 200)
    assert inside(boxes, moved(wuhan, 100, 1.0))
    assert not inside(boxes, place(2, 30.59, 114.30, "outage"))


def test_a_cluster_of_reports_needs_few_boxes() -> None:
    cluster = [place(n, 30.59 + (n % 10) * 1e-4, 114.30 + (n // 10) * 1e-4) for n in range(100)]
    assert len(search_boxes(cluster, 200)) <= 3
