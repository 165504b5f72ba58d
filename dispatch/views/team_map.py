"""A team's grid area as a small inline SVG for its public page: its division's outline (the
bundled Hubei boundaries the board draws, web/src/assets/hubei-divisions.json, from Apache
ECharts 4.9.0, Apache-2.0), its grid cells (H3 hexagons) and its home base. No tiles, no
internet: the page must work on a dispatch network."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from functools import cache
from html import escape
from pathlib import Path

import h3

BOUNDARIES = Path(__file__).resolve().parents[2] / "web" / "src" / "assets" / "hubei-divisions.json"
WIDTH = 320.0  # SVG units; the page scales it to the phone's width
MARGIN = 8.0

Ring = list[tuple[float, float]]  # (longitude, latitude)


@cache
def division_rings() -> dict[str, list[Ring]]:
    """Every division's outline rings, by division code."""
    features = json.loads(BOUNDARIES.read_text(encoding="utf-8"))["features"]
    return {
        f["properties"]["code"]: [
            [(lon, lat) for lon, lat in ring]
            for polygon in f["geometry"]["coordinates"]
            for ring in polygon
        ]
        for f in features
    }


def cell_ring(cell: str) -> Ring:
    return [(lon, lat) for lat, lon in h3.cell_to_boundary(cell)]


class Frame:
    """An equirectangular projection of a box of lon/lat onto the SVG, scaled by the cosine of
    its middle latitude so the shape keeps its proportions."""

    def __init__(self, points: Iterable[tuple[float, float]]) -> None:
        lons, lats = zip(*points, strict=True)
        self.west, self.east, self.south, self.north = min(lons), max(lons), min(lats), max(lats)
        self.cos = math.cos(math.radians((self.south + self.north) / 2))
        span = max((self.east - self.west) * self.cos, 1e-6)
        self.scale = (WIDTH - 2 * MARGIN) / span
        self.height = (self.north - self.south) * self.scale + 2 * MARGIN

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            MARGIN + (lon - self.west) * self.cos * self.scale,
            MARGIN + (self.north - lat) * self.scale,
        )

    def path(self, rings: Sequence[Ring]) -> str:
        parts = []
        for ring in rings:
            points: list[str] = []
            for lon, lat in ring:
                x, y = self.xy(lon, lat)
                point = f"{x:.1f},{y:.1f}"
                if not points or points[-1] != point:  # drop what rounds to the same spot
                    points.append(point)
            parts.append("M" + "L".join(points) + "Z")
        return "".join(parts)


def team_map_svg(
    region: str,
    home: tuple[float, float],
    cells: Sequence[str],
    label: str,
    *,
    close_up: bool = False,
) -> str:
    """The SVG of the division `region` with the team's `cells` and `home` (lat, lon) marked;
    `label` names the picture for screen readers. A close-up frames the cells and home alone
    (a few km² inside a division of thousands), without the outline."""
    outline = [] if close_up else division_rings().get(region, [])
    hexagons = [cell_ring(c) for c in cells]
    home_lonlat = (home[1], home[0])
    frame = Frame([p for ring in [*outline, *hexagons] for p in ring] + [home_lonlat])
    x, y = frame.xy(*home_lonlat)
    shapes = [
        f'<path class="division" d="{frame.path(outline)}"/>' if outline else "",
        f'<path class="cells" d="{frame.path(hexagons)}"/>' if hexagons else "",
        f'<circle class="home" cx="{x:.1f}" cy="{y:.1f}" r="{3 if close_up else 5}"/>',
    ]
    return (
        f'<svg role="img" aria-label="{escape(label)}" viewBox="0 0 {WIDTH:.0f} '
        f'{frame.height:.0f}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(label)}</title>{''.join(shapes)}</svg>"
    )
