"""The `everycall` command: what operators, teams and auditors type."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from dispatch import bootstrap
from dispatch.adapters.orm import create_schema, make_engine
from dispatch.config import Settings
from dispatch.entrypoints import workers
from dispatch.entrypoints.cli.audit import audit_app
from dispatch.entrypoints.cli.ops import incidents_app, tasks_app
from dispatch.entrypoints.cli.registry import grid_app, queue, teams_app
from dispatch.entrypoints.cli.tokens import tokens_app
from dispatch.simulation.crews import simulate
from dispatch.views.sla_report import sla_app

app = typer.Typer(
    help="everycall: every call answered, every difficulty helped.", no_args_is_help=True
)
db_app = typer.Typer(help="Database set-up.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(audit_app, name="audit")
app.add_typer(tokens_app, name="tokens")
app.add_typer(incidents_app, name="incidents")
app.add_typer(tasks_app, name="tasks")
app.add_typer(teams_app, name="teams")
app.add_typer(grid_app, name="grid")
app.add_typer(sla_app, name="sla")
app.command()(queue)
app.command()(simulate)
for _command in (workers.serve, workers.api, workers.dispatcher, workers.watchdog):
    app.command()(_command)
console = Console()


@app.command()
def demo(
    incidents: Annotated[int, typer.Option(min=1, help="incidents in the simulated burst")] = 2000,
    summary_json: Annotated[Path | None, typer.Option(help="also write the summary here")] = None,
    seed: Annotated[int, typer.Option(help="seed of the simulated burst")] = 7,
) -> None:
    """Seed the registry, stream a burst of incidents through Kafka and route them all."""
    from dispatch.simulation.demo import print_summary, run_demo

    with bootstrap.running() as services:
        summary = run_demo(services, incidents, console, seed=seed)
    print_summary(console, summary, summary_json)
    if summary.unassigned:
        raise typer.Exit(code=1)


@db_app.command("init")
def db_init() -> None:
    """Create the tables that are missing; safe to run on every start."""
    settings = Settings()
    create_schema(make_engine(settings.database_url))
    console.print("database ready")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
