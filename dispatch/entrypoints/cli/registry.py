"""`everycall teams`, `everycall grid` and `everycall queue`: the registry, the service grid
and the waiting incidents, straight on the database (no broker needed)."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import select

from dispatch import bootstrap
from dispatch.adapters.orm import TeamRow
from dispatch.adapters.registry_files import RegistryImportError, export_teams, load_teams
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import (
    Language,
    division_name,
    headers,
    label,
    language,
    local_time,
    say,
)
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.registry import (
    list_teams,
    registration_code,
    replace_registry,
    write_qr,
)
from dispatch.service_layer.team_pool import cell_owners
from dispatch.views.queue import waiting_queue
from models.grid import cells_near, coverage
from models.hubei import DIVISIONS
from models.team import SKILL_ZH, Skill

teams_app = typer.Typer(help="The team registry: import, export, list, show, QR codes.")
grid_app = typer.Typer(help="The service grid: which team answers for which cell.")
console = message_console()
errors = message_console(stderr=True)  # a whole line to grep for

DEFAULT_PROFILE_BASE = "https://everycall.example"
IdArgument = Annotated[str, typer.Argument(help="the team id, e.g. HB-WH-001")]
JsonOption = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


@teams_app.command("import")
def import_teams(path: Annotated[Path, typer.Argument(help="a .csv or .json registry")]) -> None:
    """Make the file the whole registry: all of it or, on the first bad row, none of it."""
    try:
        teams = load_teams(path)
    except (RegistryImportError, OSError) as error:
        errors.print(f"[red]{say('import.refused')}[/red] {error}")
        raise typer.Exit(code=1) from error
    with bootstrap.database() as services, services.sessions.begin() as session:
        before = set(session.scalars(select(TeamRow.id)))
        replace_registry(session, teams, services.clock.now())
    retired = len(before - {t.id for t in teams})
    console.print(say("teams.imported", count=len(teams), path=path, retired=retired))


@teams_app.command("export")
def export(path: Annotated[Path, typer.Argument(help="where to write: .csv or .json")]) -> None:
    """Write the registry as CSV or JSON (by the file's suffix)."""
    with bootstrap.database() as services, services.reads() as session:
        teams = list_teams(session)
    try:
        export_teams(teams, path)
    except ValueError as error:
        errors.print(f"[red]{say('teams.export_refused')}[/red] {error}")
        raise typer.Exit(code=1) from error
    console.print(say("teams.exported", count=len(teams), path=path))


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
    shown = headers(
        "col.id", "col.name", "col.region", "col.members", "col.party", "col.load",
        "col.status", "col.skills",
    )  # fmt: skip
    lines = [
        (
            r.id,
            _team_name(r),
            division_name(r.region),
            str(r.members),
            str(r.party_members),
            f"{r.active_tasks}/{r.capacity}",
            label(r.status) + (say("teams.reserve") if r.reserve else ""),
            _skills(r),
        )
        for r in rows
    ]
    if region:
        title = say("teams.title_in", count=len(rows), region=division_name(region))
    else:
        title = say("teams.title", count=len(rows))
    print_identifier_table(console, title, shown, lines)


def _team_name(row: TeamRow) -> str:
    """The registry's Chinese name; in English its English name where it has one."""
    return _in_language(row.name, row.name_en)


def _in_language(chinese: str, english: str) -> str:
    """A registry text in the reader's language; the Chinese stands in for a missing English."""
    return (english or chinese) if language() is Language.EN else chinese


def _skills(row: TeamRow) -> str:
    """The team's skills: the article's words in Chinese (供电抢修), the API's in English."""
    skills = [Skill(s) for s in _summary_of(row)["skills"]]
    if language() is Language.ZH:
        return "、".join(SKILL_ZH[s] for s in skills)
    return ", ".join(skills)


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
            errors.print(f"[red]{say('teams.no_team', team_id=team_id)}[/red]")
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
    console.print(_card(row), highlight=False)
    console.print(say("card.home", lat=row.home_lat, lon=row.home_lon, cells=cells))
    status = label(row.status)
    console.print(say("card.load", active=row.active_tasks, capacity=row.capacity, status=status))
    if row.fix_at is not None:
        at = local_time(row.fix_at)
        console.print(say("card.fix", lat=row.fix_lat, lon=row.fix_lon, at=at))


def _card(row: TeamRow) -> str:
    """The team's card: who it is, where it serves, and its promise."""
    kind = say("card.reserve" if row.reserve else "card.service")
    lines = [
        _team_name(row),
        say("card.area", area=division_name(row.region, full=True)),
        say("card.leader", leader=_in_language(row.leader, row.leader_en) or say("card.unnamed")),
        say("card.members", members=row.members, party=row.party_members, kind=kind),
    ]
    roles = _roles(row)
    if roles:
        lines.append(say("card.roles", roles=roles))
    branch = _in_language(row.branch, row.branch_en)
    if branch:
        lines.append(say("card.branch", branch=branch))
    lines += [
        say("card.skills", skills=_skills(row)),
        say("card.code", code=registration_code(row.to_team())),
        say("card.promise"),
    ]
    intro = _in_language(row.intro, row.intro_en)
    return "\n".join([*lines, intro] if intro else lines)


def _roles(row: TeamRow) -> str:
    """Members by role: 队长 1、副队长 1、队员 12 (Leader 1, Deputy leader 1, ...)."""
    english = language() is Language.EN
    shown = [
        f"{(r.get('role_en') if english else '') or r.get('role', '')} {r.get('count', '')}"
        for r in row.roles
    ]
    return say("word.separator").join(shown)


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
        errors.print(f"[red]{say('teams.no_team', team_id=team_id)}[/red]")
        raise typer.Exit(code=1)
    svg, png = write_qr(row.to_team(), out, base_url)
    console.print(say("qr.wrote", code=registration_code(row.to_team()), svg=svg, png=png))


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
        say(
            "grid.summary",
            teams=len(rows),
            owned=len(owners),
            interest=report.cells_of_interest,
            covered=report.owned,
            fraction=report.fraction_owned,
        )
    )
    console.print(say("grid.spread", spread=" / ".join(str(n) for n in spread)))
    _listing(say("grid.unowned"), report.unowned_cells)
    _listing(say("grid.idle"), report.teams_without_cells)


def _listing(title: str, items: tuple[str, ...], shown: int = 20) -> None:
    console.print(say("listing.count", title=title, count=len(items)))
    for item in items[:shown]:
        console.print(f"  {item}")
    if len(items) > shown:
        console.print(say("listing.more", count=len(items) - shown))


def queue(as_json: JsonOption = False) -> None:
    """The incidents waiting for a team, oldest first, with priority and age."""
    with bootstrap.database() as services, services.reads() as session:
        waiting = waiting_queue(session, services.clock.now(), services.settings.routing)
    if as_json:
        print(json.dumps(waiting, indent=2))
        return
    shown = headers(
        "col.incident", "col.state", "col.priority", "col.aged", "col.kind", "col.region",
        "col.age", "col.waiting", "col.excluded",
    )  # fmt: skip
    lines = [
        (
            w["id"],
            label(w["state"]),
            label(w["priority"]),
            label(w["effective_priority"]),
            label(w["kind"]),
            division_name(w["region"]),
            say("word.minutes", minutes=w["age_min"]),
            say("word.minutes", minutes=w["waiting_min"]),
            say("word.separator").join(w["excluded_teams"]),
        )
        for w in waiting
    ]
    title = say("queue.title", count=len(waiting))
    print_identifier_table(console, title, shown, lines)
