"""`everycall tokens`: create, list and revoke API tokens (stored hashed, shown once)."""

from __future__ import annotations

from typing import Annotated

import typer

from dispatch import bootstrap
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.i18n import headers, label, local_time, say
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.service_layer.access import Role
from dispatch.service_layer.tokens import TokenError, issue_token, list_tokens, revoke_token

tokens_app = typer.Typer(
    help="API tokens for the dispatch center, the teams, auditors and admins.",
    no_args_is_help=True,
)
console = message_console()
errors = message_console(stderr=True)


@tokens_app.command("create")
def create(
    role: Annotated[Role, typer.Option(help="what the token may do")],
    team: Annotated[str | None, typer.Option(help="the team a team token acts for")] = None,
    name: Annotated[str, typer.Option(help="who holds it, shown in the event log")] = "",
) -> None:
    """Create a token; its plaintext is printed once, alone on the last line."""
    settings = bootstrap.read_settings()
    try:
        with bootstrap.database(settings) as services, services.sessions.begin() as session:
            token_id, token = issue_token(
                session,
                role,
                team,
                name=name,
                pepper=settings.api_token_pepper,
                at=services.clock.now(),
            )
    except TokenError as error:
        errors.print(f"[red]{say('tokens.cannot_create')}[/red] {error}")
        raise typer.Exit(code=2) from error
    bound = say("tokens.bound", team=team) if team else ""
    console.print(say("tokens.created", role=label(role.value), token_id=token_id, bound=bound))
    typer.echo(token)


@tokens_app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(help="the id shown by `tokens list`")]) -> None:
    """Revoke a token: every later request with it is refused (401)."""
    try:
        with bootstrap.database() as services, services.sessions.begin() as session:
            revoke_token(session, token_id, services.clock.now())
    except TokenError as error:
        errors.print(f"[red]{say('tokens.cannot_revoke')}[/red] {error}")
        raise typer.Exit(code=1) from error
    console.print(say("tokens.revoked", token_id=token_id))


@tokens_app.command("list")
def list_() -> None:
    """Every token with its role, team and state (never the secret)."""
    with bootstrap.database() as services, services.reads() as session:
        tokens = list_tokens(session)
    shown = headers("col.id", "col.role", "col.team", "col.holder", "col.state", "col.created")
    rows = [
        (
            t.id,
            label(t.role.value),
            t.team_id or "",
            t.name,
            say("tokens.revoked_at", at=local_time(t.revoked_at))
            if t.revoked_at
            else say("tokens.active"),
            local_time(t.created_at),
        )
        for t in tokens
    ]
    title = say("tokens.title", count=len(tokens))
    print_identifier_table(console, title, shown, rows, json_option=False)
