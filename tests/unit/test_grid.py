"""The H3 service grid: one cell per member, nearest home first."""

from __future__ import annotations

import random
from collections import Counter

import h3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.grid import RESOLUTION, assign_cell_owners, cell_of, cells_near, coverage
from models.hubei import DIVISIONS, hubei_registry
from models.team import GeoPoint, Team

WUHAN = (30.5928, 114.3055)


@pytest.fixture(scope="module")
def hubei() -> tuple[list[Team], dict[str, str]]:
    """The default registry and its ownership map: computed once, it takes a few tenths."""
    teams = hubei_registry()
    return teams, assign_cell_owners(teams)


def _team(team_id: str, lat: float, lon: float, members: int = 5) -> Team:
    return Team(
        id=team_id,
        name=team_id,
        region="wuhan",
        home=GeoPoint(latitude=lat, longitude=lon),
        members=members,
        party_members=0,
    )


def _km(team: Team, cell: str) -> float:
    home = (team.home.latitude, team.home.longitude)
    return float(h3.great_circle_distance(home, h3.cell_to_latlng(cell), unit="km"))


def test_cell_of_uses_resolution_7() -> None:
    cell = cell_of(*WUHAN)
    assert h3.get_resolution(cell) == RESOLUTION == 7
    assert cell == h3.latlng_to_cell(*WUHAN, 7)


def test_a_lone_team_owns_one_cell_per_member_nearest_its_home() -> None:
    team = _team("A", *WUHAN, members=12)
    owners = assign_cell_owners([team])
    nearest = sorted(h3.grid_disk(cell_of(*WUHAN), 4), key=lambda c: _km(team, c))[:12]
    assert set(owners) == set(nearest)
    assert set(owners.values()) == {"A"}
    assert cell_of(*WUHAN) in owners


def test_cells_per_member_multiplies_each_share() -> None:
    owners = assign_cell_owners([_team("A", *WUHAN, members=4)], cells_per_member=3)
    assert len(owners) == 12


def test_cells_per_member_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        assign_cell_owners([_team("A", *WUHAN)], cells_per_member=0)


def test_contested_cell_goes_to_the_nearest_home() -> None:
    centre = h3.cell_to_latlng(cell_of(*WUHAN))
    near = _team("Z-near", centre[0], centre[1] + 0.004)  # ~0.4 km east of the cell centre
    far = _team("A-far", centre[0], centre[1] + 0.03)  # ~3 km east, a neighbour's cell
    owners = assign_cell_owners([far, near])
    assert owners[cell_of(*centre)] == "Z-near"


def test_an_exact_tie_goes_to_the_lower_team_id() -> None:
    owners = assign_cell_owners([_team("B", *WUHAN, members=1), _team("A", *WUHAN, members=1)])
    assert owners[cell_of(*WUHAN)] == "A"
    assert Counter(owners.values()) == {"A": 1, "B": 1}


def test_a_crowded_out_team_still_gets_its_full_share() -> None:
    teams = [_team(f"T{i}", *WUHAN, members=7) for i in range(5)]
    owners = assign_cell_owners(teams)
    assert Counter(owners.values()) == {f"T{i}": 7 for i in range(5)}


def test_duplicate_team_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        assign_cell_owners([_team("A", *WUHAN), _team("A", 30.0, 114.0)])


_points = st.tuples(st.floats(30.45, 30.75), st.floats(114.1, 114.5))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(_points, st.integers(1, 12)), min_size=1, max_size=6), st.randoms())
def test_assignment_is_stable_and_order_free(
    specs: list[tuple[tuple[float, float], int]], rnd: random.Random
) -> None:
    """No team is left wanting a cell it is nearer to than its owner, unless it was already
    full by then, and the input order changes nothing."""
    teams = [_team(f"T{i:02d}", lat, lon, m) for i, ((lat, lon), m) in enumerate(specs)]
    owners = assign_cell_owners(teams)
    assert Counter(owners.values()) == {t.id: t.members for t in teams}
    by_id = {t.id: t for t in teams}
    farthest = {t.id: max(_km(t, c) for c, o in owners.items() if o == t.id) for t in teams}
    for cell, owner in owners.items():
        for other in teams:
            if _km(other, cell) < _km(by_id[owner], cell) - 1e-9:
                assert farthest[other.id] <= _km(other, cell) + 1e-9
    shuffled = list(teams)
    rnd.shuffle(shuffled)
    assert assign_cell_owners(shuffled) == owners


def test_the_hubei_registry_owns_one_cell_per_member(
    hubei: tuple[list[Team], dict[str, str]],
) -> None:
    teams, owners = hubei
    assert len(owners) == 6414
    assert Counter(owners.values()) == {t.id: t.members for t in teams}


def test_cells_near_keeps_cells_within_the_radius() -> None:
    cells = cells_near(*WUHAN, radius_km=5.0)
    assert cell_of(*WUHAN) in cells
    assert all(h3.great_circle_distance(WUHAN, h3.cell_to_latlng(c)) <= 5.0 for c in cells)
    # a 5 km disc is ~79 km², about fifteen 5.2 km² cells
    assert 11 <= len(cells) <= 20
    ring = h3.grid_disk(cell_of(*WUHAN), 5)
    within = {c for c in ring if h3.great_circle_distance(WUHAN, h3.cell_to_latlng(c)) <= 5.0}
    assert within == cells


def test_coverage_reports_unowned_cells_and_idle_teams() -> None:
    busy, idle = _team("A", *WUHAN, members=3), _team("B", 31.0, 113.0)
    owners = assign_cell_owners([busy])
    interest = cells_near(*WUHAN, radius_km=5.0)
    report = coverage(owners, [busy, idle], interest)
    assert report.cells_of_interest == len(interest)
    assert report.owned == 3
    assert set(report.unowned_cells) == interest - set(owners)
    assert list(report.unowned_cells) == sorted(report.unowned_cells)
    assert report.teams_without_cells == ("B",)
    assert report.cells_per_team == {"A": 3, "B": 0}
    assert report.fraction_owned == pytest.approx(3 / len(interest))


def test_hubei_urban_cores_are_mostly_owned(hubei: tuple[list[Team], dict[str, str]]) -> None:
    teams, owners = hubei
    cores = set().union(*(cells_near(d.latitude, d.longitude, d.urban_km) for d in DIVISIONS))
    report = coverage(owners, teams, cores)
    assert report.teams_without_cells == ()
    assert report.fraction_owned > 0.6
