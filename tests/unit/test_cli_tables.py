"""The CLI's tables on narrow terminals and with Chinese text: identifiers whole, columns in
line (a Chinese character is two cells wide), dropped columns named."""

from __future__ import annotations

import io

import pytest
from rich.cells import cell_len
from rich.console import Console

from dispatch.entrypoints.cli.tables import print_identifier_table

HEADERS = ("编号", "名称", "地区", "队员", "状态", "技能")
ROWS: list[tuple[str, ...]] = [
    (
        "HB-ES-012",
        "国网湖北电力（恩施）共产党员服务队",
        "恩施",
        "21",
        "空闲",
        "供电抢修、抗灾救灾、扶弱助困",
    ),
    ("HB-WH-001", "光满服务队", "武汉", "18", "忙碌", "供电抢修"),
    ("HB-SN-R01", "Shennongjia reserve squad", "神农架", "9", "空闲（后备）", "抗灾救灾"),
]


def rendered(
    width: int, headers: tuple[str, ...] = HEADERS, rows: list[tuple[str, ...]] = ROWS
) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, legacy_windows=False)
    print_identifier_table(console, "3 支队伍", headers, rows)
    return out.getvalue().splitlines()


def separators(line: str) -> list[int]:
    """The terminal cells where a line's column borders stand."""
    cells, at = [], 0
    for char in line:
        if char in "│┃┆┊╎║┼╇╋╪╬┿┣┫┠┨╂┬┴╀╁╈╉┤├":
            cells.append(at)
        at += cell_len(char)
    return cells


def _bottom(lines: list[str]) -> int:
    """The index of the table's bottom border (the hint, if any, follows it)."""
    return max(i for i, line in enumerate(lines) if line[:1] in "└┗╰")


@pytest.fixture(autouse=True)
def chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVERYCALL_LANG", "zh")


@pytest.mark.parametrize("width", [80, 100, 160])
def test_a_wide_chinese_table_keeps_its_columns_in_line(width: int) -> None:
    lines = rendered(width)
    body = [line for line in lines if line[:1] in "│┃┡┏└┗┌╭╰├┣┢"]
    assert body, lines
    assert all(cell_len(line) <= width for line in lines)
    assert len({cell_len(line) for line in body}) == 1, lines  # every row as wide as the frame
    rows = [line for line in body if line[:1] in "│┃"]
    assert len({tuple(separators(line)) for line in rows}) == 1, lines


@pytest.mark.parametrize("width", [40, 60, 80])
def test_identifiers_are_never_cut_on_a_narrow_terminal(width: int) -> None:
    lines = rendered(width)
    first_cells = {line.split("│")[1].strip() for line in lines if line.count("│") >= 2}
    assert {row[0] for row in ROWS} <= first_cells, lines


def test_columns_dropped_for_want_of_room_are_named_with_how_to_see_them() -> None:
    lines = rendered(40)
    table, hint = lines[: _bottom(lines) + 1], "".join(lines[_bottom(lines) + 1 :])
    assert "技能" in hint and "COLUMNS=200" in hint and "--json" in hint, lines
    assert all("技能" not in line for line in table)


def test_the_hint_speaks_english_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVERYCALL_LANG", "en")
    headers = ("id", "name", "region", "members", "status", "skills")
    lines = rendered(40, headers)
    hint = " ".join(lines[_bottom(lines) + 1 :])
    assert hint.startswith("(too narrow for") and "skills" in hint and "COLUMNS=200" in hint


def test_a_wide_terminal_shows_every_column_and_no_hint() -> None:
    lines = rendered(200)
    assert "too narrow" not in lines[-1] and "太窄" not in "".join(lines)
    assert all(h in "".join(lines) for h in HEADERS)


def test_a_chinese_identifier_is_whole_too() -> None:
    out = io.StringIO()
    console = Console(file=out, width=40, color_system=None)
    rows = [("zhang.wei", "张伟强国", "调度"), ("li.li", "林丽服务队第一分队", "队长")]
    print_identifier_table(console, "账号", ("用户名", "队伍", "备注"), rows, identifiers=2)
    lines = out.getvalue().splitlines()
    assert all(cell_len(line) <= 40 for line in lines)
    second = {line.split("│")[2].strip() for line in lines if line.count("│") >= 3}
    assert {"张伟强国", "林丽服务队第一分队"} <= second, lines


@pytest.mark.parametrize("width", [40, 50, 60, 70, 80])
def test_no_column_is_squeezed_until_its_chinese_header_breaks(width: int) -> None:
    lines = rendered(width)
    header = next(line for line in lines if line.startswith("┃"))
    shown = [cell.strip() for cell in header.strip("┃").split("┃")]
    assert shown and all(name in HEADERS for name in shown), lines
