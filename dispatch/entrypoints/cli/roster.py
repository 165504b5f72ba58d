"""`everycall roster`: the duty roster (值班表), imported from CSV or iCalendar, exported again,
and who is on duty now and next, straight on the database."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import division_name, headers, local_time, say
from dispatch.entrypoints.cli.ops import dispatcher_caller, services_or_exit
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.roster import (
    RosterFileError,
    ShiftView,
    duty_board,
    export_roster,
    import_shifts,
    read_roster,
)

roster_app = typer.Typer(help="值班表 The duty roster: shifts per team.", no_args_is_help=True)
console = message_console()
errors = message_console(stderr=True)


@roster_app.command("import")
def import_(
    path: Annotated[
        Path, typer.Argument(help="the roster as .csv (team_id,starts_at,ends_at) or .ics")
    ],
) -> None:
    """Add the file's shifts to the roster (a shift already there gets the file's end)."""
    try:
        shifts = read_roster(path.read_text(encoding="utf-8"), path.name)
    except (RosterFileError, OSError, UnicodeDecodeError) as error:
        errors.print(f"[red]{say('import.refused')}[/red] {error}")
        raise typer.Exit(code=1) from error
    with services_or_exit() as services:
        count = import_shifts(services, dispatcher_caller(), shifts, source=path.name)
    console.print(say("roster.imported", count=count, path=path))


@roster_app.command("export")
def export(
    fmt: Annotated[str, typer.Option("--format", help="csv or ics")] = "csv",
    out: Annotated[Path | None, typer.Option(help="write here; unset: standard output")] = None,
) -> None:
    """The whole roster, UTC times, as CSV or iCalendar."""
    with services_or_exit() as services, services.reads() as session:
        text = export_roster(session, fmt, services.clock.now())
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(say("roster.exported", path=out))


def _shown(shift: ShiftView | None) -> str:
    if shift is None:
        return "-"
    return f"{_local(shift.starts_at)} – {_local(shift.ends_at)}"


def _local(at: datetime) -> str:
    """Stored in UTC, shown as people in Hubei read it; the table's title names the zone."""
    return local_time(at, "%m-%d %H:%M", zone=False)


@roster_app.command("now")
def now(
    division: Annotated[str | None, typer.Option(help="only this division, e.g. jingzhou")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts")] = False,
) -> None:
    """Who is on duty now and who comes on next (times in Asia/Shanghai)."""
    with services_or_exit() as services, services.reads() as session:
        board = duty_board(session, services.clock.now(), division)
    if as_json:
        typer.echo(json.dumps(board.model_dump(mode="json"), ensure_ascii=False, indent=2))
        return
    shown = headers("col.team", "col.region", "col.on_duty", "col.current", "col.next")
    rows = [
        (
            t.team_id + (say("roster.reserve") if t.reserve else ""),
            division_name(t.region),
            say("word.yes" if t.on_duty else "word.no")
            + ("" if t.rostered else say("roster.no_roster")),
            _shown(t.current),
            _shown(t.next),
        )
        for t in board.teams
    ]
    title = say("roster.title", on_duty=board.on_duty, off_duty=board.off_duty, at=_local(board.at))
    print_identifier_table(console, title, shown, rows)
