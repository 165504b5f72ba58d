"""The first answers of commands taken with an Idempotency-Key, kept in `idempotency_keys`
beside the reports' keys, so a key names one request whatever the route: a retry of it gets
the first answer and changes nothing; the same key with another request is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy.orm import Session

from dispatch.adapters.orm import IdempotencyKeyRow
from dispatch.service_layer.access import Caller
from dispatch.service_layer.intake import IdempotencyKeyReused
from dispatch.views.board import IncidentView


def request_digest(caller: Caller, **fields: object) -> str:
    """Same request by the same caller, same digest: tells a replay from a reused key."""
    named = {"actor": caller.actor, "role": caller.role.value, "team_id": caller.team_id}
    canonical = json.dumps({**named, **fields}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def first_answer(session: Session, key: str, digest: str) -> IncidentView | None:
    """The answer the key's first request got, or None for a key not seen yet."""
    known = session.get(IdempotencyKeyRow, key)
    if known is None:
        return None
    if known.request_hash != digest or known.answer is None:
        raise IdempotencyKeyReused(f"Idempotency-Key {key!r} was used for another request")
    return IncidentView.model_validate(known.answer)


def remember(session: Session, key: str, digest: str, view: IncidentView, now: datetime) -> None:
    answer = view.model_dump(mode="json")
    session.add(
        IdempotencyKeyRow(
            key=key, request_hash=digest, incident_id=view.id, created_at=now, answer=answer
        )
    )
    session.flush()  # a twin's key already stored fails here, inside the transaction
