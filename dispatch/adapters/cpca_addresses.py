"""Chinese addresses read offline with cpca 0.5.5: its bundled table of provinces, cities and
counties (names, administrative codes and the seat's coordinates) finds the divisions an address
names. Why this library, and what it costs: docs/addresses.md.

cpca's `transform` builds a pandas DataFrame per call; the one-address matcher under it
(`_get_one_addr`, pinned with the version) gives the same answer without loading pandas into
the API process. cpca builds its automaton when imported, so it is imported on first use.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

from models.places import HUBEI_PROVINCE

# Hubei counties that became cities after cpca's table was made: (cpca's code, its name) ->
# (today's code, today's name). A caller says today's name; cpca knows the old one.
RENAMED: dict[tuple[str, str], tuple[str, str]] = {
    ("420821", "京山县"): ("420882", "京山市"),  # 2018
    ("421023", "监利县"): ("421088", "监利市"),  # 2020
}
# Everyday short forms cpca does not know, spelled out before matching.
SHORT_FORMS = {"恩施州": "恩施土家族苗族自治州"}


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    """The administrative divisions an address names, most precise last; None: not named."""

    province: str | None
    city: str | None  # prefecture level (cpca names Hubei's own county-level cities 省直辖…)
    district: str | None  # county level
    adcode: str | None  # six digits, of the most precise division named
    longitude: float | None  # the seat of that division, when cpca has it
    latitude: float | None
    rest: str  # what follows the last name: street, number, building


@cache
def _cpca() -> tuple[ModuleType, dict[str, str]]:
    """cpca, and its tie-breaker: a county name shared with other provinces means Hubei's."""
    import cpca

    shared: dict[str, set[str]] = {}
    for info in cpca.ad_2_addr_dict.values():
        if info.rank == info.RANK_COUNTY and info.name != "市辖区":
            for name in {info.name, cpca.matcher._abbr_name(info.name)}:
                shared.setdefault(name, set()).add(info.adcode)
    prefer_hubei = {
        name: hubei[0]
        for name, codes in shared.items()
        if len(codes) > 1 and len(hubei := [c for c in codes if c.startswith(HUBEI_PROVINCE)]) == 1
    }
    return cpca, prefer_hubei


def normalized(text: str) -> str:
    """Full-width letters and digits as ASCII, no spaces: how callers' addresses differ."""
    folded = unicodedata.normalize("NFKC", text)
    return "".join(folded.split())


def parse_address(text: str) -> ParsedAddress:
    """The divisions `text` names, by cpca's table (today's names of renamed counties)."""
    cpca, prefer_hubei = _cpca()
    spelled = normalized(text)
    for short, full in SHORT_FORMS.items():
        spelled = spelled.replace(short, full)
    for (_, old), (_, new) in RENAMED.items():
        spelled = spelled.replace(new, old)
    found: dict[str, Any] = cpca._get_one_addr(spelled, False, prefer_hubei)
    adcode: str | None = found["adcode"]
    district: str | None = found["区"]
    seat = cpca.ad_2_addr_dict.get(adcode.ljust(12, "0")) if adcode else None
    if adcode and district and (adcode, district) in RENAMED:
        adcode, district = RENAMED[(adcode, district)]
    return ParsedAddress(
        province=found["省"],
        city=found["市"],
        district=district,
        adcode=adcode,
        longitude=_degrees(seat.longitude) if seat else None,
        latitude=_degrees(seat.latitude) if seat else None,
        rest=found["地址"] or "",
    )


def _degrees(value: str) -> float | None:
    return float(value) if value else None
