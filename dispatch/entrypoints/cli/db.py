"""`everycall db`: the database's set-up."""

from __future__ import annotations

import typer
from rich.console import Console

from dispatch import bootstrap
from dispatch.adapters.orm import create_schema, make_engine

db_app = typer.Typer(help="Database set-up.", no_args_is_help=True)
console = Console()


@db_app.command("init")
def db_init() -> None:
    """Create the tables that are missing; safe to run on every start."""
    settings = bootstrap.read_settings()
    create_schema(make_engine(settings.database_url))
    console.print("database ready")
