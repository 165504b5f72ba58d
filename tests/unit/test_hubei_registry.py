"""The default Hubei registry and the region and area lookups built on its divisions."""

from __future__ import annotations

import math
import re
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from models.grid import assign_cell_owners
from models.hubei import (
    DIVISION_BY_CODE,
    DIVISIONS,
    NAMED_TEAMS,
    apportion,
    area_class_at,
    division_name,
    hubei_registry,
    region_of,
    teams_per_division,
)
from models.incident import AreaClass
from models.team import Skill, Team


@pytest.fixture(scope="module")
def registry() -> list[Team]:
    return hubei_registry()


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine, written out here so the tests do not lean on h3 as the code does."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def test_hubei_has_17_divisions_with_about_57_7_million_people() -> None:
    assert len(DIVISIONS) == 17
    assert len(DIVISION_BY_CODE) == 17
    assert sum(d.population_m for d in DIVISIONS) == pytest.approx(57.75, abs=0.01)
    assert {"wuhan", "enshi", "xiantao", "qianjiang", "tianmen", "shennongjia"} <= set(
        DIVISION_BY_CODE
    )


def test_registry_has_310_teams_and_6414_members(registry: list[Team]) -> None:
    assert len(registry) == 310
    assert sum(t.members for t in registry) == 6414


def test_registry_has_4428_party_members_about_70_percent(registry: list[Team]) -> None:
    party = sum(t.party_members for t in registry)
    assert party == 4428
    assert 0.65 < party / 6414 < 0.75


def test_no_team_has_more_party_members_than_members(registry: list[Team]) -> None:
    assert all(0 <= t.party_members <= t.members for t in registry)


def test_team_counts_follow_population_with_at_least_two_per_division() -> None:
    counts = teams_per_division()
    assert list(counts.values()) == [66, 13, 17, 21, 28, 6, 14, 23, 28, 31, 14, 11, 19, 6, 5, 6, 2]
    assert list(counts) == [d.code for d in DIVISIONS]
    total = sum(d.population_m for d in DIVISIONS)
    for d in DIVISIONS:
        assert counts[d.code] >= 2
        if d.code != "shennongjia":  # the only division lifted to the floor
            assert abs(counts[d.code] - 310 * d.population_m / total) < 1


def test_registry_counts_match_the_apportionment(registry: list[Team]) -> None:
    assert Counter(t.region for t in registry) == teams_per_division()


def test_largest_remainder_gives_leftover_seats_to_the_largest_remainders() -> None:
    # quotas 4.29, 2.86, 2.86 (of 10 over 3:2:2): floors 4+2+2, two seats left for the 0.86s
    assert apportion(10, [3, 2, 2]) == [4, 3, 3]
    assert apportion(10, [100, 1], minimum=2) == [8, 2]


def test_apportion_refuses_a_minimum_it_cannot_honour() -> None:
    with pytest.raises(ValueError):
        apportion(3, [1, 1], minimum=2)


def test_every_division_has_exactly_one_reserve_squad(registry: list[Team]) -> None:
    reserves = [t for t in registry if t.reserve]
    assert sorted(t.region for t in reserves) == sorted(d.code for d in DIVISIONS)
    assert all(t.id.endswith("-R01") for t in reserves)
    assert all(t.name.endswith("共产党员服务队 预备队") for t in reserves)
    assert all(t.name_en.endswith("Party-Member Service Team Reserve Squad") for t in reserves)


def test_ids_are_unique_and_well_formed(registry: list[Team]) -> None:
    assert len({t.id for t in registry}) == 310
    assert all(re.fullmatch(r"HB-[A-Z]{2}-(\d{3}|R01)", t.id) for t in registry)
    assert registry[0].id == "HB-WH-001"


def test_teams_carry_the_uniform_chinese_name_with_english_beside(registry: list[Team]) -> None:
    jingzhou = {t.id: t for t in registry if t.region == "jingzhou"}
    assert jingzhou["HB-JZ-018"].name == "国网湖北电力（荆州）共产党员服务队 第18队"
    assert jingzhou["HB-JZ-018"].name_en == (
        "State Grid Hubei (Jingzhou) Party-Member Service Team No. 18"
    )
    assert registry[0].name == "国网湖北电力（武汉）共产党员服务队 第1队"
    enshi = next(t for t in registry if t.id == "HB-ES-001")
    assert enshi.name.startswith("国网湖北电力（恩施）") and "(Enshi)" in enshi.name_en
    unnamed = [t for t in registry if t.id not in NAMED_TEAMS]
    assert all(t.name.startswith("国网湖北电力（") for t in unnamed)
    assert all(t.name_en.startswith("State Grid Hubei (") for t in unnamed)


def test_the_articles_named_teams_are_carried_where_it_puts_them(registry: list[Team]) -> None:
    by_id = {t.id: t for t in registry}
    guangman = by_id["HB-SZ-001"]
    assert (guangman.name, guangman.leader, guangman.leader_en) == (
        "光满服务队",
        "左光满",
        "Zuo Guangman",
    )
    assert guangman.region == "suizhou" and "均川" in guangman.intro  # the article places it
    assert by_id["HB-SZ-002"].name == "“光满·爱心红丝带”共产党员服务队"
    assert by_id["HB-WH-002"].name == "林丽服务队" and by_id["HB-WH-002"].leader == "林丽"
    assert by_id["HB-WH-003"].name == "“知音”共产党员服务队"
    names = {t.name for t in registry}
    assert len(names) == 310  # the named teams replaced uniform names, they did not add any
    for team_id in NAMED_TEAMS:
        team = by_id[team_id]
        assert team.name_en and team.intro and team.intro_en
        # the uniform name stays in the introduction, where the company's lists find it
        assert (
            "共产党员服务队 第" in team.intro and "Party-Member Service Team No." in team.intro_en
        )


def test_every_team_has_roles_that_add_up_to_its_members(registry: list[Team]) -> None:
    for team in registry:
        assert sum(r.count for r in team.roles) == team.members
        assert [r.role for r in team.roles][:1] == ["队长"]
        assert all(r.role_en for r in team.roles)


def test_every_member_serves_one_grid_cell_and_no_cell_has_two_teams(
    registry: list[Team],
) -> None:
    assert all(len(t.grid_cells) == t.members for t in registry)
    cells = [c for t in registry for c in t.grid_cells]
    assert len(cells) == len(set(cells)) == 6414
    assert dict(sorted((c, t.id) for t in registry for c in t.grid_cells)) == dict(
        sorted(assign_cell_owners(registry).items())
    )


def test_every_team_is_paired_with_its_own_party_branch(registry: list[Team]) -> None:
    assert len({t.branch for t in registry}) == 310  # 一队一支部
    jz = next(t for t in registry if t.id == "HB-JZ-018")
    assert (jz.branch, jz.branch_en) == (
        "国网荆州供电公司第18党支部",
        "Party Branch No. 18, State Grid Jingzhou Power Supply Company",
    )


def test_every_team_introduces_itself_in_both_languages(registry: list[Team]) -> None:
    for team in registry:
        division = DIVISION_BY_CODE[team.region]
        assert division.name_zh in team.intro and f"队员{team.members}名" in team.intro
        assert division.title in team.intro_en and f"{team.members} members" in team.intro_en


def test_divisions_have_chinese_names_and_show_them_by_locale() -> None:
    assert {
        d.code: d.name_zh for d in DIVISIONS if d.code in ("wuhan", "enshi", "shennongjia")
    } == {
        "wuhan": "武汉市",
        "enshi": "恩施土家族苗族自治州",
        "shennongjia": "神农架林区",
    }
    assert all(d.name_zh.endswith(("市", "州", "林区")) for d in DIVISIONS)
    assert len({d.name_zh for d in DIVISIONS}) == 17
    assert division_name("jingzhou") == "荆州市"
    assert division_name("jingzhou", short=True) == "荆州"
    assert division_name("enshi", "en") == "Enshi Tujia and Miao Autonomous Prefecture"
    assert division_name("enshi", "en", short=True) == "Enshi"
    assert DIVISION_BY_CODE["xiantao"].display_name() == "仙桃市"
    assert division_name("elsewhere") == "elsewhere"


def test_registry_is_the_same_on_every_call(registry: list[Team]) -> None:
    again = hubei_registry()
    assert again == registry
    assert again is not registry  # callers may mutate their list without harming the next


def test_every_team_repairs_and_carries_two_to_five_tasks(registry: list[Team]) -> None:
    assert all(Skill.REPAIR in t.skills for t in registry)
    assert all(2 <= t.capacity <= 5 for t in registry)
    for skill in (Skill.DISASTER_RELIEF, Skill.ASSISTANCE, Skill.EQUIPMENT_CHECK):
        assert sum(skill in t.skills for t in registry) > 310 // 2


def test_every_team_has_a_leader_named_in_chinese_and_pinyin(registry: list[Team]) -> None:
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", t.leader) for t in registry)
    assert all(re.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+", t.leader_en) for t in registry)


def test_homes_lie_within_40_km_of_their_centre_and_in_their_region(
    registry: list[Team],
) -> None:
    for team in registry:
        d = DIVISION_BY_CODE[team.region]
        assert _km(team.home.latitude, team.home.longitude, d.latitude, d.longitude) <= 40.5
        assert region_of(team.home.latitude, team.home.longitude) == team.region


def test_larger_divisions_spread_their_teams_wider(registry: list[Team]) -> None:
    def spread(code: str) -> float:
        d = DIVISION_BY_CODE[code]
        return max(
            _km(t.home.latitude, t.home.longitude, d.latitude, d.longitude)
            for t in registry
            if t.region == code
        )

    assert spread("enshi") > spread("ezhou") + 10


def test_each_division_centre_is_in_its_own_region() -> None:
    for d in DIVISIONS:
        assert region_of(d.latitude, d.longitude) == d.code


@given(st.floats(28.5, 33.5), st.floats(108.0, 116.5))
def test_region_of_returns_the_division_with_the_nearest_centre(lat: float, lon: float) -> None:
    found = DIVISION_BY_CODE[region_of(lat, lon)]
    nearest = min(_km(lat, lon, d.latitude, d.longitude) for d in DIVISIONS)
    assert _km(lat, lon, found.latitude, found.longitude) <= nearest + 1e-6


def test_city_centres_are_urban_but_shennongjia_is_remote() -> None:
    for d in DIVISIONS:
        expected = AreaClass.REMOTE if d.code == "shennongjia" else AreaClass.URBAN
        assert area_class_at(d.latitude, d.longitude) == expected


def test_thirty_km_out_of_wuhan_is_rural() -> None:
    # due north of the centre, about 30 km, still nearer Wuhan than Xiaogan
    assert region_of(30.86, 114.3055) == "wuhan"
    assert area_class_at(30.86, 114.3055) == AreaClass.RURAL


def test_enshi_outskirts_are_remote() -> None:
    # ~40 km west of Enshi city, toward Lichuan: rural elsewhere, remote in Enshi
    assert region_of(30.29, 109.07) == "enshi"
    assert area_class_at(30.29, 109.07) == AreaClass.REMOTE


def test_a_point_far_from_every_centre_is_remote() -> None:
    assert area_class_at(33.4, 108.2) == AreaClass.REMOTE
