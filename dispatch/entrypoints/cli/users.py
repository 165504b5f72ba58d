"""`everycall users`: people's accounts for the board and the crew app (add, list, disable,
reset a password). Passwords are read from a hidden prompt, or from stdin for scripts; only
their argon2 hashes are stored."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Annotated

import typer

from dispatch import bootstrap
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import headers, label, local_time, say
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.access import Role
from dispatch.service_layer.users import (
    AccountError,
    UserInfo,
    add_user,
    disable_user,
    list_users,
)
from dispatch.service_layer.users import reset_password as reset_password_of

users_app = typer.Typer(
    help="人员账号 People's accounts: dispatchers, auditors, admins and team members.",
    no_args_is_help=True,
)
console = message_console()
errors = message_console(stderr=True)

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="read the password from stdin (for scripts)")
]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt(say("users.password"), hide_input=True, confirmation_prompt=True))


def _refused(what: str, error: AccountError) -> typer.Exit:
    errors.print(f"[red]{what}[/red] {error}")
    return typer.Exit(code=2)


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="the sign-in name, e.g. zhang.wei")],
    role: Annotated[Role, typer.Option(help="dispatcher, auditor, admin, or team (a member)")],
    team: Annotated[str | None, typer.Option(help="a team member's team")] = None,
    display_name: Annotated[str, typer.Option(help="the name people see, e.g. 张伟")] = "",
    reserve: Annotated[
        bool, typer.Option(help="a team's reserve member: told of tasks only in storm mode")
    ] = False,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add an account."""
    password = _password(password_stdin)
    try:
        with bootstrap.database() as services, services.sessions.begin() as session:
            add_user(
                session,
                username,
                role,
                password,
                at=services.clock.now(),
                team_id=team,
                display_name=display_name,
                reserve=reserve,
            )
    except AccountError as error:
        raise _refused(say("users.cannot_add"), error) from error
    bound = say("users.bound", team=team) if team else ""
    console.print(say("users.added", role=label(role.value), username=username, bound=bound))


@users_app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="JSON, for scripts")] = False,
) -> None:
    """Every account with its role, team and state (never a password or its hash)."""
    with bootstrap.database() as services, services.reads() as session:
        people = list_users(session)
    if as_json:
        typer.echo(json.dumps([_as_json(p) for p in people], ensure_ascii=False, indent=2))
        return
    shown = headers(
        "col.username", "col.person", "col.role", "col.state", "col.team", "col.created"
    )
    rows = [
        (
            p.username,
            p.display_name,
            label(p.role.value),
            say("users.disabled_state" if p.disabled else "users.active_state"),
            (p.team_id or "") + (say("users.reserve") if p.reserve else ""),
            local_time(p.created_at),
        )
        for p in people
    ]
    print_identifier_table(console, say("users.title", count=len(people)), shown, rows)


def _as_json(person: UserInfo) -> dict[str, object]:
    return {
        "username": person.username,
        "display_name": person.display_name,
        "role": person.role.value,
        "team_id": person.team_id,
        "disabled": person.disabled,
        "reserve": person.reserve,
        "created_at": _utc(person.created_at).isoformat(),
    }


def _utc(moment: datetime) -> datetime:
    """JSON is for machines: the stored UTC time, with its offset; a naive time is taken as
    UTC, which is how the database keeps them. People read Shanghai time in the table."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@users_app.command("disable")
def disable(username: Annotated[str, typer.Argument(help="the account to disable")]) -> None:
    """Disable an account: it can no longer sign in, and its open sessions end."""
    try:
        with bootstrap.database() as services, services.sessions.begin() as session:
            disable_user(session, username, services.clock.now())
    except AccountError as error:
        raise _refused(say("users.cannot_disable"), error) from error
    console.print(say("users.disabled", username=username))


@users_app.command("reset-password")
def reset_password(
    username: Annotated[str, typer.Argument(help="the account")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give an account a new password; its open sessions end."""
    password = _password(password_stdin)
    try:
        with bootstrap.database() as services, services.sessions.begin() as session:
            reset_password_of(session, username, password, services.clock.now())
    except AccountError as error:
        raise _refused(say("users.cannot_reset"), error) from error
    console.print(say("users.reset", username=username))
