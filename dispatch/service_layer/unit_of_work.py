"""What a command's transaction writes besides its own rows: its events, logged and staged
for Kafka, and the team loads it releases. One command writes them at once; inside
`batched_commands` many commands append their events once, in order, and write each team's
load once, at the end.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import groupby

from sqlalchemy.orm import Session

from dispatch.adapters.orm import TeamRow
from dispatch.adapters.outbox import stage_many
from dispatch.service_layer.services import Services
from events import topics
from events.envelope import Envelope
from events.schemas import EventPayload, envelope_for


def emit(
    session: Session,
    services: Services,
    region: str,
    payloads: Sequence[EventPayload],
    now: datetime,
) -> None:
    """Log one incident's events and stage them for Kafka, in the caller's transaction."""
    emit_all(session, services, [(region, p) for p in payloads], now)


def emit_all(
    session: Session,
    services: Services,
    items: Sequence[tuple[str, EventPayload]],
    now: datetime,
) -> None:
    """Log events keyed by region and stage them for Kafka, in one append (or, inside
    `batched_commands`, when the batch ends)."""
    producer = services.settings.producer_name
    envelopes = [
        envelope_for(p, producer=producer, key=region or "unknown", at=now) for region, p in items
    ]
    pending = session.info.get(_PENDING)
    if pending is not None:
        pending.extend((e, now) for e in envelopes)
        return
    _log_and_stage(session, services, [(e, now) for e in envelopes])


def _log_and_stage(
    session: Session, services: Services, envelopes: Sequence[tuple[Envelope, datetime]]
) -> None:
    services.event_log.append(session, [e for e, _ in envelopes])
    for at, run in groupby(envelopes, key=lambda pair: pair[1]):
        stage_many(session, topics.ASSIGNMENTS, [e for e, _ in run], at)


_PENDING = "everycall.pending_events"
_RELEASES = "everycall.pending_releases"


@contextmanager
def batched_commands(session: Session, services: Services) -> Iterator[None]:
    """Many commands in one transaction: their events are appended once, in order, and the
    team loads they release are written once, at the end (events first, then teams: the lock
    order routing uses)."""
    session.info[_PENDING], session.info[_RELEASES] = [], {}
    try:
        yield
        pending, releases = session.info[_PENDING], session.info[_RELEASES]
    finally:
        session.info.pop(_PENDING, None)
        session.info.pop(_RELEASES, None)
    if pending:
        _log_and_stage(session, services, pending)
    for team_id in sorted(releases):
        tasks, finished_at = releases[team_id]
        _release(session, team_id, tasks, finished_at)


def release_team(
    session: Session, team_id: str | None, *, finished_at: datetime | None = None
) -> None:
    """One task fewer for the team; `finished_at` when it finished the job (rest rotation)."""
    if team_id is None:
        return
    releases: dict[str, tuple[int, datetime | None]] | None = session.info.get(_RELEASES)
    if releases is None:
        _release(session, team_id, 1, finished_at)
        return
    tasks, finished = releases.get(team_id, (0, None))
    releases[team_id] = (tasks + 1, finished_at or finished)


def _release(session: Session, team_id: str, tasks: int, finished_at: datetime | None) -> None:
    team = session.get(TeamRow, team_id, with_for_update=True)
    if team is None:  # retired from the registry since: nothing to release
        return
    team.active_tasks = max(0, team.active_tasks - tasks)
    if finished_at is not None:
        team.last_finished_at = finished_at
