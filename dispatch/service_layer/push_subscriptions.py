"""Browsers' Web Push subscriptions. Each belongs to the web session that made it and goes when
that session ends (signing out, an account disabled, a password reset), so a phone that
signed out is told nothing."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import PushSubscriptionRow
from dispatch.adapters.push_crypto import b64url_decode, parse_public_point

MAX_ENDPOINT_LENGTH = 2000
LOCAL_TEST_HOST = "127.0.0.1"  # a push service in tests may speak plain HTTP on the loopback


class SubscriptionRefused(ValueError):
    """The subscription cannot be used; the message says why (HTTP 422)."""


def check_subscription(endpoint: str, p256dh: str, auth: str) -> None:
    """An https endpoint (http only on 127.0.0.1), a P-256 point and a 16-byte auth secret."""
    parts = urlsplit(endpoint)
    plain_local = parts.scheme == "http" and parts.hostname == LOCAL_TEST_HOST
    if not (parts.scheme == "https" or plain_local) or not parts.hostname:
        raise SubscriptionRefused("the endpoint must be an https URL of a push service")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise SubscriptionRefused(f"the endpoint is longer than {MAX_ENDPOINT_LENGTH} characters")
    try:
        parse_public_point(b64url_decode(p256dh))
    except ValueError as error:
        raise SubscriptionRefused(f"keys.p256dh is not a P-256 public key: {error}") from error
    try:
        secret = b64url_decode(auth)
    except ValueError as error:
        raise SubscriptionRefused("keys.auth is not base64url") from error
    if len(secret) != 16:
        raise SubscriptionRefused("keys.auth must be 16 bytes")


def subscribe(
    session: Session,
    username: str,
    session_hash: str,
    keys: tuple[str, str, str],
    now: datetime,
) -> str:
    """Keep a browser's subscription (endpoint, p256dh, auth) for this session; the same
    endpoint again (the browser renewed it) replaces the old one. Returns its id."""
    endpoint, p256dh, auth = keys
    check_subscription(endpoint, p256dh, auth)
    digest = hashlib.sha256(endpoint.encode()).hexdigest()
    row = session.scalar(
        select(PushSubscriptionRow).where(PushSubscriptionRow.endpoint_hash == digest)
    )
    if row is None:
        row = PushSubscriptionRow(id=f"ps-{secrets.token_hex(12)}", endpoint_hash=digest)
        session.add(row)
    row.username, row.session_hash = username, session_hash
    row.endpoint, row.p256dh, row.auth, row.created_at = endpoint, p256dh, auth, now
    return row.id


def unsubscribe(session: Session, username: str, subscription_id: str) -> bool:
    """Forget one of this person's subscriptions; False if they have none by that id."""
    found = session.execute(
        delete(PushSubscriptionRow).where(
            PushSubscriptionRow.id == subscription_id, PushSubscriptionRow.username == username
        )
    )
    return bool(getattr(found, "rowcount", 0))


def forget_sessions(session: Session, session_hashes: Collection[str]) -> None:
    """The subscriptions of sessions that ended."""
    if session_hashes:
        session.execute(
            delete(PushSubscriptionRow).where(
                PushSubscriptionRow.session_hash.in_(sorted(session_hashes))
            )
        )


def forget_person(session: Session, username: str) -> None:
    """Every subscription of a person whose sessions all ended."""
    session.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.username == username))


def forget_gone(session: Session, subscription_ids: Collection[str]) -> None:
    """Subscriptions their push service says are gone (404, 410)."""
    if subscription_ids:
        session.execute(
            delete(PushSubscriptionRow).where(PushSubscriptionRow.id.in_(sorted(subscription_ids)))
        )
