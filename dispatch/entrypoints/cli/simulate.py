"""`everycall simulate` and `everycall demo`: the engine answering simulated storms."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from dispatch import bootstrap
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import headers, say
from dispatch.simulation.crews import CrewHabits
from dispatch.simulation.demo import print_summary as print_demo_summary
from dispatch.simulation.demo import run_demo
from dispatch.simulation.storm import SimulationSummary, run_simulation
from dispatch.simulation.storm_day import DEFAULT_ALERT, alert_file, run_storm_day
from models.clock import ManualClock

console = message_console()


def print_summary(
    console: Console, summary: SimulationSummary, json_path: Path | None, title: str = ""
) -> None:
    table = Table(title=title or say("simulate.title"))
    measure, value_header = headers("col.measure", "col.value")
    table.add_column(measure)
    table.add_column(value_header, justify="right")
    for name, value in summary.as_dict().items():
        table.add_row(name.replace("_", " "), json.dumps(value, ensure_ascii=False))
    console.print(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(
            json.dumps(summary.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        console.print(say("simulate.written", path=json_path))


def simulate(
    incidents: Annotated[int, typer.Option(min=1, help="incidents in the storm")] = 2000,
    no_ack_rate: Annotated[
        float, typer.Option(min=0.0, max=0.9, help="share of tasks crews ignore")
    ] = 0.2,
    summary_json: Annotated[Path | None, typer.Option(help="also write the summary here")] = None,
    seed: Annotated[int, typer.Option(help="seed of the storm and of the crews")] = 7,
    step_min: Annotated[
        float, typer.Option(min=0.1, max=2.9, help="simulated minutes per tick (< 3 min)")
    ] = 2.5,
    storm: Annotated[
        bool,
        typer.Option(help="a storm day: a CAP alert declares storm mode, a roster, reserves"),
    ] = False,
    storm_alert: Annotated[
        Path, typer.Option(help="the CAP 1.2 alert of --storm (relative: to here or the repo)")
    ] = Path(DEFAULT_ALERT),
) -> None:
    """Stream a storm, let simulated crews answer (some ignore tasks), watch every SLA."""
    console = message_console()
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    alert_xml = _read_alert(storm_alert) if storm else b""
    with bootstrap.running(clock=clock) as services:
        habits = CrewHabits(no_ack_rate=no_ack_rate, seed=seed)
        if storm:
            summary: SimulationSummary = run_storm_day(
                services, clock, incidents, habits, console, alert_xml, step_min=step_min
            )
        else:
            summary = run_simulation(services, clock, incidents, habits, console, step_min=step_min)
    print_summary(console, summary, summary_json, say("simulate.storm_title") if storm else "")
    if summary.unanswered:
        raise typer.Exit(code=1)


def _read_alert(path: Path) -> bytes:
    found = alert_file(path)
    try:
        return found.read_bytes()
    except OSError as error:
        raise typer.BadParameter(
            f"{found}: {error.strerror}", param_hint="--storm-alert"
        ) from error


def demo(
    incidents: Annotated[int, typer.Option(min=1, help="incidents in the simulated burst")] = 2000,
    summary_json: Annotated[Path | None, typer.Option(help="also write the summary here")] = None,
    seed: Annotated[int, typer.Option(help="seed of the simulated burst")] = 7,
) -> None:
    """Seed the registry, stream a burst of incidents through Kafka and route them all."""
    with bootstrap.running() as services:
        summary = run_demo(services, incidents, console, seed=seed)
    print_demo_summary(console, summary, summary_json)
    if summary.unassigned:
        raise typer.Exit(code=1)
