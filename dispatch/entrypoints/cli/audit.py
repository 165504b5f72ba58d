"""`everycall audit`: the auditor's commands. They open the audited database read-only."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Connection

from dispatch import bootstrap
from dispatch.adapters.orm import make_engine
from dispatch.audit.export import FORMATS, export_log
from dispatch.audit.pointintime import board_at
from dispatch.audit.replay import ReplayError, kafka_entries, replay
from dispatch.audit.source import read_snapshot
from dispatch.audit.verify import Digest, read_head, verify_log
from dispatch.entrypoints.cli.consoles import report_console
from dispatch.entrypoints.cli.i18n import division_name, headers, label, local_time, say
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.views.timeline import incident_timeline

audit_app = typer.Typer(
    help="Auditors: verify, replay and look back at the event history (read-only).",
    no_args_is_help=True,
)
console = report_console(160, highlight=False)
progress_console = Console(stderr=True)

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="the database to audit (default: EVERYCALL_DATABASE_URL)"),
]


def _source(url: str | None) -> AbstractContextManager[Connection]:
    """One read-only transaction on the audited database: every read sees one snapshot."""
    return read_snapshot(url or bootstrap.read_settings().database_url)


@contextmanager
def _progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr (stdout stays clean for digests and reports)."""
    bar = Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=progress_console,
        transient=True,
        disable=not progress_console.is_terminal,  # no bar in pipes, logs and CI output
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def _moment(text: str) -> datetime:
    """ISO 8601; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise typer.BadParameter(say("audit.not_iso", text=text)) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _head(connection: Connection) -> Digest:
    head = read_head(connection)
    if head is None:
        console.print(f"[red]FAIL[/] {say('audit.no_head')}")
        raise typer.Exit(code=2)
    return head


@audit_app.command("verify")
def verify(
    digest: Annotated[
        str | None, typer.Option(help="SEQ:HASH kept from `everycall audit digest`")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Recompute the hash chain; exit 1 naming the first bad entry (and check a kept digest)."""
    try:
        kept = Digest.parse(digest) if digest else None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--digest") from error
    with _source(database_url) as connection:
        head = _head(connection)
        with _progress(say("audit.verifying"), head.seq) as advance:
            verdict = verify_log(connection, kept, on_progress=advance)
    if verdict.finding is not None:
        console.print(f"[red]FAIL[/] {verdict.finding}")
        console.print(say("audit.verified_before", entries=verdict.entries))
        raise typer.Exit(code=1)
    against = say("audit.digest_holds", kept=kept) if kept else ""
    verified = say("audit.ok", entries=verdict.entries, last=verdict.last, against=against)
    console.print(f"OK {verified}")


@audit_app.command("digest")
def digest(database_url: DatabaseUrl = None) -> None:
    """Print the log's head as `SEQ:HASH`: keep it outside the system, check it later."""
    with _source(database_url) as connection:
        typer.echo(str(_head(connection)))


@audit_app.command("replay")
def replay_cmd(
    into: Annotated[str, typer.Option(help="an empty database URL to rebuild into")],
    until: Annotated[
        str | None, typer.Option(help="stop at this time (ISO 8601; no offset means UTC)")
    ] = None,
    from_kafka: Annotated[
        bool, typer.Option(help="read the log's mirror on the everycall.audit topic instead")
    ] = False,
    bootstrap_servers: Annotated[
        str | None, typer.Option(help="Kafka for --from-kafka (default: KAFKA_BOOTSTRAP_SERVERS)")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Rebuild every projection from the log alone, then compare it with the live one."""

    moment = _moment(until) if until else None
    target = make_engine(into)
    try:
        with _source(database_url) as connection:
            head = _head(connection)
            entries = None
            if from_kafka:
                servers = bootstrap_servers or bootstrap.read_settings().kafka_bootstrap_servers
                if not servers:
                    raise typer.BadParameter(
                        say("audit.no_kafka"), param_hint="--bootstrap-servers"
                    )
                with _progress(say("audit.reading_topic"), head.seq) as advance:
                    entries = kafka_entries(servers, head, on_progress=advance)
            result = replay(connection, target, until=moment, entries=entries)
    except ReplayError as error:
        console.print(f"[red]FAIL[/] {error}")
        raise typer.Exit(code=1) from error
    finally:
        target.dispose()
    _print_replay(result, from_kafka)
    if result.board.unprojected or (result.compared and result.differences):
        raise typer.Exit(code=1)


def _print_replay(result: Any, from_kafka: bool) -> None:
    board = result.board
    source = say("audit.source_topic" if from_kafka else "audit.source_log")
    written = ", ".join(f"{n} {name}" for name, n in result.written.items() if n)
    console.print(
        say(
            "audit.replayed",
            events=board.events,
            source=source,
            last_seq=board.last_seq,
            written=written,
        )
    )
    for kind, count in sorted(board.unprojected.items()):
        console.print(f"[red]{say('audit.no_projector', kind=kind, count=count)}[/]")
    if not result.compared:
        console.print(say("audit.not_compared"))
        return
    if not result.differences:
        console.print(say("audit.identical"))
        return
    table = Table(title=say("audit.differences", count=len(result.differences)))
    for column in headers("col.table", "col.key", "col.column", "col.live", "col.replayed"):
        table.add_column(column, overflow="fold")
    for d in result.differences[:200]:
        table.add_row(d.table, d.key, d.column, repr(d.live), repr(d.replayed))
    console.print(table)


@audit_app.command("state")
def state(
    at: Annotated[str, typer.Option(help="the moment (ISO 8601; no offset means UTC)")],
    database_url: DatabaseUrl = None,
) -> None:
    """The board as it was at a moment: open incidents, who had what, running clocks."""

    moment = _moment(at)
    with _source(database_url) as connection:
        board = board_at(connection, moment)
    replayed = board.replay.board
    last_at = replayed.last_occurred_at
    console.print(
        say(
            "audit.board_at",
            moment=local_time(moment, "%Y-%m-%d %H:%M:%S"),
            events=replayed.events,
            last_seq=replayed.last_seq,
            last_at=_when(last_at) if last_at else "-",
        )
    )
    _table(
        say("audit.open_incidents", count=len(board.open_incidents)),
        (
            ("id", "col.id"),
            ("state", "col.state"),
            ("priority", "col.priority"),
            ("kind", "col.kind"),
            ("region", "col.region"),
            ("team_id", "col.team"),
            ("reported_at", "col.reported"),
        ),
        board.open_incidents,
        identifiers=1,
    )
    _table(
        say("audit.busy_teams", count=len(board.busy_teams)),
        (
            ("id", "col.id"),
            ("name", "col.name"),
            ("region", "col.region"),
            ("active_tasks", "col.active_tasks"),
            ("capacity", "col.capacity"),
            ("status", "col.status"),
        ),
        board.busy_teams,
        identifiers=1,
    )
    _table(
        say("audit.running_clocks", count=len(board.running_clocks)),
        (
            ("incident_id", "col.incident"), ("team_id", "col.team"), ("kind", "col.clock"),
            ("attempt", "col.attempt"), ("started_at", "col.started"),
            ("deadline", "col.deadline"),
        ),
        board.running_clocks,
        identifiers=2,
    )  # fmt: skip


SHOWN_ROWS = 500
LABELLED = frozenset({"state", "priority", "kind", "status"})


def _table(
    title: str,
    columns: tuple[tuple[str, str], ...],
    rows: list[dict[str, Any]],
    identifiers: int,
) -> None:
    """A board table: the identifier columns whole; the first rows if there are many."""
    if len(rows) > SHOWN_ROWS:
        title += " · " + say("table.first_rows", shown=SHOWN_ROWS, total=len(rows))
    lines = [tuple(_shown(key, row.get(key)) for key, _ in columns) for row in rows[:SHOWN_ROWS]]
    shown = headers(*(header for _, header in columns))
    print_identifier_table(console, title, shown, lines, identifiers=identifiers, json_option=False)


def _shown(key: str, value: Any) -> str:
    if key == "region" and isinstance(value, str):
        return division_name(value)
    if key in LABELLED and isinstance(value, str):
        return label(value)
    return _cell(value)


def _when(iso: str, *, zone: bool = True) -> str:
    """An event's ISO time (UTC, as the log keeps it) as a person in Hubei reads it."""
    try:
        return local_time(datetime.fromisoformat(iso), "%Y-%m-%d %H:%M:%S", zone=zone)
    except ValueError:
        return iso  # shown as stored rather than hidden


def _cell(value: Any) -> str:
    if isinstance(value, datetime):
        return local_time(value, "%Y-%m-%d %H:%M:%S")
    return "" if value is None else str(value)


@audit_app.command("timeline")
def timeline(
    incident_id: Annotated[str, typer.Argument(help="the incident to trace")],
    database_url: DatabaseUrl = None,
) -> None:
    """Every event of one incident: who did what and when, with the routing explanation."""

    with _source(database_url) as connection:
        steps = incident_timeline(connection, incident_id)
    if not steps:
        console.print(say("audit.no_events", incident_id=incident_id))
        raise typer.Exit(code=1)
    title = say("audit.timeline_title", incident_id=incident_id, count=len(steps))
    shown = headers("col.seq", "col.when", "col.event", "col.who", "col.what")
    rows = [
        (
            str(step.seq),
            _when(step.occurred_at, zone=False),
            f"{step.type}.v{step.version}",
            step.who,
            step.what,
        )
        for step in steps
    ]
    print_identifier_table(console, title, shown, rows, identifiers=3, json_option=False)
    for step in steps:
        if step.explanation:
            _explanation(step.seq, step.explanation)


# The short list's identifying keys, shown first and whole, then what decided the choice;
# the rest gives way first on a narrow terminal.
EXPLANATION_IDS = ("rank", "team_id", "cell")
EXPLANATION_FIRST = ("chosen", "distance_km", "eta_min", "reason", "decision")


def _explanation(seq: int, shortlist: list[dict[str, Any]]) -> None:
    """The ranked short list behind an assignment, as routing stored it."""
    columns: list[str] = []
    for candidate in shortlist:
        columns += [k for k in candidate if k not in columns]
    ids = [k for k in EXPLANATION_IDS if k in columns]
    first = [k for k in EXPLANATION_FIRST if k in columns]
    columns = ids + first + [k for k in columns if k not in ids and k not in first]
    rows = [tuple(_cell(candidate.get(c)) for c in columns) for candidate in shortlist]
    title = say("audit.explanation", seq=seq)
    print_identifier_table(console, title, columns, rows, identifiers=len(ids), json_option=False)


@audit_app.command("export")
def export(
    out: Annotated[Path, typer.Option(help="file to write")],
    format: Annotated[str, typer.Option(help="jsonl or csv")] = "jsonl",
    database_url: DatabaseUrl = None,
) -> None:
    """Write the whole log for outside tools (hash = sha256(prev_hash + envelope))."""

    if format not in FORMATS:
        raise typer.BadParameter(
            say("audit.formats", formats=", ".join(FORMATS)), param_hint="--format"
        )
    with _source(database_url) as connection:
        head = _head(connection)
        with _progress(say("audit.exporting"), head.seq) as advance:
            count = export_log(connection, out, format, on_progress=advance)
    console.print(say("audit.exported", count=count, out=out, format=format))
