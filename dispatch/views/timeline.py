"""One incident's story from the log: every event that names it, who did what, and when. The
one timeline: the board's incident detail and `everycall audit timeline` both read it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Connection, or_, select

from events.log import EVENT_LOG
from models.local_time import shown_in_shanghai


@dataclass(frozen=True)
class Step:
    seq: int
    occurred_at: str
    type: str
    version: int
    who: str
    what: str
    payload: dict[str, Any]
    hash: str

    @property
    def explanation(self) -> list[dict[str, Any]]:
        """The routing short list of a team.assigned step (empty for others)."""
        return list(self.payload.get("explanation") or [])


def incident_timeline(connection: Connection, incident_id: str) -> list[Step]:
    """Every logged event about `incident_id`, in log order."""
    # The subject column finds most; the text search also finds events that name the incident
    # elsewhere in their payload (a merged duplicate's master, for instance).
    pattern = "%" + _escape_like(orjson.dumps(incident_id).decode()) + "%"
    rows = connection.execute(
        select(EVENT_LOG.c.seq, EVENT_LOG.c.envelope, EVENT_LOG.c.hash)
        .where(
            or_(
                EVENT_LOG.c.subject == incident_id,
                EVENT_LOG.c.envelope.like(pattern, escape="\\"),
            )
        )
        .order_by(EVENT_LOG.c.seq)
    ).all()
    steps = []
    for seq, text, digest in rows:
        envelope = orjson.loads(text)
        payload = envelope["payload"]
        if incident_id not in _ids_named(payload):
            continue
        steps.append(
            Step(
                seq,
                envelope["occurred_at"],
                envelope["type"],
                envelope["version"],
                who_did(envelope),
                describe(envelope["type"], payload),
                payload,
                digest,
            )
        )
    return steps


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ids_named(payload: dict[str, Any]) -> set[str]:
    names = ("incident_id", "id", "master_id", "former_master_id", "duplicate_id", "lead_id")
    return {str(payload[n]) for n in names if payload.get(n) is not None}


def who_did(envelope: dict[str, Any]) -> str:
    """The actor as authenticated when the event says so, else the team, else the process."""
    payload = envelope["payload"]
    actor = payload.get("actor")
    if actor:
        return str(actor)
    if envelope["type"] == "incident.reported":
        return f"caller via {payload.get('channel', '?')}"
    if payload.get("team_id") and envelope["type"].startswith("task."):
        return f"team {payload['team_id']}"
    return str(envelope["producer"])


def describe(kind: str, p: dict[str, Any]) -> str:
    """One line of what happened, in words."""
    if kind == "incident.reported":
        where = p.get("address") or f"{p['latitude']:.5f},{p['longitude']:.5f}"
        return f"reported {p['kind']} ({p['priority']}, {p['area_class']}) at {where}"
    if kind == "team.assigned":
        return (
            f"assigned to team {p['team_id']}: {p['distance_km']:.2f} km, rule {p['rule']}, "
            f"{len(p.get('explanation') or [])} candidates ranked"
        )
    if kind == "incident.queued":
        return f"queued: {p.get('reason', '')}"
    if kind == "incident.support_requested":
        return (
            f"支援任务 support task {p['id']} of {p['lead_id']}, {p['teams_wanted']} teams"
            f" in all: {p['reason']}"
        )
    details = {
        k: v
        for k, v in p.items()
        if k not in ("incident_id", "actor", "clocks", "explanation") and v not in (None, "")
    }
    return ", ".join(f"{k}={shown_in_shanghai(v)}" for k, v in details.items())
