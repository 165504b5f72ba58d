"""Hubei's divisions by their national administrative codes (GB/T 2260), and how precisely a
place named in an address is known. Pure: the address reader lives in dispatch/adapters."""

from __future__ import annotations

from enum import StrEnum

from models.hubei import DIVISION_BY_CODE, Division

HUBEI_PROVINCE = "42"

# Prefecture-level divisions are the first four digits; the four county-level cities and the
# forestry district governed by the province itself (4290xx) are divisions of their own.
# fmt: off
DIVISION_BY_ADCODE: dict[str, str] = {
    "4201": "wuhan", "4202": "huangshi", "4203": "shiyan", "4205": "yichang",
    "4206": "xiangyang", "4207": "ezhou", "4208": "jingmen", "4209": "xiaogan",
    "4210": "jingzhou", "4211": "huanggang", "4212": "xianning", "4213": "suizhou",
    "4228": "enshi",
    "429004": "xiantao", "429005": "qianjiang", "429006": "tianmen", "429021": "shennongjia",
}
# fmt: on


class Precision(StrEnum):
    """How close an approximate position is to the caller."""

    DISTRICT = "district"  # the seat of the district or county named in the address
    DIVISION = "division"  # the seat of the prefecture-level division: the district is unknown


def division_of_adcode(adcode: str) -> Division | None:
    """The Hubei division an administrative code lies in, or None (elsewhere, or the province
    as a whole)."""
    code = DIVISION_BY_ADCODE.get(adcode[:6]) or DIVISION_BY_ADCODE.get(adcode[:4])
    return DIVISION_BY_CODE[code] if code else None


def is_directly_governed(adcode: str) -> bool:
    """A county-level city the province governs itself: the district is the division."""
    return adcode[:6] in DIVISION_BY_ADCODE
