"""The `everycall` command: what operators, teams and auditors type."""

from __future__ import annotations

import typer

from dispatch.entrypoints.cli import processes
from dispatch.entrypoints.cli.audit import audit_app
from dispatch.entrypoints.cli.db import db_app
from dispatch.entrypoints.cli.help_text import LocalisedGroup
from dispatch.entrypoints.cli.households import households_app
from dispatch.entrypoints.cli.ledger import ledger_app
from dispatch.entrypoints.cli.ops import incidents_app, tasks_app
from dispatch.entrypoints.cli.registry import grid_app, queue, teams_app
from dispatch.entrypoints.cli.roster import roster_app
from dispatch.entrypoints.cli.simulate import demo, simulate
from dispatch.entrypoints.cli.sla import sla_app
from dispatch.entrypoints.cli.stories import stories_app
from dispatch.entrypoints.cli.storm import storm_app
from dispatch.entrypoints.cli.tokens import tokens_app
from dispatch.entrypoints.cli.users import users_app

app = typer.Typer(
    cls=LocalisedGroup,  # its help in the reader's language (help_text.py)
    help="everycall: every call answered, every difficulty helped.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(tokens_app, name="tokens")
app.add_typer(users_app, name="users")
app.add_typer(households_app, name="households")
app.add_typer(incidents_app, name="incidents")
app.add_typer(tasks_app, name="tasks")
app.add_typer(teams_app, name="teams")
app.add_typer(grid_app, name="grid")
app.add_typer(sla_app, name="sla")
app.add_typer(ledger_app, name="ledger")
app.add_typer(roster_app, name="roster")
app.add_typer(storm_app, name="storm")
app.add_typer(stories_app, name="stories")
app.command()(queue)
app.command()(simulate)
for _command in (
    processes.serve,
    processes.api,
    processes.dispatcher,
    processes.watchdog,
    processes.notifier,
):
    app.command()(_command)
app.command()(demo)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
