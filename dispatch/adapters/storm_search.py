"""Storm grouping's read: the open incidents that could be masters of a batch of new reports.

Only the neighbourhood of the reports is read, kind by kind: the grid cells around each report
(cells half the grouping radius wide, two rings of them), merged into boxes of latitude and
longitude that an index on (kind, latitude, longitude) answers. Reading every open incident of
the window instead cost a batch time in proportion to the open incidents of the whole storm;
even the neighbourhood is dense in a storm cell, so it is read as tight as cheaply possible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache
from itertools import groupby
from typing import NamedTuple

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow
from models.grouping import METRES_PER_DEGREE_LAT, Report
from models.incident import Incident
from models.lifecycle import OPEN

BOXES_PER_QUERY = 200  # 5 parameters each: well under every backend's parameter limit
MARGIN = 1.01  # cells a little wider than their share: rounding never hides a neighbour
RINGS = 2  # cells of radius / RINGS, RINGS rings of them around a report's cell


class Master(NamedTuple):
    """An open incident as grouping sees it (lighter than an Incident: thousands per batch)."""

    id: str
    kind: str
    latitude: float
    longitude: float
    reported_at: datetime


class Box(NamedTuple):
    kind: str
    south: float
    north: float
    west: float
    east: float


def search_boxes(reports: Sequence[Report], radius_m: float) -> list[Box]:
    """Boxes that hold every point within `radius_m` of a report, for the report's kind."""
    by_kind: dict[str, list[Report]] = {}
    for report in reports:
        by_kind.setdefault(str(report.kind), []).append(report)
    return [box for kind, same in by_kind.items() for box in _boxes_of(kind, same, radius_m)]


def _boxes_of(kind: str, reports: Sequence[Report], radius_m: float) -> list[Box]:
    """The cells around each report (RINGS rings), adjacent cells of a row merged, then equal
    runs of adjacent rows."""
    cell_lat = MARGIN * radius_m / RINGS / METRES_PER_DEGREE_LAT
    # a degree of longitude is shortest on the poleward edge of the batch: size cells there
    poleward = min(89.0, max(abs(r.latitude) for r in reports) + 2 * RINGS * cell_lat)
    cell_lon = cell_lat / math.cos(math.radians(poleward))
    near = range(-RINGS, RINGS + 1)
    cells: set[tuple[int, int]] = set()
    for report in reports:
        row = math.floor(report.latitude / cell_lat)
        column = math.floor(report.longitude / cell_lon)
        cells.update((row + dr, column + dc) for dr in near for dc in near)
    # (first column, last column) -> [first row, last row] of the box growing downwards
    growing: dict[tuple[int, int], list[int]] = {}
    done: list[tuple[int, int, int, int]] = []
    for row, in_row in groupby(sorted(cells), key=lambda cell: cell[0]):
        runs = set(_runs([column for _, column in in_row]))
        for run, rows in list(growing.items()):
            if run in runs and rows[1] == row - 1:
                rows[1] = row
                runs.discard(run)
            else:
                done.append((rows[0], rows[1], *run))
                del growing[run]
        growing.update((run, [row, row]) for run in runs)
    done.extend((rows[0], rows[1], *run) for run, rows in growing.items())
    return [
        Box(kind, first * cell_lat, (last + 1) * cell_lat, west * cell_lon, (east + 1) * cell_lon)
        for first, last, west, east in done
    ]


def _runs(sorted_values: list[int]) -> list[tuple[int, int]]:
    """Consecutive integers as (first, last) runs: [1, 2, 3, 7] -> [(1, 3), (7, 7)]."""
    runs: list[tuple[int, int]] = []
    for value in sorted_values:
        if runs and value == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], value)
        else:
            runs.append((value, value))
    return runs


def open_masters_near(
    session: Session, reports: Sequence[Incident], radius_m: float, window: timedelta
) -> list[Master]:
    """Open incidents of the reports' kinds, reported in the window before them, within the
    search boxes around them (a superset of those within `radius_m`); the reports excluded."""
    if not reports or radius_m <= 0 or window <= timedelta(0):
        return []  # grouping is off
    boxes = search_boxes(reports, radius_m)
    shared = {
        "earliest": min(r.reported_at for r in reports) - window,
        "latest": max(r.reported_at for r in reports),
    }
    fresh = {r.id for r in reports}
    found: list[Master] = []
    for start in range(0, len(boxes), BOXES_PER_QUERY):
        chunk = boxes[start : start + BOXES_PER_QUERY]
        chunk += [NOWHERE] * (BOXES_PER_QUERY - len(chunk))
        bounds = {
            f"{side}{n}": value
            for n, box in enumerate(chunk)
            for side, value in zip("ksnwe", box, strict=True)
        }
        rows = session.execute(_in_boxes(), {**shared, **bounds}).tuples()
        found.extend(
            Master._make(row[1:6])
            for row in rows
            # a support task is its lead's, never a master
            if row[0] in OPEN_STATES and row[1] not in fresh and row[6] is None
        )
    return found


OPEN_STATES = frozenset(s.value for s in OPEN)
NOWHERE = Box("", 1.0, 0.0, 1.0, 0.0)  # pads a query's unused box slots: nothing lies inside


@cache
def _in_boxes() -> Select[str, str, str, float, float, datetime, str | None]:
    """One statement for every batch (compiled once): BOXES_PER_QUERY boxes as parameters.

    The state and the lead are checked by the caller: given `state IN (...)` or `lead_id IS
    NULL`, SQLite searches that column's index (every open incident) instead of the place index
    box by box (the lead's condition made the routing of `make bench` a third slower)."""
    inside = [
        and_(
            IncidentRow.kind == bindparam(f"k{n}"),
            IncidentRow.latitude.between(bindparam(f"s{n}"), bindparam(f"n{n}")),
            IncidentRow.longitude.between(bindparam(f"w{n}"), bindparam(f"e{n}")),
        )
        for n in range(BOXES_PER_QUERY)
    ]
    return (
        select(
            IncidentRow.state,
            IncidentRow.id,
            IncidentRow.kind,
            IncidentRow.latitude,
            IncidentRow.longitude,
            IncidentRow.reported_at,
            IncidentRow.lead_id,
        )
        .where(or_(*inside))
        .where(IncidentRow.reported_at >= bindparam("earliest"))
        .where(IncidentRow.reported_at <= bindparam("latest"))
    )
