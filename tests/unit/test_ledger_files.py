"""The ledger's files read back as the branch reads them: the .xlsx with openpyxl (frozen
header, widths, real datetimes in Shanghai time, the summary sheet) and the CSV parsed (a BOM
first, bilingual headers)."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl

from dispatch.views.ledger import Month, build_ledger, fold_tasks
from dispatch.views.ledger_files import (
    ROW_COLUMNS,
    SUMMARY_COLUMNS,
    ledger_csv,
    ledger_filename,
    ledger_xlsx,
)
from tests.unit.test_ledger import LIFE, T0, known

LEDGER = build_ledger(fold_tasks(LIFE), known({}), Month(2026, 12), None, T0)


def test_the_xlsx_has_a_frozen_bilingual_header_widths_and_real_datetimes() -> None:
    book = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(LEDGER)))

    assert book.sheetnames == ["台账 ledger", "汇总 summary"]
    sheet = book["台账 ledger"]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["队伍 team", "队伍名称 team name", "工单号 incident"]
    assert header == [c.header for c in ROW_COLUMNS]
    assert sheet.column_dimensions["G"].width == 32  # the address
    assert sheet.max_row == 1 + len(LEDGER.rows)
    row = dict(zip(header, (c.value for c in sheet[2]), strict=True))
    assert row["派单时间 assigned"] == datetime(2026, 12, 1, 9, 0)  # Shanghai wall time
    assert sheet.cell(2, header.index("派单时间 assigned") + 1).is_date
    assert row["接单用时(分) min to acknowledge"] == 2.0
    assert row["结果 outcome"] == "已办结 resolved"
    assert row["类型 kind"] == "抢修 repair"
    assert row["地区 region"] == "武汉市 wuhan"


def test_the_xlsx_summary_sheet_has_one_line_per_team() -> None:
    sheet = openpyxl.load_workbook(io.BytesIO(ledger_xlsx(LEDGER)))["汇总 summary"]

    header = [c.value for c in sheet[1]]
    assert header == [c.header for c in SUMMARY_COLUMNS]
    lines = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert [(line[0], line[2], line[4]) for line in lines] == [("A", 3, 1), ("B", 2, 0)]


def test_the_csv_starts_with_a_bom_and_parses_to_the_same_rows() -> None:
    raw = ledger_csv(LEDGER)

    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert len(rows) == len(LEDGER.rows)
    declined = rows[1]
    assert declined["结果 outcome"] == "拒单 declined"
    assert declined["原因 reason"] == "车辆故障 vehicle broke down"
    assert declined["派单时间 assigned"] == "2026-12-01 09:05:00"
    assert declined["到场时间 arrived"] == ""
    assert rows[4]["结果 outcome"] == "超时收回 withdrawn"


def test_the_file_name_names_the_month_and_the_team() -> None:
    one = LEDGER.model_copy(update={"team_id": "HB-WH-001"})
    assert ledger_filename(one, "xlsx") == "ledger-2026-12-HB-WH-001.xlsx"
    assert ledger_filename(LEDGER, "csv") == "ledger-2026-12.csv"
    odd = LEDGER.model_copy(update={"team_id": 'a"b/c'})
    assert ledger_filename(odd, "csv") == "ledger-2026-12-a_b_c.csv"


FORMULAS = ('=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1")


def _ledger_with_addresses(addresses: tuple[str, ...]) -> object:
    row = LEDGER.rows[0]
    rows = [row.model_copy(update={"address": a}) for a in addresses]
    return LEDGER.model_copy(update={"rows": rows})


def test_csv_cells_that_start_like_a_formula_are_kept_as_text() -> None:
    raw = ledger_csv(_ledger_with_addresses(FORMULAS))  # type: ignore[arg-type]

    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [r["地址 address"] for r in rows] == [f"'{f}" for f in FORMULAS]


def test_xlsx_cells_that_start_like_a_formula_are_strings_not_formulas() -> None:
    raw = ledger_xlsx(_ledger_with_addresses(FORMULAS))  # type: ignore[arg-type]

    sheet = openpyxl.load_workbook(io.BytesIO(raw))["台账 ledger"]
    column = [c.value for c in sheet[1]].index("地址 address") + 1
    cells = [sheet.cell(r, column) for r in range(2, 2 + len(FORMULAS))]
    assert [c.data_type for c in cells] == ["s"] * len(FORMULAS)
    assert [c.value for c in cells] == [f"'{f}" for f in FORMULAS]
