"""Storm grouping: a report close in place and time to an open incident of the same kind is a
duplicate of it, linked instead of sending a second team. Pure: no I/O, no clock."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

EARTH_RADIUS_M = 6_371_008.8
METRES_PER_DEGREE_LAT = math.pi * EARTH_RADIUS_M / 180


class Report(Protocol):
    """What grouping needs of a report; an Incident fits, so does a lighter row."""

    @property
    def id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def latitude(self) -> float: ...
    @property
    def longitude(self) -> float: ...
    @property
    def reported_at(self) -> datetime: ...


@dataclass(frozen=True)
class DuplicateLink:
    incident_id: str
    master_id: str
    distance_m: float
    minutes_apart: float


def distance_m(a: Report, b: Report) -> float:
    """Great-circle (haversine) distance; at 200 m its error against geodesic is centimetres."""
    phi1, phi2 = math.radians(a.latitude), math.radians(b.latitude)
    dphi, dlmb = phi2 - phi1, math.radians(b.longitude - a.longitude)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, h)))


def find_duplicates(
    reports: Sequence[Report],
    open_incidents: Sequence[Report],
    radius_m: float,
    window: timedelta,
) -> list[DuplicateLink]:
    """Link each report to the nearest open incident of its kind that was reported at most
    `window` before it and lies within `radius_m`; reports are taken in order of report time,
    and one that is not a duplicate can be the master of a later one. Masters are never
    themselves duplicates. A zero radius or window turns grouping off."""
    if radius_m <= 0 or window <= timedelta(0):
        return []
    band_deg = radius_m / METRES_PER_DEGREE_LAT
    bands: dict[tuple[str, int], list[Report]] = defaultdict(list)

    def add(incident: Report) -> None:
        bands[(incident.kind, math.floor(incident.latitude / band_deg))].append(incident)

    for incident in open_incidents:
        add(incident)
    links: list[DuplicateLink] = []
    for report in sorted(reports, key=lambda r: r.reported_at):
        master = _nearest_master(report, bands, band_deg, radius_m, window)
        if master is None:
            add(report)
            continue
        links.append(
            DuplicateLink(
                incident_id=report.id,
                master_id=master.id,
                distance_m=round(distance_m(report, master), 1),
                minutes_apart=_minutes(report, master),
            )
        )
    return links


def _minutes(later: Report, earlier: Report) -> float:
    return round((later.reported_at - earlier.reported_at).total_seconds() / 60, 2)


def _nearest_master(
    report: Report,
    bands: dict[tuple[str, int], list[Report]],
    band_deg: float,
    radius_m: float,
    window: timedelta,
) -> Report | None:
    band = math.floor(report.latitude / band_deg)
    best: tuple[float, datetime, str] | None = None
    found: Report | None = None
    for near in (band - 1, band, band + 1):
        for candidate in bands.get((report.kind, near), ()):
            apart = report.reported_at - candidate.reported_at
            if candidate.id == report.id or not timedelta(0) <= apart <= window:
                continue
            metres = distance_m(report, candidate)
            key = (metres, candidate.reported_at, candidate.id)
            if metres <= radius_m and (best is None or key < best):
                best, found = key, candidate
    return found
