"""The default Hubei registry: 17 divisions and 310 party-member service teams, generated
deterministically so every environment starts from the same teams."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache

import h3

from models.incident import AreaClass
from models.team import GeoPoint, Skill, Team

TOTAL_TEAMS = 310
TOTAL_MEMBERS = 6_414
TOTAL_PARTY_MEMBERS = 4_428
MIN_TEAMS_PER_DIVISION = 2
MAX_JITTER_KM = 40.0
_SEED = "everycall-hubei-v1"  # changing it renames leaders and moves every home base


@dataclass(frozen=True, slots=True)
class Division:
    """A prefecture-level division: where its government sits and how many people it serves."""

    code: str
    abbrev: str
    name: str
    latitude: float
    longitude: float
    population_m: float  # 2020 census, resident population in millions
    area_km2: float  # approximate
    urban_km: float = 15.0  # within this of the centre counts as urban
    rural_km: float = 60.0  # beyond this is remote
    full_name: str = ""  # when the official name is longer than the everyday one

    @property
    def title(self) -> str:
        return self.full_name or self.name

    @property
    def jitter_km(self) -> float:
        """How far team bases spread: about half the radius of a disc of the division's area."""
        return min(MAX_JITTER_KM, 0.45 * math.sqrt(self.area_km2 / math.pi))


# fmt: off
DIVISIONS: tuple[Division, ...] = (
    Division("wuhan", "WH", "Wuhan", 30.5928, 114.3055, 12.3265, 8_569),
    Division("huangshi", "HS", "Huangshi", 30.1999, 115.0389, 2.4691, 4_583),
    Division("shiyan", "SY", "Shiyan", 32.6292, 110.7982, 3.2090, 23_680),
    Division("yichang", "YC", "Yichang", 30.6919, 111.2865, 4.0176, 21_227),
    Division("xiangyang", "XY", "Xiangyang", 32.0090, 112.1224, 5.2610, 19_728),
    Division("ezhou", "EZ", "Ezhou", 30.3910, 114.8949, 1.0794, 1_594),
    Division("jingmen", "JM", "Jingmen", 31.0354, 112.1994, 2.5969, 12_404),
    Division("xiaogan", "XG", "Xiaogan", 30.9246, 113.9169, 4.2704, 8_910),
    Division("jingzhou", "JZ", "Jingzhou", 30.3348, 112.2397, 5.2312, 14_243),
    Division("huanggang", "HG", "Huanggang", 30.4537, 114.8724, 5.8827, 17_457),
    Division("xianning", "XN", "Xianning", 29.8413, 114.3225, 2.6583, 9_861),
    Division("suizhou", "SZ", "Suizhou", 31.6900, 113.3826, 2.0479, 9_636),
    # Enshi is mountains beyond its towns: rural ends close to the centre.
    Division("enshi", "ES", "Enshi", 30.2720, 109.4882, 3.4561, 24_061,
             urban_km=10.0, rural_km=25.0, full_name="Enshi Tujia and Miao Autonomous Prefecture"),
    Division("xiantao", "XT", "Xiantao", 30.3626, 113.4540, 1.1347, 2_538),
    Division("qianjiang", "QJ", "Qianjiang", 30.4212, 112.8999, 0.8865, 2_004),
    Division("tianmen", "TM", "Tianmen", 30.6634, 113.1660, 1.1586, 2_622),
    # Shennongjia is forest and mountain: all of it is remote for dispatch purposes.
    Division("shennongjia", "SN", "Shennongjia", 31.7447, 110.6758, 0.0666, 3_253,
             urban_km=0.0, rural_km=0.0, full_name="Shennongjia Forestry District"),
)
# fmt: on

DIVISION_BY_CODE: dict[str, Division] = {d.code: d for d in DIVISIONS}

# fmt: off
_SURNAMES = (
    "Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Zhao", "Wu", "Zhou",
    "Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo",
)
_GIVEN = (
    "Wei", "Fang", "Min", "Jing", "Qiang", "Lei", "Jun", "Yan", "Tao", "Ming",
    "Chao", "Xia", "Ping", "Gang", "Hui", "Bin", "Hua", "Yong", "Li", "Jie",
    "Haiyang", "Jianguo", "Xiaoming", "Hongmei", "Zhiqiang", "Guiying", "Wenjun", "Lihua",
)
# fmt: on
_OPTIONAL_SKILLS = (Skill.DISASTER_RELIEF, Skill.ASSISTANCE, Skill.EQUIPMENT_CHECK)


def apportion(total: int, weights: list[float], minimum: int = 0) -> list[int]:
    """Largest-remainder (Hamilton) apportionment of `total` seats, each share >= `minimum`.

    Shares whose proportional quota falls below the minimum are fixed at the minimum and the
    rest is re-apportioned among the others, so the floor does not distort the large shares.
    """
    if total < minimum * len(weights):
        raise ValueError(f"cannot give {len(weights)} shares at least {minimum} of {total}")
    fixed: set[int] = set()
    while True:
        free = [i for i in range(len(weights)) if i not in fixed]
        seats = total - minimum * len(fixed)
        weight = sum(weights[i] for i in free)
        quotas = {i: seats * weights[i] / weight for i in free}
        below = {i for i in free if quotas[i] < minimum}
        if not below:
            break
        fixed |= below
    shares = [minimum] * len(weights)
    for i in free:
        shares[i] = math.floor(quotas[i])
    # ties broken by index so the result never depends on sort stability details
    by_remainder = sorted(free, key=lambda i: (-(quotas[i] - shares[i]), i))
    for i in by_remainder[: seats - sum(shares[i] for i in free)]:
        shares[i] += 1
    return shares


def teams_per_division() -> dict[str, int]:
    """How many of the 310 teams each division gets, in proportion to its population."""
    counts = apportion(
        TOTAL_TEAMS, [d.population_m for d in DIVISIONS], minimum=MIN_TEAMS_PER_DIVISION
    )
    return {d.code: n for d, n in zip(DIVISIONS, counts, strict=True)}


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(h3.great_circle_distance((lat1, lon1), (lat2, lon2), unit="km"))


def _nearest(lat: float, lon: float) -> tuple[Division, float]:
    best = min(DIVISIONS, key=lambda d: (_distance_km(lat, lon, d.latitude, d.longitude), d.code))
    return best, _distance_km(lat, lon, best.latitude, best.longitude)


def region_of(lat: float, lon: float) -> str:
    """The division whose centre is nearest: a Voronoi stand-in for the real borders."""
    return _nearest(lat, lon)[0].code


def area_class_at(lat: float, lon: float) -> AreaClass:
    """Urban, rural or remote, by distance to the nearest division centre."""
    division, km = _nearest(lat, lon)
    if km < division.urban_km:
        return AreaClass.URBAN
    if km < division.rural_km:
        return AreaClass.RURAL
    return AreaClass.REMOTE


def _home(division: Division, rng: random.Random) -> GeoPoint:
    """A base within the division's jitter radius, redrawn until it falls in the division's
    own Voronoi cell so that `region_of(team.home) == team.region` always holds."""
    while True:
        # sqrt keeps the points uniform over the disc instead of bunched at the centre
        km = division.jitter_km * math.sqrt(rng.random())
        bearing = rng.uniform(0.0, 2.0 * math.pi)
        lat = round(division.latitude + km * math.cos(bearing) / 111.32, 5)
        lon = round(
            division.longitude
            + km * math.sin(bearing) / (111.32 * math.cos(math.radians(division.latitude))),
            5,
        )
        if region_of(lat, lon) == division.code:
            return GeoPoint(latitude=lat, longitude=lon)


def _skills(rng: random.Random) -> frozenset[Skill]:
    """Every team repairs; each other skill is held by about four teams in five."""
    return frozenset({Skill.REPAIR} | {s for s in _OPTIONAL_SKILLS if rng.random() < 0.8})


@dataclass(frozen=True, slots=True)
class _Draft:
    """A team before its size is known. Drafts of one division share one generator, so they
    must be turned into teams in order for the registry to stay the same."""

    division: Division
    number: int  # 0 for the reserve squad
    rng: random.Random
    size_weight: float
    party_share: float


def _drafts() -> list[_Draft]:
    drafts: list[_Draft] = []
    for division, count in zip(DIVISIONS, teams_per_division().values(), strict=True):
        rng = random.Random(f"{_SEED}:{division.code}")
        for number in [*range(1, count), 0]:
            reserve = number == 0
            drafts.append(
                _Draft(
                    division,
                    number,
                    rng,
                    size_weight=rng.uniform(14, 24) if reserve else rng.uniform(14, 28),
                    # a reserve squad is mostly new staff, volunteers and applicants
                    party_share=rng.uniform(0.25, 0.4) if reserve else rng.uniform(0.62, 0.85),
                )
            )
    return drafts


def _team(draft: _Draft, members: int, party_members: int) -> Team:
    d, rng = draft.division, draft.rng
    reserve = draft.number == 0
    return Team(
        id=f"HB-{d.abbrev}-R01" if reserve else f"HB-{d.abbrev}-{draft.number:03d}",
        name=f"{d.name} Party-Member Service "
        + ("Reserve Squad" if reserve else f"Team No. {draft.number}"),
        region=d.code,
        home=_home(d, rng),
        leader=f"{rng.choice(_SURNAMES)} {rng.choice(_GIVEN)}",
        members=members,
        party_members=party_members,
        skills=_skills(rng),
        capacity=2 if reserve else rng.randint(2, 5),
        reserve=reserve,
    )


@cache
def _registry() -> tuple[Team, ...]:
    drafts = _drafts()
    members = apportion(TOTAL_MEMBERS, [d.size_weight for d in drafts], minimum=1)
    # shares top out at 0.85 and the scaling to 4,428 is ~1 %, so no team has more party
    # members than members; a unit test holds that line
    party = apportion(
        TOTAL_PARTY_MEMBERS,
        [m * d.party_share for m, d in zip(members, drafts, strict=True)],
    )
    return tuple(_team(d, m, p) for d, m, p in zip(drafts, members, party, strict=True))


def hubei_registry() -> list[Team]:
    """The 310 default teams, identical on every call and every machine."""
    return list(_registry())
