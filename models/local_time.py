"""Local time for the people who read everycall: Asia/Shanghai (UTC+8, no daylight saving).
Times are stored and carried in UTC; they are shown in Shanghai time wherever a person reads
them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shown_in_shanghai(value: object) -> object:
    """An ISO 8601 time with its zone (as events carry them, in UTC) in Shanghai time, to the
    second: `2026-07-01 14:03:00+08:00`. Anything else, a time without a zone included, as
    it is."""
    if not (isinstance(value, str) and len(value) >= 20 and value[4:5] == "-" and "T" in value):
        return value
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(SHANGHAI).isoformat(sep=" ", timespec="seconds")
