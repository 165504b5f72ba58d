"""Addresses resolved offline (cpca's bundled table) to a Hubei division, its district and an
approximate position with its precision; an address elsewhere or of nothing says so."""

from __future__ import annotations

import pytest

from dispatch.views.places import Place, PlaceStatus, address_key, resolve_place
from models.geodesy import geodesic_km_exact
from models.hubei import DIVISION_BY_CODE, DIVISIONS
from models.places import DIVISION_BY_ADCODE, Precision


def km_from_centre(place: Place, division: str) -> float:
    centre = DIVISION_BY_CODE[division]
    assert place.latitude is not None and place.longitude is not None
    return geodesic_km_exact(place.latitude, place.longitude, centre.latitude, centre.longitude)


@pytest.mark.parametrize(
    ("address", "division", "district", "within_km"),
    [
        ("武汉市武昌区中北路1号", "wuhan", "武昌区", 10),
        ("荆州市沙市区北京中路188号", "jingzhou", "沙市区", 5),
        ("恩施土家族苗族自治州恩施市舞阳大街2号", "enshi", "恩施市", 5),
        ("恩施州恩施市航空大道", "enshi", "恩施市", 5),  # the everyday short form
        ("湖北省十堰市张湾区车城路", "shiyan", "张湾区", 10),
        ("黄冈市麻城市龟山镇", "huanggang", "麻城市", 90),
        ("江夏区纸坊大街8号", "wuhan", "江夏区", 30),  # the district alone names its division
        ("青山区工人村", "wuhan", "青山区", 20),  # Baotou has a 青山区 too: Hubei's is meant
        ("湖北省监利市容城镇", "jingzhou", "监利市", 90),  # a county until 2020
        ("京山市新市镇", "jingmen", "京山市", 90),  # a county until 2018
    ],
)
def test_a_hubei_address_resolves_to_its_division_and_the_district_seat(
    address: str, division: str, district: str, within_km: float
) -> None:
    place = resolve_place(address)
    assert (place.status, place.division, place.district) == (
        PlaceStatus.RESOLVED,
        division,
        district,
    )
    assert place.precision is Precision.DISTRICT
    assert 0 < km_from_centre(place, division) <= within_km
    assert place.adcode is not None and place.adcode.startswith("42")


def test_the_district_seat_is_where_the_table_puts_it() -> None:
    place = resolve_place("武汉市武昌区中北路1号")
    assert (place.latitude, place.longitude) == pytest.approx((30.5544, 114.3167), abs=1e-3)
    assert place.division_name == "武汉市" and place.adcode == "420106"


def test_a_division_without_a_district_is_placed_at_the_divisions_seat() -> None:
    place = resolve_place("武汉市某小区")
    wuhan = DIVISION_BY_CODE["wuhan"]
    assert (place.division, place.district, place.precision) == ("wuhan", None, Precision.DIVISION)
    assert (place.latitude, place.longitude) == (wuhan.latitude, wuhan.longitude)


def test_a_city_the_province_governs_itself_is_its_own_division() -> None:
    place = resolve_place("仙桃市干河街道钱沟路3号")
    assert (place.division, place.division_name, place.district) == ("xiantao", "仙桃市", None)
    assert place.precision is Precision.DIVISION
    assert place.latitude == DIVISION_BY_CODE["xiantao"].latitude


@pytest.mark.parametrize(
    ("address", "province"),
    [("广东省深圳市南山区科技园", "广东省"), ("内蒙古包头市青山区钢铁大街", "内蒙古自治区")],
)
def test_an_address_in_another_province_is_outside_hubei(address: str, province: str) -> None:
    place = resolve_place(address)
    assert (place.status, place.province) == (PlaceStatus.OUTSIDE_HUBEI, province)
    assert place.division is None and place.latitude is None and place.precision is None
    assert "outside Hubei" in place.message


@pytest.mark.parametrize("address", ["asdf qwer", "中北路1号", "湖北省", "１２３", "\u200b"])
def test_nonsense_or_too_little_is_unresolved_with_a_reason(address: str) -> None:
    place = resolve_place(address)
    assert place.status is PlaceStatus.UNRESOLVED
    assert place.division is None and place.latitude is None
    assert "pick it on the map" in place.message


def test_every_hubei_county_in_the_table_lands_in_one_of_the_17_divisions() -> None:
    import cpca

    counties = [
        info
        for info in cpca.ad_2_addr_dict.values()
        if info.adcode.startswith("42") and info.rank == info.RANK_COUNTY and info.longitude
    ]
    assert len(counties) > 100
    for info in counties:
        place = resolve_place(info.name)
        assert place.status is PlaceStatus.RESOLVED, info.name
        assert place.division in DIVISION_BY_CODE, info.name
    assert set(DIVISION_BY_ADCODE.values()) == {d.code for d in DIVISIONS}


def test_two_spellings_of_one_address_share_a_key_and_other_addresses_do_not() -> None:
    key = address_key("湖北省武汉市武昌区中北路1号")
    assert address_key("武昌区 中北路１号") == key
    assert address_key("武汉市武昌区中北路2号") != key
    assert address_key("武汉市洪山区中北路1号") != key
