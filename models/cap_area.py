"""Which of Hubei's 17 divisions a CAP alert's area covers, by geocode, polygon or circle. Pure.

- Geocode: a value that is an administrative code (GB/T 2260) of Hubei names a division by its
  prefix: 4201xx is Wuhan, 4228xx Enshi; the four directly governed county-level cities
  (Xiantao 429004 and the rest) by their full code.
- Polygon: a CAP polygon ("lat,lon lat,lon ...", first point = last) covers a division when it
  contains the division's seat, or when its bounding box and the division's box (a square of
  the division's area centred on the seat) overlap and a polygon vertex lies inside that box.
- Circle: a CAP circle ("lat,lon radius_km") covers a division when it reaches the division's
  box.

This is deliberately coarse: a warning area is drawn generously, and a false "proposed" is
  cheap while a missed division is not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from models.hubei import DIVISION_BY_CODE, Division

# GB/T 2260 prefecture-level codes of Hubei, by division
ADMIN_CODES: dict[str, str] = {
    "420100": "wuhan",
    "420200": "huangshi",
    "420300": "shiyan",
    "420500": "yichang",
    "420600": "xiangyang",
    "420700": "ezhou",
    "420800": "jingmen",
    "420900": "xiaogan",
    "421000": "jingzhou",
    "421100": "huanggang",
    "421200": "xianning",
    "421300": "suizhou",
    "422800": "enshi",
    "429004": "xiantao",
    "429005": "qianjiang",
    "429006": "tianmen",
    "429021": "shennongjia",
}


@dataclass(frozen=True, slots=True)
class Area:
    """One CAP <area>: its geocode values and polygons (each a ring of (lat, lon))."""

    description: str
    geocodes: tuple[str, ...] = ()
    polygons: tuple[tuple[tuple[float, float], ...], ...] = ()
    circles: tuple[tuple[float, float, float], ...] = ()  # (lat, lon, radius in km)


def division_of_code(code: str) -> str | None:
    """The division a GB/T 2260 code (6 digits, or 9/12 with township digits) lies in."""
    digits = code.strip()
    if len(digits) < 6 or not digits[:6].isdigit():
        return None
    if digits[:6] in ADMIN_CODES:
        return ADMIN_CODES[digits[:6]]
    return ADMIN_CODES.get(digits[:4] + "00")


def parse_polygon(text: str) -> tuple[tuple[float, float], ...]:
    """CAP's "lat,lon lat,lon ..." (WGS 84); ValueError if malformed."""
    points = []
    for pair in text.split():
        lat, lon = pair.split(",")
        points.append((float(lat), float(lon)))
    if len(points) < 4 or points[0] != points[-1]:
        raise ValueError("a CAP polygon needs at least 4 points, the first equal to the last")
    return tuple(points)


def parse_circle(text: str) -> tuple[float, float, float]:
    """CAP's "lat,lon radius" (radius in km); ValueError if malformed."""
    point, radius = text.split()
    lat, lon = point.split(",")
    circle = (float(lat), float(lon), float(radius))
    if not circle[2] >= 0:
        raise ValueError(f"a CAP circle's radius must be at least 0 km, not {radius}")
    return circle


def circle_covers(circle: tuple[float, float, float], division: Division) -> bool:
    """The circle reaches the division's box: its nearest point lies within the radius."""
    lat, lon, radius_km = circle
    south, north, west, east = _box(division)
    near_lat, near_lon = min(max(lat, south), north), min(max(lon, west), east)
    dlat_km = (lat - near_lat) * 111.0
    dlon_km = (lon - near_lon) * 111.0 * math.cos(math.radians(lat))
    return math.hypot(dlat_km, dlon_km) <= radius_km


def contains(ring: Sequence[tuple[float, float]], lat: float, lon: float) -> bool:
    """Ray casting: is the point inside the ring (lat/lon treated as plane coordinates)?"""
    inside = False
    for (lat1, lon1), (lat2, lon2) in pairwise(ring):
        if (lat1 > lat) != (lat2 > lat):
            crossing = lon1 + (lat - lat1) * (lon2 - lon1) / (lat2 - lat1)
            if lon < crossing:
                inside = not inside
    return inside


def _box(division: Division) -> tuple[float, float, float, float]:
    half_km = math.sqrt(division.area_km2) / 2
    dlat = half_km / 111.0
    dlon = half_km / (111.0 * math.cos(math.radians(division.latitude)))
    lat, lon = division.latitude, division.longitude
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def polygon_covers(ring: Sequence[tuple[float, float]], division: Division) -> bool:
    if contains(ring, division.latitude, division.longitude):
        return True
    south, north, west, east = _box(division)
    return any(south <= lat <= north and west <= lon <= east for lat, lon in ring)


def divisions_covered(areas: Iterable[Area]) -> dict[str, str]:
    """Division code to how it was matched ("geocode 420100" or "polygon"), in code order."""
    matched: dict[str, str] = {}
    for area in areas:
        for code in area.geocodes:
            named = division_of_code(code)
            if named is not None:
                matched.setdefault(named, f"geocode {code}")
        for ring in area.polygons:
            for division in DIVISION_BY_CODE.values():
                if polygon_covers(ring, division):
                    matched.setdefault(division.code, "polygon")
        for circle in area.circles:
            for division in DIVISION_BY_CODE.values():
                if circle_covers(circle, division):
                    matched.setdefault(division.code, "circle")
    return dict(sorted(matched.items()))
