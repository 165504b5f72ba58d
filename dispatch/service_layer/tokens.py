"""API tokens: issued with a role (and a team for team tokens), stored as keyed hashes,
looked up to the Caller they stand for, revoked."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import ApiTokenRow, TeamRow
from dispatch.service_layer.access import Caller, Role
from models.clock import SystemClock

TOKEN_PREFIX = "ec"


@dataclass(frozen=True)
class TokenInfo:
    """A token as `everycall tokens list` shows it: never the secret, never its hash."""

    id: str
    role: Role
    team_id: str | None
    name: str
    revoked: bool
    created_at: datetime
    revoked_at: datetime | None


class TokenError(ValueError):
    """A token cannot be created or revoked as asked; the message says why."""


def hash_token(token: str, pepper: str) -> str:
    """HMAC-SHA256 keyed with the pepper: a stolen table alone does not let anyone guess."""
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


def token_id_of(token: str) -> str | None:
    """The public id inside `ec_<id>_<secret>`, so a leaked token can be named and revoked."""
    parts = token.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == TOKEN_PREFIX else None


def issue_token(
    session: Session,
    role: Role,
    team_id: str | None = None,
    *,
    name: str = "",
    pepper: str = "",
    at: datetime | None = None,
) -> tuple[str, str]:
    """Store a new token's hash; returns (token id, plaintext). The plaintext is not kept."""
    _check_binding(session, role, team_id)
    token_id = secrets.token_hex(6)
    token = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiTokenRow(
            id=token_id,
            token_hash=hash_token(token, pepper),
            role=role.value,
            team_id=team_id,
            name=name,
            revoked=False,
            created_at=at or SystemClock().now(),
        )
    )
    return token_id, token


def create_token(
    session: Session,
    role: Role,
    team_id: str | None = None,
    *,
    name: str = "",
    pepper: str = "",
    at: datetime | None = None,
) -> str:
    """A new token for `role` (bound to `team_id` for teams); returns the plaintext, once."""
    return issue_token(session, role, team_id, name=name, pepper=pepper, at=at)[1]


def _check_binding(session: Session, role: Role, team_id: str | None) -> None:
    if role is Role.TEAM and not team_id:
        raise TokenError("a team token needs a team (--team)")
    if role is not Role.TEAM and team_id:
        raise TokenError(f"only team tokens are bound to a team, not {role.value} tokens")
    if team_id and session.get(TeamRow, team_id) is None:
        raise TokenError(f"no team {team_id!r} in the registry")


def revoke_token(session: Session, token_id: str, at: datetime | None = None) -> None:
    """From now on the token is refused (401); revoking twice is harmless."""
    row = session.get(ApiTokenRow, token_id, with_for_update=True)
    if row is None:
        raise TokenError(f"no token with id {token_id!r}")
    if not row.revoked:
        row.revoked, row.revoked_at = True, at or SystemClock().now()


def lookup_caller(session: Session, token: str, pepper: str) -> Caller | None:
    """The caller a token stands for, or None when it is unknown or revoked."""
    row = session.scalars(
        select(ApiTokenRow).where(ApiTokenRow.token_hash == hash_token(token, pepper))
    ).first()
    if row is None or row.revoked:
        return None
    return Caller(Role(row.role), row.team_id, row.name or f"{row.role}/{row.id}")


def list_tokens(session: Session) -> list[TokenInfo]:
    rows = session.scalars(select(ApiTokenRow).order_by(ApiTokenRow.created_at, ApiTokenRow.id))
    return [
        TokenInfo(r.id, Role(r.role), r.team_id, r.name, r.revoked, r.created_at, r.revoked_at)
        for r in rows
    ]
