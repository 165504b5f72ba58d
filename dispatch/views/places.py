"""Where an address is, for the call-taker's form: the Hubei division and district it names and
an approximate position to start the pin at, said with its precision; or why there is none."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from dispatch.adapters.cpca_addresses import ParsedAddress, normalized, parse_address
from models.hubei import Division
from models.places import HUBEI_PROVINCE, Precision, division_of_adcode, is_directly_governed


class PlaceStatus(StrEnum):
    RESOLVED = "resolved"
    OUTSIDE_HUBEI = "outside_hubei"  # the address names another province's division
    UNRESOLVED = "unresolved"  # no division of Hubei found in it


class Place(BaseModel):
    """An address as the form shows it; the position is approximate, see `precision`."""

    status: PlaceStatus
    message: str = Field(description="what the form shows, Chinese first, English beside it")
    division: str | None = Field(default=None, description="everycall's division code: wuhan")
    division_name: str | None = Field(default=None, description="its Chinese name: 武汉市")
    district: str | None = Field(default=None, description="the county-level division: 武昌区")
    adcode: str | None = Field(default=None, description="national code of the most precise")
    latitude: float | None = None
    longitude: float | None = None
    precision: Precision | None = Field(default=None, description="what the position marks")
    province: str | None = Field(default=None, description="the province the address names")


UNRESOLVED = "未识别出湖北省的市州，请在地图上点选 no Hubei division found: pick it on the map"


def resolve_place(address: str) -> Place:
    """The Hubei division and district `address` names, or why it names none."""
    parsed = parse_address(address)
    if parsed.adcode is None:
        return Place(status=PlaceStatus.UNRESOLVED, message=UNRESOLVED)
    if not parsed.adcode.startswith(HUBEI_PROVINCE):
        return Place(
            status=PlaceStatus.OUTSIDE_HUBEI,
            message=f"地址在湖北省外（{parsed.province}） outside Hubei",
            province=parsed.province,
            adcode=parsed.adcode,
        )
    division = division_of_adcode(parsed.adcode)
    if division is None:  # 湖北省 alone: which of the 17 is not said
        return Place(status=PlaceStatus.UNRESOLVED, message=UNRESOLVED, province=parsed.province)
    return _in_division(parsed, division)


def _in_division(parsed: ParsedAddress, division: Division) -> Place:
    own_city = is_directly_governed(parsed.adcode or "")
    name = parsed.district if own_city else parsed.city  # 仙桃市 is its own division
    district = None if own_city else parsed.district
    at_seat = district is not None and parsed.latitude is not None and parsed.longitude is not None
    seat = ("区县驻地", "district's") if at_seat else ("市州驻地", "division's")
    return Place(
        status=PlaceStatus.RESOLVED,
        message=f"{name}{district or ''}：大致位置（{seat[0]}），可拖动标记 "
        f"{division.title}: approximate, at the {seat[1]} seat; drag the pin",
        division=division.code,
        division_name=name,
        district=district,
        adcode=parsed.adcode,
        latitude=parsed.latitude if at_seat else division.latitude,
        longitude=parsed.longitude if at_seat else division.longitude,
        precision=Precision.DISTRICT if at_seat else Precision.DIVISION,
        province=parsed.province,
    )


def address_key(address: str) -> str:
    """What two spellings of one address share: the county's code and the street part
    (湖北省武汉市武昌区中北路1号 and 武昌区中北路1号 agree); else the text, normalised."""
    parsed = parse_address(address)
    if parsed.district is None or parsed.adcode is None or not parsed.rest:
        return normalized(address)
    return f"{parsed.adcode}:{normalized(parsed.rest)}"
