"""The work ledger as files for the branch: CSV (UTF-8 with a BOM, which Excel in China needs
to read it as UTF-8) and .xlsx (a frozen header row, set widths, times as real datetimes, and
the summary per team on a second sheet). Headers and values are Chinese first, English beside.
Times are Asia/Shanghai wall time: a spreadsheet cell holds no zone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from dispatch.views.ledger import Ledger, LedgerRow, Outcome
from dispatch.views.spreadsheet_text import inert_text, starts_like_formula

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
XLSX_TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"

KINDS = {
    "repair": "抢修",
    "outage": "停电",
    "disaster_relief": "抢险救灾",
    "vulnerable_assistance": "困难帮扶",
    "equipment_check": "设备巡检",
}
PRIORITIES = {"critical": "紧急", "hardship": "帮扶", "normal": "普通", "low": "低"}
REGIONS = {
    "wuhan": "武汉市",
    "huangshi": "黄石市",
    "shiyan": "十堰市",
    "yichang": "宜昌市",
    "xiangyang": "襄阳市",
    "ezhou": "鄂州市",
    "jingmen": "荆门市",
    "xiaogan": "孝感市",
    "jingzhou": "荆州市",
    "huanggang": "黄冈市",
    "xianning": "咸宁市",
    "suizhou": "随州市",
    "enshi": "恩施土家族苗族自治州",
    "xiantao": "仙桃市",
    "qianjiang": "潜江市",
    "tianmen": "天门市",
    "shennongjia": "神农架林区",
}
OUTCOMES = {
    Outcome.RESOLVED: "已办结 resolved",
    Outcome.DECLINED: "拒单 declined",
    Outcome.WITHDRAWN: "超时收回 withdrawn",
    Outcome.REASSIGNED: "调度改派 reassigned",
    Outcome.CANCELLED: "已取消 cancelled",
    Outcome.OPEN: "未办结 still open",
}
VERDICTS = {"met": "达标 met", "breached": "超时 breached", "pending": "未定 pending"}


def bilingual(names: dict[str, str], value: str) -> str:
    """`中文 english`, or the value alone when it has no Chinese name."""
    chinese = names.get(value)
    return f"{chinese} {value}" if chinese else value


@dataclass(frozen=True)
class Column:
    header: str
    width: float
    value: Callable[[Any], Any]
    number_format: str | None = None


def _time(field: str) -> Callable[[LedgerRow], datetime | None]:
    def local(row: LedgerRow) -> datetime | None:
        moment: datetime | None = getattr(row, field)
        return None if moment is None else moment.replace(tzinfo=None)

    return local


ROW_COLUMNS: tuple[Column, ...] = (
    Column("队伍 team", 14, lambda r: r.team_id),
    Column("队伍名称 team name", 36, lambda r: r.team_name),
    Column("工单号 incident", 24, lambda r: r.incident_id),
    Column("类型 kind", 22, lambda r: bilingual(KINDS, r.kind)),
    Column("优先级 priority", 16, lambda r: bilingual(PRIORITIES, r.priority)),
    Column("地区 region", 18, lambda r: bilingual(REGIONS, r.region)),
    Column("地址 address", 32, lambda r: r.address),
    Column("派单时间 assigned", 20, _time("assigned_at"), XLSX_TIME_FORMAT),
    Column("接单时间 acknowledged", 20, _time("acknowledged_at"), XLSX_TIME_FORMAT),
    Column("到场时间 arrived", 20, _time("arrived_at"), XLSX_TIME_FORMAT),
    Column("办结时间 resolved", 20, _time("resolved_at"), XLSX_TIME_FORMAT),
    Column("结束时间 ended", 20, _time("ended_at"), XLSX_TIME_FORMAT),
    Column("接单用时(分) min to acknowledge", 14, lambda r: r.ack_minutes, "0.0"),
    Column("到场用时(分) min to arrive", 14, lambda r: r.arrive_minutes, "0.0"),
    Column("办结用时(分) min to resolve", 14, lambda r: r.resolve_minutes, "0.0"),
    Column("结果 outcome", 24, lambda r: OUTCOMES[r.outcome]),
    Column("原因 reason", 30, lambda r: r.reason),
    Column("时限 SLA", 14, lambda r: VERDICTS[r.sla]),
)
SUMMARY_COLUMNS: tuple[Column, ...] = (
    Column("队伍 team", 14, lambda s: s.team_id),
    Column("队伍名称 team name", 36, lambda s: s.team_name),
    Column("任务数 tasks", 10, lambda s: s.tasks),
    Column("已办结 resolved", 10, lambda s: s.resolved),
    Column("拒单 declined", 10, lambda s: s.declined),
    Column("超时收回 withdrawn", 12, lambda s: s.withdrawn),
    Column("调度改派 reassigned", 12, lambda s: s.reassigned),
    Column("已取消 cancelled", 10, lambda s: s.cancelled),
    Column("未办结 open", 10, lambda s: s.open),
    Column("时限达标率 SLA compliance", 14, lambda s: s.sla_compliance, "0.0%"),
    Column("平均接单用时(分) mean min to acknowledge", 16, lambda s: s.ack_min_mean, "0.0"),
    Column("平均到场用时(分) mean min to arrive", 16, lambda s: s.arrive_min_mean, "0.0"),
    Column("平均办结用时(分) mean min to resolve", 16, lambda s: s.resolve_min_mean, "0.0"),
)

Advance = Callable[[int], None]


def _no_progress(done: int) -> None:
    del done


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    return value.strftime(TIME_FORMAT) if isinstance(value, datetime) else inert_text(value)


def write_csv(ledger: Ledger, sink: TextIO, advance: Advance = _no_progress) -> None:
    """The rows as CSV, a header line first; `sink` is opened with encoding utf-8-sig."""
    writer = csv.writer(sink, lineterminator="\r\n")
    writer.writerow([c.header for c in ROW_COLUMNS])
    for row in ledger.rows:
        writer.writerow([_csv_cell(c.value(row)) for c in ROW_COLUMNS])
        advance(1)


def ledger_csv(ledger: Ledger) -> bytes:
    text = io.StringIO()
    write_csv(ledger, text)
    return text.getvalue().encode("utf-8-sig")


def _sheet(
    book: Workbook,
    title: str,
    columns: Sequence[Column],
    items: Iterable[Any],
    advance: Advance,
) -> None:
    sheet: WriteOnlyWorksheet = book.create_sheet(title)
    sheet.freeze_panes = "A2"
    for number, column in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = column.width
    sheet.append([_header(sheet, c.header) for c in columns])
    for item in items:
        sheet.append([_cell(sheet, c, c.value(item)) for c in columns])
        advance(1)


def _header(sheet: WriteOnlyWorksheet, text: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, text)
    cell.font = Font(bold=True)
    return cell


def _cell(sheet: WriteOnlyWorksheet, column: Column, value: Any) -> Any:
    if starts_like_formula(value):
        # openpyxl stores a string that starts with "=" as a formula; a string cell never runs
        cell = WriteOnlyCell(sheet, inert_text(value))
        cell.data_type = "s"
        return cell
    if value is None or column.number_format is None:
        return value
    cell = WriteOnlyCell(sheet, value)
    cell.number_format = column.number_format
    return cell


def write_xlsx(ledger: Ledger, sink: Any, advance: Advance = _no_progress) -> None:
    """The rows on sheet 台账 ledger and the summary per team on 汇总 summary; `sink` is a
    path or a binary file."""
    book = Workbook(write_only=True)
    _sheet(book, "台账 ledger", ROW_COLUMNS, ledger.rows, advance)
    _sheet(book, "汇总 summary", SUMMARY_COLUMNS, ledger.summary, _no_progress)
    book.save(sink)


def ledger_xlsx(ledger: Ledger) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(ledger, buffer)
    return buffer.getvalue()


def ledger_filename(ledger: Ledger, extension: str) -> str:
    """ledger-2026-12-HB-WH-001.xlsx; every team's: ledger-2026-12.xlsx."""
    team = "" if ledger.team_id is None else "-" + re.sub(r"[^A-Za-z0-9_-]", "_", ledger.team_id)
    return f"ledger-{ledger.month}{team}.{extension}"
