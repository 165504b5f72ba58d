"""`everycall households`: the hardship register (困难户登记), imported from its CSV file and
listed, straight on the database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dispatch import bootstrap
from dispatch.adapters.household_files import HouseholdImportError, load_households
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.households import import_households
from dispatch.views.households import list_households
from models.hubei import DIVISION_BY_CODE

households_app = typer.Typer(
    help="困难户登记 The hardship register: households by account number (户号).",
    no_args_is_help=True,
)
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # a whole line to grep for


@households_app.command("import")
def import_(path: Annotated[Path, typer.Argument(help="the register as .csv")]) -> None:
    """Add the file's households and update those already on the register: all of the file
    or, on the first bad row, none of it."""
    try:
        entries = load_households(path)
        with bootstrap.database() as services, services.sessions.begin() as session:
            done = import_households(session, path, entries, services.clock.now())
    except (HouseholdImportError, OSError) as error:
        errors.print(f"[red]导入被拒，未作任何更改 import refused, nothing changed:[/red] {error}")
        raise typer.Exit(code=1) from error
    console.print(
        f"已导入 imported {len(entries)} 户 households from {path}: "
        f"新增 {done.added} added, 更新 {done.updated} updated"
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
        errors.print(f"[red]no division {division!r}:[/red] one of {', '.join(DIVISION_BY_CODE)}")
        raise typer.Exit(code=2)
    with bootstrap.database() as services, services.reads() as session:
        households = list_households(session, division, hardship_only)
    if as_json:
        shown = [h.model_dump(mode="json") for h in households]
        typer.echo(json.dumps(shown, ensure_ascii=False, indent=2))
        return
    headers = ("户号 account", "困难户 hardship", "地区 division", "地址 address", "备注 note")
    rows = [
        (h.account, "是 yes" if h.hardship else "否 no", h.division, h.address, h.note)
        for h in households
    ]
    print_identifier_table(console, f"{len(households)} 户 households", headers, rows)
