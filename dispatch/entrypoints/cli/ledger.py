"""`everycall ledger export`: the teams' work ledger (工作台账) of a month as CSV or .xlsx,
the same files the reports page downloads (views/ledger.py, views/ledger_files.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dispatch import bootstrap
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import say
from dispatch.views.ledger import Ledger, Month, read_ledger, team_exists
from dispatch.views.ledger_files import write_csv, write_xlsx
from dispatch.views.sla_report import report_time

ledger_app = typer.Typer(
    help="工作台账 The teams' work ledger, per team and month (Asia/Shanghai).",
    no_args_is_help=True,
)
console = message_console(stderr=True)  # stdout stays clean for scripts


class FileFormat(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


def _month(text: str) -> Month:
    try:
        return Month.parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from error


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None]]:
    """A bar while the rows are written; none in pipes and logs."""
    bar = Progress(
        TextColumn(f"[bold]{say('ledger.writing')}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    with bar:
        task = bar.add_task("rows", total=total)
        yield lambda done: bar.advance(task, done)


def _read(month: Month, team: str | None) -> Ledger:
    with bootstrap.database() as services, services.reads() as session:
        if team is not None and not team_exists(session, team):
            console.print(f"[red]{say('ledger.no_team', team=team)}[/]")
            raise typer.Exit(2)
        with console.status(say("ledger.reading")):
            return read_ledger(session, month, team, report_time(session, services.clock.now()))


@ledger_app.command("export")
def export(
    month: Annotated[Month, typer.Option(parser=_month, help="YYYY-MM, a month in Asia/Shanghai")],
    output: Annotated[Path, typer.Option(help="the file to write")],
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="csv (UTF-8 with BOM) or xlsx")
    ] = FileFormat.XLSX,
    team: Annotated[str | None, typer.Option(help="one team's id; every team if left out")] = None,
) -> None:
    """Every task of a month with its times, outcome and SLA, as CSV or .xlsx."""
    ledger = _read(month, team)
    output.parent.mkdir(parents=True, exist_ok=True)
    with _progress(len(ledger.rows)) as advance:
        if file_format is FileFormat.CSV:
            with output.open("w", encoding="utf-8-sig", newline="") as sink:
                write_csv(ledger, sink, advance)
        else:
            write_xlsx(ledger, output, advance)
    teams = len(ledger.summary)
    console.print(say("ledger.written", rows=len(ledger.rows), teams=teams, output=output))
