"""People's accounts and their signed-in browsers. A person has a role (a team member is bound
to a team), an argon2 hash of the password, and sessions: a random cookie, kept only as its
SHA-256, with the CSRF token each change through the board must carry. Machines keep their
API tokens (tokens.py).

A person acts in the event log as `user:<username>`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dispatch.adapters.orm import TeamRow, UserRow, WebSessionRow
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.push_subscriptions import forget_person, forget_sessions

MIN_PASSWORD_LENGTH = 10
SESSION_LIFETIME = timedelta(hours=12)  # a dispatcher's shift, with its handover
_USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")
_hasher = PasswordHasher()
# verified against when the username is unknown, so a wrong name costs what a wrong password does
_UNKNOWN = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account cannot be made or changed as asked; the message says why."""


@dataclass(frozen=True)
class UserInfo:
    """An account as `everycall users list` shows it: never the password's hash."""

    username: str
    display_name: str
    role: Role
    team_id: str | None
    disabled: bool
    created_at: datetime
    reserve: bool = False  # a reserve member: told of tasks only while reserves are called up


@dataclass(frozen=True)
class SignedIn:
    """A browser's session: the cookie (shown to the browser once) and its CSRF token."""

    cookie: str
    csrf_token: str
    caller: Caller
    display_name: str
    expires_at: datetime


def caller_of(row: UserRow) -> Caller:
    return Caller(Role(row.role), row.team_id, f"user:{row.username}")


def add_user(
    session: Session,
    username: str,
    role: Role,
    password: str,
    *,
    at: datetime,
    team_id: str | None = None,
    display_name: str = "",
    reserve: bool = False,
) -> UserInfo:
    """A new account; its password is kept only as an argon2 hash. A team member may be a
    reserve member (预备队员), told of the team's tasks only while storm mode has called up
    the reserves of the team's division."""
    if not _USERNAME.fullmatch(username):
        raise AccountError(
            f"username {username!r}: 2 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter "
            "or digit"
        )
    if session.get(UserRow, username) is not None:
        raise AccountError(f"user {username!r} exists already")
    _check_team(session, role, team_id)
    if reserve and role is not Role.TEAM:
        raise AccountError("only a team member can be a reserve member")
    _check_password(password)
    row = UserRow(
        username=username,
        display_name=display_name,
        role=role.value,
        team_id=team_id,
        password_hash=_hasher.hash(password),
        disabled=False,
        created_at=at,
        reserve=reserve,
    )
    session.add(row)
    return _info(row)


def list_users(session: Session) -> list[UserInfo]:
    return [_info(row) for row in session.scalars(select(UserRow).order_by(UserRow.username))]


def disable_user(session: Session, username: str, at: datetime) -> None:
    """The person can no longer sign in, and every browser they signed in on is signed out."""
    _user(session, username).disabled = True
    _end_sessions(session, username, at)


def reset_password(session: Session, username: str, password: str, at: datetime) -> None:
    """A new password (given by an admin); the old sessions end."""
    _check_password(password)
    _user(session, username).password_hash = _hasher.hash(password)
    _end_sessions(session, username, at)


def sign_in(session: Session, username: str, password: str, now: datetime) -> SignedIn | None:
    """A new session for the right password of an enabled account, else None (one answer for
    an unknown name, a wrong password and a disabled account)."""
    row = session.get(UserRow, username)
    if not _verifies(row.password_hash if row else _UNKNOWN, password) or row is None:
        return None
    if row.disabled:
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    expires_at = now + SESSION_LIFETIME
    session.add(
        WebSessionRow(
            id_hash=_digest(cookie),
            username=row.username,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires_at,
        )
    )
    return SignedIn(cookie, csrf, caller_of(row), row.display_name, expires_at)


def session_caller(
    session: Session, cookie: str, now: datetime
) -> tuple[Caller, str, UserRow] | None:
    """The person a cookie stands for, with the session's CSRF token; None once it ended,
    expired, or its account was disabled."""
    found = session.get(WebSessionRow, _digest(cookie))
    if found is None or found.ended_at is not None or found.expires_at <= now:
        return None
    row = session.get(UserRow, found.username)
    if row is None or row.disabled:
        return None
    return caller_of(row), found.csrf_token, row


def sign_out(session: Session, cookie: str, now: datetime) -> None:
    """The session ends, and the push subscriptions its browser made go with it."""
    found = session.get(WebSessionRow, _digest(cookie))
    if found is not None and found.ended_at is None:
        found.ended_at = now
    forget_sessions(session, [_digest(cookie)])


def session_hash(cookie: str) -> str:
    """How a session is kept: the SHA-256 of its cookie."""
    return _digest(cookie)


def _verifies(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def _end_sessions(session: Session, username: str, at: datetime) -> None:
    session.execute(
        update(WebSessionRow)
        .where(WebSessionRow.username == username, WebSessionRow.ended_at.is_(None))
        .values(ended_at=at)
    )
    forget_person(session, username)


def _user(session: Session, username: str) -> UserRow:
    row = session.get(UserRow, username, with_for_update=True)
    if row is None:
        raise AccountError(f"no user {username!r}")
    return row


def _check_team(session: Session, role: Role, team_id: str | None) -> None:
    if role is Role.TEAM and not team_id:
        raise AccountError("a team member needs a team (--team)")
    if role is not Role.TEAM and team_id:
        raise AccountError(f"only team members belong to a team, not a {role.value}")
    if team_id and session.get(TeamRow, team_id) is None:
        raise AccountError(f"no team {team_id!r} in the registry")


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _info(row: UserRow) -> UserInfo:
    return UserInfo(
        row.username,
        row.display_name,
        Role(row.role),
        row.team_id,
        row.disabled,
        row.created_at,
        bool(row.reserve),
    )
