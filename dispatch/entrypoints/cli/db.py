"""`everycall db`: the database's set-up."""

from __future__ import annotations

import typer

from dispatch import bootstrap
from dispatch.adapters.orm import make_engine
from dispatch.adapters.schema_migrations import upgrade
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import say

db_app = typer.Typer(help="Database set-up.", no_args_is_help=True)
console = message_console()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the schema to the newest migration; safe to run on every start."""
    settings = bootstrap.read_settings()
    done = upgrade(make_engine(settings.database_url))
    if done.changed:
        was = done.before or say("db.before_migrations" if done.stamped else "db.empty")
        console.print(say("db.upgraded", after=done.after, was=was))
    else:
        console.print(say("db.current", after=done.after))


@db_app.command("init")
def db_init() -> None:
    """Create or upgrade the schema (the same as `db upgrade`); safe to run on every start."""
    db_upgrade()
