"""`everycall storm`: storm mode per division (暴雨模式), declared and ended by the dispatch
center, and its status, straight on the database."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import (
    Language,
    division_name,
    headers,
    language,
    local_time,
    say,
)
from dispatch.entrypoints.cli.ops import dispatcher_caller, services_or_exit
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.storm import (
    StormView,
    declare_storm_mode,
    end_storm_mode,
    storm_status,
)

storm_app = typer.Typer(help="暴雨模式 Storm mode per division.", no_args_is_help=True)
console = message_console()
DivisionArgument = Annotated[str, typer.Argument(help="the division, e.g. jingzhou")]


def _division(code: str) -> str:
    """武汉 in Chinese; in English the code itself, as the commands' argument spells it."""
    return division_name(code) if language() is Language.ZH else code


def _state(view: StormView) -> str:
    return say("storm.on" if view.active else "storm.ended")


def _said(view: StormView) -> str:
    reserves = say("word.separator").join(view.reserves) or "-"
    return say(
        "storm.said", division=_division(view.division), state=_state(view), reserves=reserves
    )


@storm_app.command("declare")
def declare(
    division: DivisionArgument,
    reason: Annotated[str, typer.Option(help="why, e.g. 暴雨红色预警", min=1)],
) -> None:
    """Storm mode on in the division, under config/storm.toml: its reserves join the pool."""
    with services_or_exit() as services:
        view = declare_storm_mode(services, dispatcher_caller(), division, reason)
    console.print(_said(view))


@storm_app.command("end")
def end(
    division: DivisionArgument,
    reason: Annotated[str, typer.Option(help="why it is over")] = "",
) -> None:
    """Storm mode off in the division: its reserves are released."""
    with services_or_exit() as services:
        view = end_storm_mode(services, dispatcher_caller(), division, reason)
    console.print(_said(view))


@storm_app.command("status")
def status(
    division: Annotated[str | None, typer.Argument(help="one division; unset: all")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts")] = False,
) -> None:
    """The divisions in storm mode (and those that were), with who declared it and why."""
    with services_or_exit() as services, services.reads() as session:
        views = storm_status(session, division)
    if as_json:
        typer.echo(
            json.dumps([v.model_dump(mode="json") for v in views], ensure_ascii=False, indent=2)
        )
        return
    shown = headers("col.region", "col.state", "col.reason", "col.declared", "col.source")
    rows = [
        (
            _division(v.division),
            _state(v),
            v.reason,
            "-"
            if v.declared_at is None
            else f"{local_time(v.declared_at, '%m-%d %H:%M', zone=False)} {v.declared_by}",
            v.source,
        )
        for v in views
    ]
    title = say("storm.title", count=sum(v.active for v in views))
    print_identifier_table(console, title, shown, rows)
