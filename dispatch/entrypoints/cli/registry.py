"""`everycall teams`, `everycall grid` and `everycall queue`: the registry, the service grid
and the waiting incidents, straight on the database (no broker needed)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy import select

from dispatch import bootstrap
from dispatch.adapters.orm import TeamRow
from dispatch.adapters.registry_files import RegistryImportError, export_teams, load_teams
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.registry import (
    list_teams,
    profile_text,
    registration_code,
    replace_registry,
    write_qr,
)
from dispatch.service_layer.team_pool import cell_owners
from dispatch.views.queue import waiting_queue
from models.grid import cells_near, coverage
from models.hubei import DIVISIONS

teams_app = typer.Typer(help="The team registry: import, export, list, show, QR codes.")
grid_app = typer.Typer(help="The service grid: which team answers for which cell.")
console = Console()
errors = Console(stderr=True, soft_wrap=True)  # a whole line to grep for

DEFAULT_PROFILE_BASE = "https://everycall.example"
IdArgument = Annotated[str, typer.Argument(help="the team id, e.g. HB-WH-001")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


@teams_app.command("import")
def import_teams(path: Annotated[Path, typer.Argument(help="a .csv or .json registry")]) -> None:
    """Make the file the whole registry: all of it or, on the first bad row, none of it."""
    try:
        teams = load_teams(path)
    except (RegistryImportError, OSError) as error:
        errors.print(f"[red]import refused, nothing changed:[/red] {error}")
        raise typer.Exit(code=1) from error
    with bootstrap.database() as services, services.sessions.begin() as session:
        before = set(session.scalars(select(TeamRow.id)))
        replace_registry(session, teams, services.clock.now())
    retired = len(before - {t.id for t in teams})
    console.print(f"imported {len(teams)} teams from {path} ({retired} retired)")


@teams_app.command("export")
def export(path: Annotated[Path, typer.Argument(help="where to write: .csv or .json")]) -> None:
    """Write the registry as CSV or JSON (by the file's suffix)."""
    with bootstrap.database() as services, services.reads() as session:
        teams = list_teams(session)
    try:
        export_teams(teams, path)
    except ValueError as error:
        errors.print(f"[red]export refused:[/red] {error}")
        raise typer.Exit(code=1) from error
    console.print(f"exported {len(teams)} teams to {path}")


@teams_app.command("list")
def list_command(
    region: Annotated[str | None, typer.Option(help="only this division, e.g. wuhan")] = None,
    as_json: JsonOption = False,
) -> None:
    """The teams, with their load and status."""
    with bootstrap.database() as services, services.reads() as session:
        query = select(TeamRow).order_by(TeamRow.id)
        if region:
            query = query.where(TeamRow.region == region)
        rows = list(session.scalars(query))
    if as_json:
        print(json.dumps([_summary_of(r) for r in rows], ensure_ascii=False, indent=2))
        return
    headers = ("id", "name", "region", "members", "party", "load", "status", "skills")
    lines = [
        (
            r.id,
            r.name,
            r.region,
            str(r.members),
            str(r.party_members),
            f"{r.active_tasks}/{r.capacity}",
            r.status + (" (reserve)" if r.reserve else ""),
            ", ".join(_summary_of(r)["skills"]),
        )
        for r in rows
    ]
    title = f"{len(rows)} teams" + (f" in {region}" if region else "")
    print_identifier_table(console, title, headers, lines)


def _summary_of(row: TeamRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "region": row.region,
        "members": row.members,
        "party_members": row.party_members,
        "capacity": row.capacity,
        "active_tasks": row.active_tasks,
        "status": row.status,
        "reserve": row.reserve,
        "skills": [s for s in row.skills.split(",") if s],
    }


@teams_app.command("show")
def show(team_id: IdArgument, as_json: JsonOption = False) -> None:
    """One team: its card, registration code, load, location fix and grid cells."""
    with bootstrap.database() as services, services.reads() as session:
        row = session.get(TeamRow, team_id)
        if row is None:
            errors.print(f"[red]no team {team_id}[/red]")
            raise typer.Exit(code=1)
        rows = list(session.scalars(select(TeamRow).order_by(TeamRow.id)))
    team = row.to_team()
    cells = sum(1 for owner in cell_owners(rows).values() if owner == team_id)
    details = {
        **_summary_of(row),
        "leader": row.leader,
        "home": [row.home_lat, row.home_lon],
        "registration_code": registration_code(team),
        "grid_cells": cells,
        "fix": None if row.fix_at is None else [row.fix_lat, row.fix_lon, row.fix_at.isoformat()],
        "last_finished_at": None
        if row.last_finished_at is None
        else row.last_finished_at.isoformat(),
    }
    if as_json:
        print(json.dumps(details, ensure_ascii=False, indent=2))
        return
    console.print(profile_text(team))
    console.print(f"Home: {row.home_lat:.5f}, {row.home_lon:.5f}; grid cells owned: {cells}")
    console.print(f"Load: {row.active_tasks}/{row.capacity} tasks; status {row.status}")
    if row.fix_at is not None:
        console.print(
            f"Last fix: {row.fix_lat:.5f}, {row.fix_lon:.5f} at {row.fix_at:%Y-%m-%d %H:%M} UTC"
        )


@teams_app.command("qr")
def qr(
    team_id: IdArgument,
    out: Annotated[Path, typer.Option(help="directory for <id>.svg and <id>.png")],
    base_url: Annotated[str, typer.Option(help="where the public profiles live")] = (
        DEFAULT_PROFILE_BASE
    ),
) -> None:
    """Write the team's QR code (SVG and PNG) linking to its public profile."""
    with bootstrap.database() as services, services.reads() as session:
        row = session.get(TeamRow, team_id)
    if row is None:
        errors.print(f"[red]no team {team_id}[/red]")
        raise typer.Exit(code=1)
    svg, png = write_qr(row.to_team(), out, base_url)
    console.print(f"{registration_code(row.to_team())}: wrote {svg} and {png}")


@grid_app.command("coverage")
def grid_coverage(
    radius_km: Annotated[
        float | None,
        typer.Option(
            help="cells of interest: within this of each division centre [its urban radius]"
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Cells of the towns with no owner, and teams with no cells."""
    with bootstrap.database() as services, services.reads() as session:
        rows = list(session.scalars(select(TeamRow).order_by(TeamRow.id)))
    owners = cell_owners(rows)
    interest = set().union(
        *(cells_near(d.latitude, d.longitude, radius_km or max(d.urban_km, 2.0)) for d in DIVISIONS)
    )
    report = coverage(owners, [r.to_team() for r in rows], interest)
    per_team = list(report.cells_per_team.values()) or [0]
    spread = [min(per_team), statistics.median(per_team), max(per_team)]
    summary = {
        "teams": len(rows),
        "cells_owned": len(owners),
        "cells_of_interest": report.cells_of_interest,
        "owned_of_interest": report.owned,
        "fraction_owned": round(report.fraction_owned, 4),
        "unowned_cells": list(report.unowned_cells),
        "teams_without_cells": list(report.teams_without_cells),
        "cells_per_team_min_median_max": spread,
    }
    if as_json:
        print(json.dumps(summary, indent=2))
        return
    console.print(
        f"{len(rows)} teams own {len(owners):,} cells; of {report.cells_of_interest:,} town cells "
        f"{report.owned:,} have an owner ({report.fraction_owned:.1%})"
    )
    console.print("cells per team (min / median / max): " + " / ".join(str(n) for n in spread))
    _listing("town cells with no owner", report.unowned_cells)
    _listing("teams with no cells", report.teams_without_cells)


def _listing(title: str, items: tuple[str, ...], shown: int = 20) -> None:
    console.print(f"{title}: {len(items)}")
    for item in items[:shown]:
        console.print(f"  {item}")
    if len(items) > shown:
        console.print(f"  ... and {len(items) - shown} more (--json lists all)")


def queue(as_json: JsonOption = False) -> None:
    """The incidents waiting for a team, oldest first, with priority and age."""
    with bootstrap.database() as services, services.reads() as session:
        waiting = waiting_queue(session, services.clock.now(), services.settings.routing)
    if as_json:
        print(json.dumps(waiting, indent=2))
        return
    headers = (
        "incident", "state", "priority", "after ageing", "kind", "region", "age", "waiting",
        "excluded",
    )  # fmt: skip
    lines = [
        (
            w["id"],
            w["state"],
            w["priority"],
            w["effective_priority"],
            w["kind"],
            w["region"],
            f"{w['age_min']:.0f} min",
            f"{w['waiting_min']:.0f} min",
            ", ".join(w["excluded_teams"]),
        )
        for w in waiting
    ]
    title = f"{len(waiting)} incidents waiting for a team, oldest first"
    print_identifier_table(console, title, headers, lines)
