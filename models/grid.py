"""The service grid: H3 cells, each owned by one team, one cell per member
("one member paired with one grid cell")."""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from functools import cache

import h3
from pydantic import BaseModel, ConfigDict, Field

from models.team import Team

# Resolution 7 cells average 5.2 km² (edge 1.4 km): a patch of a few villages or urban blocks
# that one lineman can reach in minutes; 6,414 members then hold about 33,000 km², a sixth of
# Hubei, around the towns where the teams live. Resolution 8 (0.7 km²) would leave rural
# members with slivers; resolution 6 (36 km²) is more than one person can answer for.
RESOLUTION = 7


def cell_of(lat: float, lon: float) -> str:
    """The grid cell that contains a point."""
    return str(h3.latlng_to_cell(lat, lon, RESOLUTION))


def _distance_km(lat: float, lon: float, cell: str) -> float:
    return float(h3.great_circle_distance((lat, lon), h3.cell_to_latlng(cell), unit="km"))


def cells_near(lat: float, lon: float, radius_km: float) -> frozenset[str]:
    """Cells whose centre lies within `radius_km` of a point, e.g. a town to check coverage of."""
    spacing = math.sqrt(3) * h3.average_hexagon_edge_length(RESOLUTION, unit="km")
    # +2 rings because real cells are up to ~15 % smaller than the average
    k = math.ceil(radius_km / (0.75 * spacing)) + 2
    disk = h3.grid_disk(cell_of(lat, lon), k)
    return frozenset(c for c in disk if _distance_km(lat, lon, c) <= radius_km)


def assign_cell_owners(teams: Iterable[Team], cells_per_member: int = 1) -> dict[str, str]:
    """Give each team `members * cells_per_member` cells, nearest its home first.

    All teams grow outwards together, in order of distance, from one priority queue, so a
    contested cell goes to the team whose home is nearest to it among those still short of
    cells; an exact tie goes to the lower team id. A team whose nearest cells are taken keeps
    growing past them, so every team gets its full share.
    """
    if cells_per_member < 1:
        raise ValueError("cells_per_member must be at least 1")
    owners: dict[str, str] = {}
    wanted: dict[str, int] = {}
    seen: dict[str, set[str]] = {}
    homes: dict[str, tuple[float, float]] = {}
    queue: list[tuple[float, str, str]] = []
    # per-call caches: h3's string conversions dominate the cost where teams overlap
    centres = cache(h3.cell_to_latlng)
    neighbours = cache(lambda cell: h3.grid_disk(cell, 1))

    def visit(team_id: str, cells: Iterable[str]) -> None:
        for cell in cells:
            if cell not in seen[team_id]:
                seen[team_id].add(cell)
                km = h3.great_circle_distance(homes[team_id], centres(cell), unit="km")
                heapq.heappush(queue, (km, team_id, cell))

    for team in teams:
        if team.id in wanted:
            raise ValueError(f"duplicate team id {team.id}")
        wanted[team.id] = team.members * cells_per_member
        homes[team.id] = (team.home.latitude, team.home.longitude)
        seen[team.id] = set()
        # seed the home cell's neighbours too: near a cell edge one of them can be nearer
        visit(team.id, neighbours(cell_of(*homes[team.id])))
    while queue:
        _, team_id, cell = heapq.heappop(queue)
        if wanted[team_id] == 0:
            continue
        if cell not in owners:
            owners[cell] = team_id
            wanted[team_id] -= 1
        if wanted[team_id]:
            visit(team_id, neighbours(cell))
    return owners


class Coverage(BaseModel):
    """How well the owned cells cover the cells that matter, and which teams hold nothing."""

    model_config = ConfigDict(frozen=True)

    cells_of_interest: int = Field(ge=0)
    owned: int = Field(ge=0, description="cells of interest that have an owner")
    unowned_cells: tuple[str, ...] = Field(description="cells of interest nobody owns, sorted")
    teams_without_cells: tuple[str, ...] = Field(description="team ids owning no cell, sorted")
    cells_per_team: dict[str, int] = Field(description="every cell owned, counted by team")

    @property
    def fraction_owned(self) -> float:
        return self.owned / self.cells_of_interest if self.cells_of_interest else 1.0


def coverage(
    owners: dict[str, str], teams: Iterable[Team], cells_of_interest: Iterable[str]
) -> Coverage:
    """Measure an ownership map against the cells that matter."""
    interest = set(cells_of_interest)
    per_team = {team.id: 0 for team in teams}
    for team_id in owners.values():
        per_team[team_id] = per_team.get(team_id, 0) + 1
    unowned = sorted(interest - owners.keys())
    return Coverage(
        cells_of_interest=len(interest),
        owned=len(interest) - len(unowned),
        unowned_cells=tuple(unowned),
        teams_without_cells=tuple(sorted(t for t, n in per_team.items() if n == 0)),
        cells_per_team=per_team,
    )
