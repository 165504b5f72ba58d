"""Who may be told anything: team members on duty whose account is enabled (a reserve member
only while storm mode has called up the reserves of its team's division), and the push
subscriptions of their live web sessions. Asked when a delivery is planned and again right
before each attempt, so that signing out or going off duty stops what is queued too."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import (
    MemberDutyRow,
    PushSubscriptionRow,
    TeamRow,
    UserRow,
    WebSessionRow,
)
from dispatch.service_layer.storm import reserves_called_up

_CHUNK = 500


def _on_duty_query(session: Session) -> Select[str, str]:
    """Members on duty, enabled, of the team they are on duty for; a reserve member only while
    storm mode has called up the reserves of the team's division."""
    called_up = sorted(reserves_called_up(session))
    return (
        select(MemberDutyRow.username, MemberDutyRow.team_id)
        .join(UserRow, UserRow.username == MemberDutyRow.username)
        .join(TeamRow, TeamRow.id == MemberDutyRow.team_id)
        .where(MemberDutyRow.on_duty.is_(True), UserRow.disabled.is_(False))
        .where(UserRow.role == "team", UserRow.team_id == MemberDutyRow.team_id)
        .where(or_(UserRow.reserve.is_(False), TeamRow.region.in_(called_up)))
    )


def members_on_duty(session: Session, team_ids: Collection[str]) -> dict[str, list[str]]:
    """Each team's members on duty, by username (in name order)."""
    found: dict[str, list[str]] = defaultdict(list)
    ids, on_duty = sorted(team_ids), _on_duty_query(session)
    for start in range(0, len(ids), _CHUNK):
        query = on_duty.where(MemberDutyRow.team_id.in_(ids[start : start + _CHUNK]))
        for username, team_id in session.execute(query.order_by(MemberDutyRow.username)):
            found[team_id].append(username)
    return found


def still_on_duty(session: Session, usernames: Collection[str]) -> set[str]:
    names = sorted(usernames)
    found: set[str] = set()
    if not names:  # storm mode's call-ups are not read for nobody
        return found
    on_duty = _on_duty_query(session)
    for start in range(0, len(names), _CHUNK):
        query = on_duty.where(MemberDutyRow.username.in_(names[start : start + _CHUNK]))
        found.update(username for username, _ in session.execute(query))
    return found


class Subscription(Protocol):
    """A push subscription as planning reads it (plain columns, no ORM object)."""

    id: str
    username: str
    endpoint: str
    p256dh: str
    auth: str


def _live_query(now: datetime) -> Select[str, str, str, str, str]:
    s = PushSubscriptionRow
    return (
        select(s.id, s.username, s.endpoint, s.p256dh, s.auth)
        .join(WebSessionRow, WebSessionRow.id_hash == PushSubscriptionRow.session_hash)
        .where(WebSessionRow.ended_at.is_(None), WebSessionRow.expires_at > now)
    )


def live_subscriptions(
    session: Session, usernames: Collection[str], now: datetime
) -> dict[str, list[Subscription]]:
    """The push subscriptions of these people's sessions that have not ended or expired."""
    found: dict[str, list[Subscription]] = defaultdict(list)
    names = sorted(usernames)
    for start in range(0, len(names), _CHUNK):
        chunk = names[start : start + _CHUNK]
        query = _live_query(now).where(PushSubscriptionRow.username.in_(chunk))
        for row in session.execute(query.order_by(PushSubscriptionRow.id)):
            found[row.username].append(row)
    return found


def live_subscription_owners(
    session: Session, subscription_ids: Collection[str], now: datetime
) -> dict[str, str]:
    """The owner (username) of each of these subscriptions still live."""
    ids = sorted(subscription_ids)
    found: dict[str, str] = {}
    for start in range(0, len(ids), _CHUNK):
        query = _live_query(now).where(PushSubscriptionRow.id.in_(ids[start : start + _CHUNK]))
        found.update((row.id, row.username) for row in session.execute(query))
    return found
