"""Storm geography: calls cluster around the cities, by population, densest in a few hot spots.

Extends dispatch/simulation/load.py (which scatters calls around team bases) with what a storm
looks like from the call centre: most calls from the cities, a share from the countryside, and
a third from a handful of storm cells where lines are down.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from dispatch.simulation.load import KIND_WEIGHTS, PRIORITY_OF_KIND
from models.geodesy import EARTH_RADIUS_KM
from models.hubei import DIVISIONS, Division
from models.incident import AreaClass, Incident, Priority, ReporterChannel

HOT_SPOT_SHARE = 0.35  # of all calls: a storm cell brings lines down in one small area
RURAL_SHARE = 0.15  # calls from beyond the urban core
HOT_SPOT_SPREAD_KM = 2.5


@dataclass(frozen=True)
class HotSpot:
    latitude: float
    longitude: float
    weight: float


def _offset(lat: float, lon: float, km: float, bearing: float) -> tuple[float, float]:
    new_lat = lat + km * math.cos(bearing) / 111.0
    return new_lat, lon + km * math.sin(bearing) / (111.0 * math.cos(math.radians(new_lat)))


def _scatter(rng: random.Random, lat: float, lon: float, spread_km: float) -> tuple[float, float]:
    return _offset(lat, lon, abs(rng.gauss(0, spread_km)), rng.uniform(0, 2 * math.pi))


def _pick_division(rng: random.Random) -> Division:
    return rng.choices(DIVISIONS, [d.population_m for d in DIVISIONS])[0]


def hot_spots(rng: random.Random, count: int = 6) -> list[HotSpot]:
    """Storm cells near populated places; a few of them much busier than the rest."""
    spots = []
    for _ in range(count):
        division = _pick_division(rng)
        lat, lon = _scatter(rng, division.latitude, division.longitude, division.urban_km or 5.0)
        spots.append(HotSpot(lat, lon, rng.paretovariate(1.5)))
    return spots


def storm_incidents(count: int, at: datetime, seed: int = 7, run: str = "storm") -> list[Incident]:
    """`count` reports of a storm day over Hubei; the same seed gives the same places."""
    rng = random.Random(seed)
    spots = hot_spots(rng)
    kinds, weights = zip(*KIND_WEIGHTS.items(), strict=True)
    channels = list(ReporterChannel)
    places = [_place(rng, spots) for _ in range(count)]
    regions, areas = classify([lat for lat, _ in places], [lon for _, lon in places])
    incidents = []
    for n, (lat, lon) in enumerate(places):
        kind = rng.choices(kinds, weights)[0]
        incidents.append(
            Incident(
                id=f"{run}-{n:07d}",
                kind=kind,
                priority=PRIORITY_OF_KIND.get(kind, Priority.NORMAL),
                latitude=round(lat, 6),
                longitude=round(lon, 6),
                address=f"storm report {n}",
                area_class=areas[n],
                channel=rng.choice(channels),
                region=regions[n],
                reported_at=at,
            )
        )
    return incidents


def classify(lats: list[float], lons: list[float]) -> tuple[list[str], list[AreaClass]]:
    """`region_of` and `area_class_at` (nearest division centre) for many points at once."""
    if not lats:
        return [], []
    km = haversine_km_matrix(np.asarray(lats), np.asarray(lons))
    nearest = km.argmin(axis=1)
    regions, areas = [], []
    for i, d in enumerate(nearest):
        division, distance = DIVISIONS[d], km[i, d]
        regions.append(division.code)
        if distance < division.urban_km:
            areas.append(AreaClass.URBAN)
        elif distance < division.rural_km:
            areas.append(AreaClass.RURAL)
        else:
            areas.append(AreaClass.REMOTE)
    return regions, areas


def haversine_km_matrix(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Great-circle km from every point (rows) to every division centre (columns)."""
    centre_lat = np.radians([d.latitude for d in DIVISIONS])[None, :]
    centre_lon = np.radians([d.longitude for d in DIVISIONS])[None, :]
    lat, lon = np.radians(lats)[:, None], np.radians(lons)[:, None]
    a = (
        np.sin((centre_lat - lat) / 2) ** 2
        + np.cos(lat) * np.cos(centre_lat) * np.sin((centre_lon - lon) / 2) ** 2
    )
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a)))


def _place(rng: random.Random, spots: list[HotSpot]) -> tuple[float, float]:
    draw = rng.random()
    if draw < HOT_SPOT_SHARE:
        spot = rng.choices(spots, [s.weight for s in spots])[0]
        return _scatter(rng, spot.latitude, spot.longitude, HOT_SPOT_SPREAD_KM)
    division = _pick_division(rng)
    spread = division.rural_km / 2 if draw < HOT_SPOT_SHARE + RURAL_SHARE else division.urban_km
    return _scatter(rng, division.latitude, division.longitude, spread or 5.0)
