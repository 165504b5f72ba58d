"""Open incidents of one kind near a point: what the call-taker is warned of before reporting
the same fault twice (redcross/dcsops#200). Read in a box the (kind, place) index answers,
then measured."""

from __future__ import annotations

import math

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import IncidentRow
from models.geodesy import geodesic_km_exact
from models.grouping import METRES_PER_DEGREE_LAT
from models.lifecycle import OPEN

OPEN_STATES = frozenset(s.value for s in OPEN)


class NearbyIncident(BaseModel):
    id: str
    kind: str
    priority: str
    state: str
    address: str
    latitude: float
    longitude: float
    distance_km: float = Field(description="from the point asked about, on the ellipsoid")
    reported_at: AwareDatetime


class NearbyIncidents(BaseModel):
    count: int = Field(description="every open incident of the kind within the radius")
    radius_km: float
    incidents: list[NearbyIncident] = Field(description="the newest of them first")


def open_incidents_near(
    session: Session, kind: str, latitude: float, longitude: float, radius_km: float, limit: int
) -> NearbyIncidents:
    """Open incidents of `kind` within `radius_km` of the point, newest first."""
    rows = session.scalars(_in_box(kind, latitude, longitude, radius_km))
    near = [
        _nearby(row, distance)
        for row in rows
        if row.state in OPEN_STATES
        and (distance := geodesic_km_exact(latitude, longitude, row.latitude, row.longitude))
        <= radius_km
    ]
    near.sort(key=lambda n: (n.reported_at, n.id), reverse=True)
    return NearbyIncidents(count=len(near), radius_km=radius_km, incidents=near[:limit])


def _in_box(kind: str, latitude: float, longitude: float, radius_km: float) -> Select[IncidentRow]:
    # The state is checked by the caller: given `state IN (...)`, SQLite searches the state
    # index (every open incident) rather than the place index (adapters/storm_search.py).
    # 1 % wider than the radius: a degree of longitude shrinks towards the box's poleward edge
    half_lat = 1.01 * radius_km * 1000 / METRES_PER_DEGREE_LAT
    poleward = min(89.0, abs(latitude) + half_lat)
    half_lon = half_lat / math.cos(math.radians(poleward))
    return (
        select(IncidentRow)
        .where(IncidentRow.kind == kind)
        .where(IncidentRow.latitude.between(latitude - half_lat, latitude + half_lat))
        .where(IncidentRow.longitude.between(longitude - half_lon, longitude + half_lon))
    )


def _nearby(row: IncidentRow, distance_km: float) -> NearbyIncident:
    return NearbyIncident(
        id=row.id,
        kind=row.kind,
        priority=row.priority,
        state=row.state,
        address=row.address,
        latitude=row.latitude,
        longitude=row.longitude,
        distance_km=round(distance_km, 3),
        reported_at=row.reported_at,
    )
