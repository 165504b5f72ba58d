"""The CLI in a person's language on an 80-column terminal: `everycall teams list` and
`teams show` in Chinese and English, every team id whole, run as a user runs them."""

from __future__ import annotations

import os
import subprocess

import pytest
from rich.cells import cell_len

from dispatch.adapters.registry_files import export_teams
from models.hubei import hubei_registry
from tests.faults.harness import everycall_command

HEADERS = {
    "zh_CN.UTF-8": ("编号", "名称", "地区", "队员"),
    "C.UTF-8": ("id", "name", "region", "members"),
}


@pytest.fixture(scope="module")
def registry_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The seeded Hubei registry, imported once through the CLI."""
    folder = tmp_path_factory.mktemp("locale")
    export_teams(hubei_registry(), folder / "hubei.csv")
    url = f"sqlite:///{folder / 'registry.db'}"
    imported = everycall(
        url, {"EVERYCALL_LANG": "en"}, "teams", "import", str(folder / "hubei.csv")
    )
    assert "imported 310 teams" in imported
    return url


def everycall(url: str, extra: dict[str, str], *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVERYCALL_", "LC_"))}
    env |= {"EVERYCALL_DATABASE_URL": url, "COLUMNS": "80", **extra}
    done = subprocess.run(
        [*everycall_command(), *args], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def first_cells(out: str) -> set[str]:
    return {line.split("│")[1].strip() for line in out.splitlines() if line.count("│") >= 2}


@pytest.mark.parametrize("lang", ["zh_CN.UTF-8", "C.UTF-8"])
def test_teams_list_at_80_columns_shows_whole_ids_in_the_locales_language(
    registry_db: str, lang: str
) -> None:
    out = everycall(registry_db, {"LANG": lang}, "teams", "list")
    lines = out.splitlines()
    assert max(cell_len(line) for line in lines) <= 80, out[:2000]
    assert {t.id for t in hubei_registry()} <= first_cells(out)
    header = next(line for line in lines if line.startswith("┃"))
    assert [cell.strip() for cell in header.strip("┃").split("┃")][:4] == list(HEADERS[lang])


def test_everycall_lang_overrides_the_locale(registry_db: str) -> None:
    out = everycall(registry_db, {"LANG": "C.UTF-8", "EVERYCALL_LANG": "zh"}, "teams", "list")
    assert "310 支队伍" in out and "荆州" in out
    out = everycall(registry_db, {"LANG": "zh_CN.UTF-8", "EVERYCALL_LANG": "en"}, "teams", "list")
    assert "310 teams" in out and "Jingzhou" in out


def test_a_teams_card_reads_in_chinese_and_its_json_stays_the_same(registry_db: str) -> None:
    card = everycall(registry_db, {"LANG": "zh_CN.UTF-8"}, "teams", "show", "HB-JZ-001")
    assert card.startswith("国网湖北电力（荆州）共产党员服务队 第1队\n")
    assert "服务区域：荆州市" in card and "有呼必应、有难必帮" in card and "分工：队长 1" in card
    english = everycall(registry_db, {"LANG": "C.UTF-8"}, "teams", "show", "HB-JZ-001")
    assert english.startswith("State Grid Hubei (Jingzhou) Party-Member Service Team No. 1\n")
    assert "Area: Jingzhou" in english and "Roles: Leader 1" in english
    as_json = {
        lang: everycall(registry_db, {"LANG": lang}, "teams", "show", "HB-JZ-001", "--json")
        for lang in HEADERS
    }
    assert as_json["zh_CN.UTF-8"] == as_json["C.UTF-8"]


def test_help_speaks_the_locales_language(registry_db: str) -> None:
    chinese = everycall(registry_db, {"LANG": "zh_CN.UTF-8"}, "teams", "--help")
    assert "服务队登记" in chinese and "服务队列表，附负荷和状态。" in chinese
    english = everycall(registry_db, {"LANG": "C.UTF-8"}, "teams", "--help")
    assert "The team registry" in english and "The teams, with their load and status." in english


def header_of(out: str) -> list[str]:
    line = next(line for line in out.splitlines() if line.startswith("┃"))
    return [cell.strip() for cell in line.strip("┃").split("┃")]


def test_roster_storm_and_stories_speak_the_locales_language(registry_db: str) -> None:
    zh, en = {"LANG": "zh_CN.UTF-8"}, {"LANG": "C.UTF-8"}
    duty = everycall(registry_db, zh, "roster", "now", "--division", "jingzhou")
    assert header_of(duty)[:3] == ["队伍", "地区", "在岗"] and "北京时间" in duty
    assert "HB-JZ-001" in duty and "荆州" in duty and "（无排班）" in duty
    duty = everycall(registry_db, en, "roster", "now", "--division", "jingzhou")
    assert header_of(duty)[:3] == ["team", "region", "on duty"] and "(no roster)" in duty

    declared = everycall(
        registry_db, zh, "storm", "declare", "jingzhou", "--reason", "暴雨红色预警"
    )
    assert declared.startswith("荆州：暴雨模式开启；预备队：")
    status = everycall(registry_db, zh, "storm", "status")
    assert header_of(status) == ["地区", "状态", "原因", "宣布", "来源"] and "开启" in status
    status = everycall(registry_db, en, "storm", "status")
    assert header_of(status) == ["region", "state", "reason", "declared", "source"]
    assert "jingzhou" in status and "storm mode: 1 on" in status

    added = everycall(
        registry_db, zh, "stories", "add", "HB-JZ-001", "--title", "送电", "--body", "抗旱"
    )
    assert added.startswith("已添加服务故事：")
    told = everycall(registry_db, zh, "stories", "list", "HB-JZ-001")
    assert "HB-JZ-001 服务故事 1 篇（北京时间）" in told and "送电" in told
    assert "stories: 1 (times in Asia/Shanghai)" in everycall(
        registry_db, en, "stories", "list", "HB-JZ-001"
    )


def test_the_newer_commands_help_speaks_chinese(registry_db: str) -> None:
    for group, text in [
        ("roster", "现在谁在岗、下一班是谁（北京时间）。"),
        ("storm", "结束该地区的暴雨模式：其预备队随之解除。"),
        ("stories", "为队伍页面添加一篇故事"),
    ]:
        assert text in everycall(registry_db, {"LANG": "zh_CN.UTF-8"}, group, "--help")
    english = everycall(registry_db, {"LANG": "C.UTF-8"}, "roster", "--help")
    assert "Who is on duty now and who comes on next" in english
