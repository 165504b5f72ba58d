"""The default Hubei registry: 17 divisions and 310 party-member service teams, generated
deterministically so every environment starts from the same teams."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache

import h3

from models.grid import assign_cell_owners
from models.incident import AreaClass
from models.team import SKILL_ZH, GeoPoint, RoleCount, Skill, Team

TOTAL_TEAMS = 310
TOTAL_MEMBERS = 6_414
TOTAL_PARTY_MEMBERS = 4_428
MIN_TEAMS_PER_DIVISION = 2
MAX_JITTER_KM = 40.0
_SEED = "everycall-hubei-v1"  # changing it renames leaders and moves every home base


@dataclass(frozen=True, slots=True)
class Division:
    """A prefecture-level division: where its government sits and how many people it serves.
    Its names are Chinese first (`name_zh`, the official name; `short_zh`, what people say and
    what the team names carry) with English beside them (`name`, `full_name`)."""

    code: str
    abbrev: str
    name: str
    name_zh: str
    short_zh: str
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

    def display_name(self, locale: str = "zh", *, short: bool = False) -> str:
        """The name for a reader of `locale`: "zh" (the default) gives 恩施土家族苗族自治州 (or
        恩施, short), "en" gives Enshi Tujia and Miao Autonomous Prefecture (or Enshi)."""
        if locale == "en":
            return self.name if short else self.title
        return self.short_zh if short else self.name_zh


# fmt: off
DIVISIONS: tuple[Division, ...] = (
    Division("wuhan", "WH", "Wuhan", "武汉市", "武汉", 30.5928, 114.3055, 12.3265, 8_569),
    Division("huangshi", "HS", "Huangshi", "黄石市", "黄石", 30.1999, 115.0389, 2.4691, 4_583),
    Division("shiyan", "SY", "Shiyan", "十堰市", "十堰", 32.6292, 110.7982, 3.2090, 23_680),
    Division("yichang", "YC", "Yichang", "宜昌市", "宜昌", 30.6919, 111.2865, 4.0176, 21_227),
    Division("xiangyang", "XY", "Xiangyang", "襄阳市", "襄阳", 32.0090, 112.1224, 5.2610, 19_728),
    Division("ezhou", "EZ", "Ezhou", "鄂州市", "鄂州", 30.3910, 114.8949, 1.0794, 1_594),
    Division("jingmen", "JM", "Jingmen", "荆门市", "荆门", 31.0354, 112.1994, 2.5969, 12_404),
    Division("xiaogan", "XG", "Xiaogan", "孝感市", "孝感", 30.9246, 113.9169, 4.2704, 8_910),
    Division("jingzhou", "JZ", "Jingzhou", "荆州市", "荆州", 30.3348, 112.2397, 5.2312, 14_243),
    Division("huanggang", "HG", "Huanggang", "黄冈市", "黄冈", 30.4537, 114.8724, 5.8827, 17_457),
    Division("xianning", "XN", "Xianning", "咸宁市", "咸宁", 29.8413, 114.3225, 2.6583, 9_861),
    Division("suizhou", "SZ", "Suizhou", "随州市", "随州", 31.6900, 113.3826, 2.0479, 9_636),
    # Enshi is mountains beyond its towns: rural ends close to the centre.
    Division("enshi", "ES", "Enshi", "恩施土家族苗族自治州", "恩施", 30.2720, 109.4882, 3.4561,
             24_061, urban_km=10.0, rural_km=25.0,
             full_name="Enshi Tujia and Miao Autonomous Prefecture"),
    Division("xiantao", "XT", "Xiantao", "仙桃市", "仙桃", 30.3626, 113.4540, 1.1347, 2_538),
    Division("qianjiang", "QJ", "Qianjiang", "潜江市", "潜江", 30.4212, 112.8999, 0.8865, 2_004),
    Division("tianmen", "TM", "Tianmen", "天门市", "天门", 30.6634, 113.1660, 1.1586, 2_622),
    # Shennongjia is forest and mountain: all of it is remote for dispatch purposes.
    Division("shennongjia", "SN", "Shennongjia", "神农架林区", "神农架", 31.7447, 110.6758,
             0.0666, 3_253, urban_km=0.0, rural_km=0.0, full_name="Shennongjia Forestry District"),
)
# fmt: on

DIVISION_BY_CODE: dict[str, Division] = {d.code: d for d in DIVISIONS}


def division_name(code: str, locale: str = "zh", *, short: bool = False) -> str:
    """A division's name for a reader of `locale`; a code outside Hubei is shown as it is."""
    division = DIVISION_BY_CODE.get(code)
    return division.display_name(locale, short=short) if division else code


# (hanzi, pinyin): the seed draws an index into each tuple, so the leaders' pinyin stayed
# what it was when the leaders were named in pinyin alone
# fmt: off
_SURNAMES = (
    ("王", "Wang"), ("李", "Li"), ("张", "Zhang"), ("刘", "Liu"), ("陈", "Chen"),
    ("杨", "Yang"), ("黄", "Huang"), ("赵", "Zhao"), ("吴", "Wu"), ("周", "Zhou"),
    ("徐", "Xu"), ("孙", "Sun"), ("胡", "Hu"), ("朱", "Zhu"), ("高", "Gao"),
    ("林", "Lin"), ("何", "He"), ("郭", "Guo"), ("马", "Ma"), ("罗", "Luo"),
)
_GIVEN = (
    ("伟", "Wei"), ("芳", "Fang"), ("敏", "Min"), ("静", "Jing"), ("强", "Qiang"),
    ("磊", "Lei"), ("军", "Jun"), ("艳", "Yan"), ("涛", "Tao"), ("明", "Ming"),
    ("超", "Chao"), ("霞", "Xia"), ("平", "Ping"), ("刚", "Gang"), ("辉", "Hui"),
    ("斌", "Bin"), ("华", "Hua"), ("勇", "Yong"), ("丽", "Li"), ("杰", "Jie"),
    ("海洋", "Haiyang"), ("建国", "Jianguo"), ("晓明", "Xiaoming"), ("红梅", "Hongmei"),
    ("志强", "Zhiqiang"), ("桂英", "Guiying"), ("文军", "Wenjun"), ("丽华", "Lihua"),
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


def _roles(members: int) -> tuple[RoleCount, ...]:
    """A leader, a deputy in a team of six or more, a safety officer per ten, the rest crew."""
    deputies = 1 if members >= 6 else 0
    safety = max(1, members // 10) if members >= 3 else 0
    crew = members - 1 - deputies - safety
    counts = (
        ("队长", "Leader", 1),
        ("副队长", "Deputy leader", deputies),
        ("安全员", "Safety officer", safety),
        ("队员", "Member", crew),
    )
    return tuple(RoleCount(role=r, role_en=e, count=n) for r, e, n in counts if n > 0)


def _branch(d: Division, number: int) -> tuple[str, str]:
    """一队一支部: team N is paired with the company's branch N, the reserve squad with the
    head office's branch (the seed's pattern; the article names no branches)."""
    company, company_en = f"国网{d.short_zh}供电公司", f"State Grid {d.name} Power Supply Company"
    if number == 0:
        return f"{company}机关党支部", f"Head Office Party Branch, {company_en}"
    return f"{company}第{number}党支部", f"Party Branch No. {number}, {company_en}"


def _uniform_name(d: Division, number: int) -> tuple[str, str]:
    """The name every team carries (统一命名), in Chinese and English."""
    zh, en = (
        f"国网湖北电力（{d.short_zh}）共产党员服务队",
        f"State Grid Hubei ({d.name}) Party-Member",
    )
    if number == 0:
        return f"{zh} 预备队", f"{en} Service Team Reserve Squad"
    return f"{zh} 第{number}队", f"{en} Service Team No. {number}"


def _intro(team: Team, d: Division) -> tuple[str, str]:
    skills = [s for s in Skill if s in team.skills]  # the enum's order, so intros read alike
    kind_zh, kind_en = ("预备队", "reserve squad") if team.reserve else ("服务队", "service team")
    zh = (
        f"{d.name_zh}的共产党员{kind_zh}，队员{team.members}名，其中党员{team.party_members}名；"
        f"与{team.branch}结对（一队一支部）；服务：{'、'.join(SKILL_ZH[s] for s in skills)}。"
    )
    en = (
        f"A party-member {kind_en} of {d.title}: {team.members} members, "
        f"{team.party_members} of them party members; paired with {team.branch_en}; "
        f"serves with {', '.join(_SKILL_EN[s] for s in skills)}."
    )
    if team.reserve:
        zh += "吸纳新入职员工、入党积极分子和青年志愿者。"
        en += " It takes in new staff, party applicants and young volunteers."
    return zh, en


_SKILL_EN = {
    Skill.REPAIR: "power repairs",
    Skill.DISASTER_RELIEF: "disaster relief",
    Skill.ASSISTANCE: "help for people in difficulty",
    Skill.EQUIPMENT_CHECK: "equipment check-ups",
}


@dataclass(frozen=True, slots=True)
class _Named:
    """A team the article names (/work/shared/seeds: the provincial company's report on its
    310 teams), with what the article says of it."""

    name: str
    name_en: str
    story: str
    story_en: str
    leader: tuple[str, str] | None = None  # (Chinese, pinyin), when the name says who


# The ids stay those the seed always gave, so other tests and the demo keep their teams.
NAMED_TEAMS: dict[str, _Named] = {
    # the article: "光满"黨員服務隊 ... 用生命服務隨州均川艾滋病村; it is named for 左光满,
    # whom the article lists among the company's exemplars
    "HB-SZ-001": _Named(
        "光满服务队",
        "Guangman Service Team",
        "十四年如一日服务随州均川艾滋病村，把客户当家人、把服务当家务、把帮扶当使命。",
        "For fourteen years, day in and day out, it has served the AIDS village of Junchuan in"
        " Suizhou: customers are family, service is housework, help is its mission.",
        leader=("左光满", "Zuo Guangman"),
    ),
    # the article lists it among the exemplars without a place; "光满" and the red ribbon of
    # AIDS care tie it to the Junchuan team, so the seed puts it in Suizhou too
    "HB-SZ-002": _Named(
        "“光满·爱心红丝带”共产党员服务队",
        '"Guangman · Red Ribbon of Love" Party-Member Service Team',
        "公司涌现的先进典型之一，与光满服务队同以“光满”为名。",
        "One of the company's exemplary teams; it shares the name Guangman with the Guangman"
        " Service Team.",
    ),
    # the article names it among the company's pioneer teams but not where it serves: the seed
    # puts it in Wuhan. It is named for 林丽, whom the article lists among the exemplars.
    "HB-WH-002": _Named(
        "林丽服务队",
        "Lin Li Service Team",
        "公司打造的先锋团队之一，以林丽命名。",
        "One of the company's pioneer teams, named for Lin Li.",
        leader=("林丽", "Lin Li"),
    ),
    # the article does not say where it serves: the seed puts it in Wuhan, home of the 知音
    # legend (Guqin Terrace, Hanyang)
    "HB-WH-003": _Named(
        "“知音”共产党员服务队",
        '"Zhiyin" (Kindred Spirit) Party-Member Service Team',
        "誓当“供电知音人”，千方百计改造电力排灌设施，让“逢涝即淹、逢旱必灾”成为历史。",
        'Sworn to be "kindred spirits of power supply", it rebuilt the electric irrigation and'
        ' drainage until "flooded at every downpour, parched at every drought" was history.',
    ),
}


def _team(draft: _Draft, members: int, party_members: int) -> Team:
    d, rng = draft.division, draft.rng
    reserve = draft.number == 0
    # draws in the order the seed has always made them, so no base moves and no leader changes
    home = _home(d, rng)
    (surname, surname_en), (given, given_en) = rng.choice(_SURNAMES), rng.choice(_GIVEN)
    skills = _skills(rng)
    capacity = 2 if reserve else rng.randint(2, 5)
    name, name_en = _uniform_name(d, draft.number)
    branch, branch_en = _branch(d, draft.number)
    return Team(
        id=f"HB-{d.abbrev}-R01" if reserve else f"HB-{d.abbrev}-{draft.number:03d}",
        name=name,
        name_en=name_en,
        region=d.code,
        home=home,
        leader=surname + given,
        leader_en=f"{surname_en} {given_en}",
        members=members,
        party_members=party_members,
        roles=_roles(members),
        skills=skills,
        capacity=capacity,
        reserve=reserve,
        branch=branch,
        branch_en=branch_en,
    )


def _described(team: Team) -> Team:
    """The team with its introduction, and its own name and story if the article names it."""
    d = DIVISION_BY_CODE[team.region]
    zh, en = _intro(team, d)
    named = NAMED_TEAMS.get(team.id)
    if named is None:
        return team.model_copy(update={"intro": zh, "intro_en": en})
    update = {
        "name": named.name,
        "name_en": named.name_en,
        # the uniform name stays in the introduction: it is how the company's lists know it
        "intro": f"{named.story}（{team.name}）{zh}",
        "intro_en": f"{named.story_en} ({team.name_en}) {en}",
    }
    if named.leader:
        update["leader"], update["leader_en"] = named.leader
    return team.model_copy(update=update)


def _with_grid(teams: list[Team]) -> list[Team]:
    """Each team with the grid cells it serves, one per member, as models/grid.py deals them."""
    cells: dict[str, list[str]] = {t.id: [] for t in teams}
    for cell, owner in assign_cell_owners(teams).items():
        cells[owner].append(cell)
    return [t.model_copy(update={"grid_cells": tuple(sorted(cells[t.id]))}) for t in teams]


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
    teams = [_team(d, m, p) for d, m, p in zip(drafts, members, party, strict=True)]
    # validated again as a whole: model_copy does not check what it changes
    return tuple(Team.model_validate(_described(t).model_dump()) for t in _with_grid(teams))


def hubei_registry() -> list[Team]:
    """The 310 default teams, identical on every call and every machine."""
    return list(_registry())
