"""How the CLI chooses its language, what its catalogue holds, and how it shows times."""

from __future__ import annotations

import string
from datetime import UTC, datetime

import pytest

from dispatch.entrypoints.cli.i18n import (
    Language,
    division_name,
    label,
    language,
    local_time,
    say,
)
from dispatch.entrypoints.cli.messages import MESSAGES

ZH, EN = Language.ZH, Language.EN


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "zh_CN.UTF-8"}, ZH),
        ({"LANG": "C.UTF-8"}, EN),
        ({"LANG": "en_US.UTF-8"}, EN),
        ({"LANG": "POSIX"}, EN),
        ({}, ZH),  # nothing set: the users' language
        ({"LANG": "", "LC_ALL": ""}, ZH),  # set but empty counts as not set
        ({"LANG": "zh_CN.UTF-8", "EVERYCALL_LANG": "en"}, EN),
        ({"LANG": "C.UTF-8", "EVERYCALL_LANG": "zh"}, ZH),
        ({"LANG": "C.UTF-8", "EVERYCALL_LANG": "zh-CN"}, ZH),
        ({"LANG": "C.UTF-8", "EVERYCALL_LANG": ""}, EN),
        ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, ZH),  # LC_ALL before LANG
        ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "C"}, EN),  # LC_MESSAGES before LANG
        ({"LC_MESSAGES": "zh_CN.UTF-8", "LC_ALL": "en_GB.UTF-8"}, EN),
        ({"LANG": "zh_TW.UTF-8"}, ZH),
    ],
)
def test_the_language_follows_everycall_lang_then_the_posix_locale(
    environ: dict[str, str], expected: Language
) -> None:
    assert language(environ) is expected


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_every_message_has_both_languages_with_the_same_fields() -> None:
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert _fields(zh) == _fields(en), key


def test_the_chinese_messages_are_chinese() -> None:
    untranslated = [
        key
        for key, (zh, en) in MESSAGES.items()
        if zh == en and key not in {"col.sla"} and not any("\u4e00" <= c <= "\u9fff" for c in zh)
    ]
    assert untranslated == []


def test_say_speaks_the_chosen_language(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVERYCALL_LANG", "zh")
    assert say("teams.title", count=3) == "3 支队伍"
    assert label("assigned") == "已派单"
    monkeypatch.setenv("EVERYCALL_LANG", "en")
    assert say("teams.title", count=3) == "3 teams"
    assert label("assigned") == "assigned"  # as the API and the options spell it


def test_divisions_are_shown_by_their_chinese_name_in_chinese(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVERYCALL_LANG", "zh")
    assert division_name("jingzhou") == "荆州"
    assert division_name("enshi", full=True) == "恩施土家族苗族自治州"
    assert division_name("atlantis") == "atlantis"  # unknown: as typed, not hidden
    monkeypatch.setenv("EVERYCALL_LANG", "en")
    assert division_name("jingzhou") == "Jingzhou"
    assert division_name("enshi", full=True) == "Enshi Tujia and Miao Autonomous Prefecture"


def test_times_are_shown_in_shanghai_with_the_offset() -> None:
    moment = datetime(2026, 12, 2, 13, 3, 30, tzinfo=UTC)
    assert local_time(moment) == "2026-12-02 21:03 +08:00"
    assert local_time(moment, "%H:%M:%S") == "21:03:30 +08:00"
    assert local_time(moment, "%H:%M", zone=False) == "21:03"  # the table's title names the zone
    assert local_time(moment.replace(tzinfo=None)) == "2026-12-02 21:03 +08:00"  # naive: UTC
    late = datetime(2026, 12, 31, 20, 0, tzinfo=UTC)
    assert local_time(late) == "2027-01-01 04:00 +08:00"  # the date a person in Hubei sees
