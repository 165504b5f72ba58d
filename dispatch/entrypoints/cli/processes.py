"""`everycall serve`, `api`, `dispatcher`, `watchdog` and `notifier`: the long-running
processes. What each runs is imported when it starts: the web app and the workers would add
most of a second to every other command an operator types."""

from __future__ import annotations

from typing import Annotated

import typer

from dispatch import bootstrap
from dispatch.config import Settings
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import say

console = message_console()
HostOption = Annotated[
    str | None, typer.Option(help="interface to listen on [settings: 127.0.0.1]")
]
PortOption = Annotated[int | None, typer.Option(min=0, max=65535, help="port [settings: 8000]")]


def serve(
    host: HostOption = None,
    port: PortOption = None,
    seed: Annotated[
        bool, typer.Option(help="seed the Hubei registry when the database has no teams")
    ] = True,
) -> None:
    """Run the API, the dispatcher, the SLA watchdog, the notifier and the outbox relay in one
    process."""
    from dispatch.entrypoints.api.server import run_serve

    settings = bootstrap.read_settings()
    try:
        code = run_serve(settings, host or settings.api_host, _port(port, settings), seed)
    except KeyboardInterrupt:
        code = 0  # stopped while starting or stopping
        console.print(say("process.stopped", name="everycall"))
    raise typer.Exit(code)


def api(host: HostOption = None, port: PortOption = None) -> None:
    """Run the HTTP API (with its outbox relay) alone."""
    from dispatch.entrypoints.api.server import run_api_alone

    settings = bootstrap.read_settings()
    try:
        run_api_alone(settings, host or settings.api_host, _port(port, settings))
    except KeyboardInterrupt:
        console.print(say("process.stopped", name="api"))


def dispatcher() -> None:
    """Consume reported incidents and route them, batch by batch, and take in the weather
    alerts on everycall.alerts, until interrupted."""
    from dispatch.entrypoints.workers import run_dispatcher_alone

    try:
        run_dispatcher_alone(bootstrap.read_settings())
    except KeyboardInterrupt:
        console.print(say("process.stopped", name="dispatcher"))


def watchdog() -> None:
    """Run the SLA watchdog on its schedule until interrupted."""
    from dispatch.entrypoints.workers import run_watchdog_alone

    try:
        run_watchdog_alone(bootstrap.read_settings())
    except KeyboardInterrupt:
        console.print(say("process.stopped", name="watchdog"))


def notifier() -> None:
    """Tell crews of their tasks (Web Push, SMS, group bots) from the event log, until
    interrupted."""
    from dispatch.entrypoints.workers import run_notifier_alone

    try:
        run_notifier_alone(bootstrap.read_settings())
    except KeyboardInterrupt:
        console.print(say("process.stopped", name="notifier"))


def _port(port: int | None, settings: Settings) -> int:
    return settings.api_port if port is None else port
