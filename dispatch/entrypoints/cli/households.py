"""`everycall households`: the hardship register (困难户登记), imported from its CSV file and
listed, straight on the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from dispatch import bootstrap
from dispatch.adapters.household_files import HouseholdImportError, load_households
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import division_name, headers, say
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.households import import_households
from dispatch.views.households import list_households
from models.hubei import DIVISION_BY_CODE

households_app = typer.Typer(
    help="困难户登记 The hardship register: households by account number (户号).",
    no_args_is_help=True,
)
console = message_console()
errors = message_console(stderr=True)  # a whole line to grep for


@households_app.command("import")
def import_(path: Annotated[Path, typer.Argument(help="the register as .csv")]) -> None:
    """Add the file's households and update those already on the register: all of the file
    or, on the first bad row, none of it."""
    try:
        entries = load_households(path)
        with bootstrap.database() as services, services.sessions.begin() as session:
            done = import_households(session, path, entries, services.clock.now())
    except (HouseholdImportError, OSError) as error:
        errors.print(f"[red]{say('import.refused')}[/red] {error}")
        raise typer.Exit(code=1) from error
    console.print(
        say(
            "households.imported",
            count=len(entries),
            path=path,
            added=done.added,
            updated=done.updated,
        )
    )


@households_app.command("list")
def list_(
    division: Annotated[str | None, typer.Option(help="only this division, e.g. wuhan")] = None,
    hardship_only: Annotated[
        bool, typer.Option("--hardship-only", help="only households on the hardship register")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts")] = False,
) -> None:
    """The register, by division and account number."""
    if division is not None and division not in DIVISION_BY_CODE:
        choices = ", ".join(DIVISION_BY_CODE)
        refusal = say("households.no_division", division=division, choices=choices)
        errors.print(f"[red]{refusal}[/red]")
        raise typer.Exit(code=2)
    with bootstrap.database() as services, services.reads() as session:
        households = list_households(session, division, hardship_only)
    if as_json:
        shown = [h.model_dump(mode="json") for h in households]
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    columns = headers("col.account", "col.hardship", "col.region", "col.address", "col.note")
    rows = [
        (
            h.account,
            say("word.yes" if h.hardship else "word.no"),
            division_name(h.division),
            h.address,
            h.note,
        )
        for h in households
    ]
    print_identifier_table(console, say("households.title", count=len(households)), columns, rows)
