"""`everycall incidents` and `everycall tasks`: the API's actions for operators without a browser.

The commands use the same services as the API, straight on the database: what they change is
staged in the outbox, and the relay of the running `everycall api` (or `serve`) publishes it.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from dispatch import bootstrap
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import division_name, headers, label, local_time, say
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer import incidents, reassignment, support_tasks, tasks
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.intake import IncidentReport, accept_report
from dispatch.service_layer.services import Services
from dispatch.views.board import IncidentView, incident_view, list_incidents
from models.errors import DomainError
from models.incident import AreaClass, IncidentKind, IncidentState, Priority, ReporterChannel
from models.local_time import shown_in_shanghai

incidents_app = typer.Typer(help="Report, show and list incidents.", no_args_is_help=True)
tasks_app = typer.Typer(help="What a team does with its task.", no_args_is_help=True)
console = message_console()
errors = message_console(stderr=True)

TeamOption = Annotated[str, typer.Option(help="the team acting on its own task")]
IdArgument = Annotated[str, typer.Argument(help="the incident id")]


def operator() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return "unknown"


def dispatcher_caller() -> Caller:
    return Caller(Role.DISPATCHER, name=f"cli:{operator()}")


def team_caller(team_id: str) -> Caller:
    return Caller(Role.TEAM, team_id=team_id, name=f"cli:{operator()} for team {team_id}")


@contextmanager
def services_or_exit() -> Iterator[Services]:
    """The database alone; a domain error or bad input ends the command with a clear message."""
    try:
        with bootstrap.database() as services:
            yield services
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "input"
            errors.print(f"[red]{say('ops.invalid', where=where)}[/red] {problem['msg']}")
        raise typer.Exit(code=2) from error
    except DomainError as error:
        errors.print(f"[red]{say('ops.refused')}[/red] {error}")
        raise typer.Exit(code=1) from error


# Incidents ------------------------------------------------------------------------------------


@incidents_app.command("report")
def report(
    kind: Annotated[IncidentKind, typer.Option(help="what happened")],
    lat: Annotated[float, typer.Option(help="latitude, WGS84 degrees")],
    lon: Annotated[float, typer.Option(help="longitude, WGS84 degrees")],
    priority: Annotated[Priority, typer.Option(help="dispatch priority")] = Priority.NORMAL,
    address: Annotated[str, typer.Option(help="where, in words")] = "",
    area_class: Annotated[
        AreaClass | None, typer.Option(help="urban, rural or remote [from the place]")
    ] = None,
    region: Annotated[str | None, typer.Option(help="division code [from the place]")] = None,
    channel: Annotated[ReporterChannel, typer.Option(help="how the call came in")] = (
        ReporterChannel.PHONE_95598
    ),
    idempotency_key: Annotated[
        str | None, typer.Option(help="repeat the command with the same key: one incident")
    ] = None,
) -> None:
    """Report an incident for dispatch; prints its id alone on the last line."""
    with services_or_exit() as services:
        incident = IncidentReport(
            kind=kind,
            latitude=lat,
            longitude=lon,
            priority=priority,
            address=address,
            area_class=area_class,
            region=region,
            channel=channel,
        )
        incident_id = accept_report(services, incident, dispatcher_caller(), idempotency_key)
    console.print(say("ops.accepted"))
    typer.echo(incident_id)


@incidents_app.command("show")
def show(
    incident_id: IdArgument,
    as_json: Annotated[bool, typer.Option("--json", help="print the view as JSON")] = False,
) -> None:
    """One incident: state, team, SLA clocks and timeline."""
    with services_or_exit() as services, services.reads() as session:
        view = incident_view(session, incident_id)
    if as_json:
        typer.echo(view.model_dump_json(indent=2))
        return
    print_incident(view)


@incidents_app.command("list")
def list_(
    state: Annotated[IncidentState | None, typer.Option(help="only in this state")] = None,
    region: Annotated[str | None, typer.Option(help="only in this division")] = None,
    priority: Annotated[Priority | None, typer.Option(help="only of this priority")] = None,
    breached: Annotated[
        bool | None, typer.Option("--breached/--not-breached", help="SLA breached or not")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Incidents, filtered by state, region, priority or SLA breach."""
    with services_or_exit() as services, services.reads() as session:
        views = list_incidents(
            session,
            state=state,
            region=region,
            priority=priority,
            breached=breached,
            limit=limit,
            offset=offset,
        )
    shown = headers(
        "col.id", "col.team", "col.kind", "col.priority", "col.region", "col.state",
        "col.reported", "col.flags",
    )  # fmt: skip
    lines = [
        (
            v.id,
            v.team_id or "",
            label(v.kind),
            label(v.priority),
            division_name(v.region),
            label(v.state),
            local_time(v.reported_at, "%Y-%m-%d %H:%M:%S"),
            _flags(v),
        )
        for v in views
    ]
    title = say("incidents.title", count=len(views))
    print_identifier_table(console, title, shown, lines, identifiers=2, json_option=False)


@incidents_app.command("cancel")
def cancel(
    incident_id: IdArgument,
    reason: Annotated[str, typer.Option(help="why: a false alarm, a call withdrawn")],
) -> None:
    """Cancel an incident, with the reason."""
    _as_dispatcher(incident_id, lambda s, c: incidents.cancel(s, incident_id, c, reason))


@incidents_app.command("priority")
def priority(
    incident_id: IdArgument,
    to: Annotated[Priority, typer.Option("--to", help="the new priority")],
) -> None:
    """Change an incident's priority; SLA targets apply from the report time."""
    _as_dispatcher(incident_id, lambda s, c: incidents.change_priority(s, incident_id, c, to))


@incidents_app.command("unlink")
def unlink(incident_id: IdArgument) -> None:
    """Unlink a report grouped as a duplicate: it is dispatched on its own."""
    _as_dispatcher(incident_id, lambda s, c: incidents.unlink_duplicate(s, incident_id, c))


@incidents_app.command("reassign")
def reassign(
    incident_id: IdArgument,
    team: Annotated[str, typer.Option(help="the team chosen")],
    reason: Annotated[str, typer.Option(help="why, for the record")],
) -> None:
    """Reassign an incident by hand to the chosen team, with the reason."""
    with services_or_exit() as services:
        view = reassignment.reassign(services, incident_id, dispatcher_caller(), team, reason)
    _now_with_team(incident_id, view)


@incidents_app.command("raise-level")
def raise_level(
    incident_id: IdArgument,
    reason: Annotated[str, typer.Option(help="why one more team is needed")],
) -> None:
    """Raise an incident's level: one more team, a support task of its lead, with the reason."""
    with services_or_exit() as services:
        view = support_tasks.raise_level(services, incident_id, dispatcher_caller(), reason)
    lead = view.lead_id or view.id
    console.print(say("ops.level_raised", incident_id=lead, count=len(view.group)))
    console.print(_group(view))


def _now_with_team(incident_id: str, view: IncidentView) -> None:
    state, team = label(view.state), view.team_id or "-"
    console.print(say("ops.now_team", incident_id=incident_id, state=state, team=team))


def _as_dispatcher(incident_id: str, action: Callable[[Services, Caller], IncidentView]) -> None:
    with services_or_exit() as services:
        view = action(services, dispatcher_caller())
    state, priority = label(view.state), label(view.priority)
    console.print(say("ops.now_priority", incident_id=incident_id, state=state, priority=priority))


def _flags(view: IncidentView) -> str:
    flags = [say("flag.escalated")] if view.escalated else []
    flags += [say("flag.breached")] if any(c.state == "breached" for c in view.clocks) else []
    flags += [say("flag.duplicate", master=view.master_id)] if view.master_id else []
    flags += [say("flag.support", lead=view.lead_id)] if view.lead_id else []
    return say("word.separator").join(flags)


def print_incident(view: IncidentView) -> None:
    head = Table(title=say("incident.title", incident_id=view.id), show_header=False)
    head.add_column(no_wrap=True)
    head.add_column(overflow="fold")
    for key, value in (
        ("col.kind", label(view.kind)),
        ("col.priority", label(view.priority)),
        ("col.state", label(view.state)),
        ("col.team", view.team_id or ""),
        ("col.region", division_name(view.region)),
        ("col.area_class", label(view.area_class or "")),
        ("col.address", view.address or ""),
        ("col.place", f"{view.latitude:.5f}, {view.longitude:.5f}"),
        ("col.reported", local_time(view.reported_at, "%Y-%m-%d %H:%M:%S")),
        ("col.flags", _flags(view)),
    ):
        head.add_row(say(key), value)
    console.print(head)
    if view.group:
        console.print(_group(view))
    console.print(_clocks(view))
    console.print(_timeline(view))


def _group(view: IncidentView) -> Table:
    """The incident's tasks when several teams answer it: its lead's first, then supports'."""
    group = Table(title=say("incident.group", count=len(view.group)))
    for column in headers("col.incident", "col.task", "col.team", "col.state"):
        group.add_column(column, no_wrap=True)
    for task in view.group:
        shown = say("task.this", incident_id=task.incident_id)
        role = say("task.lead") if task.lead else say("task.support")
        team, state = task.team_id or "-", label(task.state)
        group.add_row(shown if task.incident_id == view.id else task.incident_id, role, team, state)
    return group


def _clocks(view: IncidentView) -> Table:
    clocks = Table(title=say("incident.clocks"))
    for column in headers("col.clock", "col.started", "col.deadline", "col.state", "col.warned"):
        clocks.add_column(column)
    for c in view.clocks:
        warned = "75 %" if c.warned_75 else "50 %" if c.warned_50 else ""
        started, deadline = (
            local_time(c.started_at, "%H:%M:%S", zone=False),
            local_time(c.deadline, "%H:%M:%S", zone=False),
        )
        clocks.add_row(label(c.kind), started, deadline, label(c.state), warned)
    return clocks


def _timeline(view: IncidentView) -> Table:
    timeline = Table(title=say("incident.timeline"))
    for column in headers("col.seq", "col.at", "col.event"):
        timeline.add_column(column, no_wrap=True)
    actor, details = headers("col.actor", "col.details")
    timeline.add_column(actor, overflow="fold")
    timeline.add_column(details, overflow="fold")  # wrapped, never cut: it is the record
    for t in view.timeline:
        at = local_time(t.at, "%H:%M:%S", zone=False)
        timeline.add_row(str(t.seq), at, t.type, t.actor, _details(t.details))
    return timeline


def _details(details: dict[str, Any]) -> str:
    shown = {k: shown_in_shanghai(v) for k, v in details.items()}
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())


# Tasks ----------------------------------------------------------------------------------------


def _act(incident_id: str, team: str, action: Callable[[Services, Caller], IncidentView]) -> None:
    with services_or_exit() as services:
        view = action(services, team_caller(team))
    _now_with_team(incident_id, view)


@tasks_app.command("ack")
def ack(incident_id: IdArgument, team: TeamOption) -> None:
    """The team takes the task."""
    _act(incident_id, team, lambda s, c: tasks.acknowledge(s, incident_id, c))


@tasks_app.command("decline")
def decline(
    incident_id: IdArgument,
    team: TeamOption,
    reason: Annotated[str, typer.Option(help="why the team cannot go")],
) -> None:
    """The team cannot take the task; it goes back for dispatch."""
    _act(incident_id, team, lambda s, c: tasks.decline(s, incident_id, c, reason))


@tasks_app.command("en-route")
def en_route(incident_id: IdArgument, team: TeamOption) -> None:
    """The team is on its way."""
    _act(incident_id, team, lambda s, c: tasks.mark_en_route(s, incident_id, c))


@tasks_app.command("on-scene")
def on_scene(incident_id: IdArgument, team: TeamOption) -> None:
    """The team has arrived."""
    _act(incident_id, team, lambda s, c: tasks.mark_on_scene(s, incident_id, c))


@tasks_app.command("resolve")
def resolve(
    incident_id: IdArgument,
    team: TeamOption,
    notes: Annotated[str, typer.Option(help="what was done")] = "",
) -> None:
    """The job is done."""
    _act(incident_id, team, lambda s, c: tasks.resolve(s, incident_id, c, notes))
