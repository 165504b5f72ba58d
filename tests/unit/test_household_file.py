"""The hardship register's CSV as spreadsheets write it: a BOM, 是/否, quoted lines; what cannot
be read is refused with the line it is on."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.adapters.household_files import HouseholdImportError, load_households

HEADER = "account,address,division,hardship,note\n"


def written(tmp_path: Path, text: str, name: str = "register.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_excels_bom_and_its_yes_and_no_are_read(tmp_path: Path) -> None:
    path = written(
        tmp_path,
        HEADER + "1001,武汉市武昌区中北路1号,wuhan,是,\n1002,武汉市江汉区,wuhan,否,\n"
        "1003,武汉市江岸区,wuhan,TRUE,\n",
        encoding="utf-8-sig",
    )
    flags = {e.household.account: e.household.hardship for e in load_households(path)}
    assert flags == {"1001": True, "1002": False, "1003": True}


def test_a_row_after_a_quoted_line_break_is_named_by_the_line_it_starts_on(
    tmp_path: Path,
) -> None:
    path = written(
        tmp_path, HEADER + '1001,武汉市,wuhan,是,"two\nlines"\n1002,武汉市,nowhere,是,\n'
    )
    with pytest.raises(HouseholdImportError) as refused:
        load_households(path)
    assert refused.value.where == "line 4"
    assert "division" in refused.value.reason


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("register.xlsx", HEADER.encode(), "the register is a .csv file"),
        ("register.csv", HEADER.encode("utf-16"), "not UTF-8"),
        ("register.csv", b"account,address\n", "header"),
        ("register.csv", (HEADER + "1001,武汉市,wuhan\n").encode(), "expected 5 fields, found 3"),
    ],
)
def test_what_cannot_be_read_is_refused_with_the_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(HouseholdImportError, match=reason):
        load_households(path)
