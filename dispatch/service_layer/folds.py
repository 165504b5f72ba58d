"""One fold per event type: how each event changes the state tables. Replay folds a log's
events in order into a board (`fold`); the live write side folds each transaction's events
into its rows as it decides them (unit_of_work.py). Both call these functions and no other
code changes those rows, so replay equals live by construction."""

from __future__ import annotations

from collections.abc import Callable, Iterable, MutableMapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from dispatch.adapters.orm import team_record
from dispatch.service_layer.state import (
    Board,
    Event,
    State,
    gc_paused,
    moment,
)
from dispatch.service_layer.storm_folds import STORM_PROJECTORS
from events.envelope import Envelope
from events.log import Entry
from events.schemas import EventRejected, latest_version, upcast_payload

Projector = Callable[[State, Event], None]
PROJECTORS: dict[str, Projector] = {}


def projects(*event_types: str) -> Callable[[Projector], Projector]:
    """Decorator: `fn(board, event)` applies events of these types to the board."""

    def register(projector: Projector) -> Projector:
        for event_type in event_types:
            PROJECTORS[event_type] = projector
        return projector

    return register


def fold(
    entries: Iterable[Entry | tuple[int, str]],
    until: datetime | None = None,
    board: Board | None = None,
) -> Board:
    """Apply entries (or `(seq, envelope)` pairs) in order; with `until`, stop before the first
    event that occurred later."""
    board = board or Board()
    routes: dict[tuple[str, int], tuple[Projector | None, int]] = {}
    loads = orjson.loads
    seq, occurred_at = board.last_seq, board.last_occurred_at
    with gc_paused():
        for entry in entries:
            envelope = loads(entry[1])
            if until is not None and moment(envelope["occurred_at"]) > until:  # type: ignore[operator]
                break
            seq, occurred_at = entry[0], envelope["occurred_at"]
            board.events += 1
            kind, version = envelope["type"], envelope["version"]
            route = routes.get((kind, version))
            if route is None:
                route = routes[(kind, version)] = _route(kind)
            projector, newest = route
            if projector is None:
                board.unprojected[f"{kind}.v{version}"] += 1
                continue
            payload = envelope["payload"]
            if version != newest:
                payload = upcast_payload(kind, version, payload, newest)
            projector(
                board,
                Event(seq, envelope["event_id"], kind, occurred_at, envelope["producer"], payload),
            )
    board.last_seq, board.last_occurred_at = seq, occurred_at
    return board


def _route(kind: str) -> tuple[Projector | None, int]:
    """The projector of an event type and its newest version (None: no schema or no projector
    knows the type; it is reported as unprojected)."""
    try:
        newest = latest_version(kind)
    except EventRejected:
        return None, 0
    return PROJECTORS.get(kind), newest


# --- incidents and tasks --------------------------------------------------------------------

INCIDENT_FIELDS = (
    "id", "kind", "priority", "latitude", "longitude", "address",
    "area_class", "channel", "region",
)  # fmt: skip


@projects("incident.reported")
def incident_reported(board: State, event: Event) -> None:
    p = event.payload
    board.rows("incidents")[p["id"]] = board.new_row(
        "incidents",
        **{name: p[name] for name in INCIDENT_FIELDS},
        reported_at=p["reported_at"],
        state="reported",
        report_event_id=event.event_id,
        waiting_since=p["reported_at"],
    )


@projects("incident.support_requested")
def support_requested(board: State, event: Event) -> None:
    incident_reported(board, event)
    board.rows("incidents")[event.payload["id"]]["lead_id"] = event.payload["lead_id"]


@projects("incident.queued")
def incident_queued(board: State, event: Event) -> None:
    board.rows("incidents")[event.payload["incident_id"]]["state"] = "queued"


@projects("team.assigned")
def team_assigned(board: State, event: Event) -> None:
    p = event.payload
    assigned_at = p["assigned_at"]
    incident = board.rows("incidents")[p["incident_id"]]
    incident.update(
        state="assigned", team_id=p["team_id"], assigned_at=assigned_at, waiting_since=None
    )
    board.append(
        "assignments",
        board.new_row(
            "assignments",
            incident_id=p["incident_id"],
            team_id=p["team_id"],
            assigned_at=assigned_at,
            distance_km=p["distance_km"],
            rule=p["rule"],
            explanation=p["explanation"],
        ),
    )
    _change_load(board, p["team_id"], +1)


@projects("task.resolved")
def task_resolved(board: State, event: Event) -> None:
    p = event.payload
    resolved_at = p["resolved_at"]
    _lifecycle(board, p, default_state="resolved").update(resolved_at=resolved_at)
    _change_load(board, p["team_id"], -1, finished_at=resolved_at)


def _change_load(
    board: State, team_id: str | None, delta: int, finished_at: str | None = None
) -> None:
    board.change_load(team_id, delta, finished_at)


# --- the lifecycle: every payload carries the state after it and its clocks -----------------


def _lifecycle(
    board: State, p: dict[str, Any], default_state: str = ""
) -> MutableMapping[str, Any]:
    """The incident after a lifecycle event: its state as the event says, clocks upserted."""
    incident_id = p["incident_id"]
    incident: MutableMapping[str, Any] = board.keyed["incidents"][incident_id]
    state = p.get("state") or default_state
    if state:
        incident["state"] = state
    clocks = p.get("clocks")
    if clocks:
        # A clock changes many times: keep its latest snapshot, make the row once
        # (state.clock_row).
        kept = board.keyed["sla_clocks"]
        for snapshot in clocks:
            kept[(incident_id, snapshot["kind"], snapshot["attempt"])] = {
                "incident_id": incident_id,
                "snapshot": snapshot,
            }
    return incident


def _exclude(board: State, incident_id: str, team_id: str, reason: str) -> None:
    board.rows("incident_exclusions").setdefault(
        (incident_id, team_id),
        board.new_row(
            "incident_exclusions", incident_id=incident_id, team_id=team_id, reason=reason[:200]
        ),
    )


@projects(
    "sla.clocks_started", "sla.warning", "sla.breached", "task.departed", "incident.reprioritized"
)
def clocks_moved(board: State, event: Event) -> None:
    incident = _lifecycle(board, event.payload)
    if event.type == "incident.reprioritized":
        incident["priority"] = event.payload["new_priority"]


@projects("task.acknowledged")
def task_acknowledged(board: State, event: Event) -> None:
    p = event.payload
    _lifecycle(board, p).update(acknowledged_at=p["acknowledged_at"])


@projects("task.arrived")
def task_arrived(board: State, event: Event) -> None:
    p = event.payload
    _lifecycle(board, p).update(arrived_at=p["arrived_at"])


@projects("task.declined")
def task_declined(board: State, event: Event) -> None:
    p = event.payload
    incident = _lifecycle(board, p)
    incident.update(team_id=None, acknowledged_at=None, waiting_since=p["declined_at"])
    _exclude(board, p["incident_id"], p["team_id"], f"declined: {p['reason']}")
    _change_load(board, p["team_id"], -1)


@projects("task.reassigned")
def task_reassigned(board: State, event: Event) -> None:
    p = event.payload
    incident = _lifecycle(board, p)
    incident.update(team_id=None, waiting_since=p["withdrawn_at"])
    _exclude(board, p["incident_id"], p["from_team_id"], p["reason"])
    _change_load(board, p["from_team_id"], -1)


@projects("incident.reassigned")
def incident_reassigned(board: State, event: Event) -> None:
    """The former team's task withdrawn by hand; the team.assigned that follows books the next."""
    p = event.payload
    incident = _lifecycle(board, p)
    incident.update(team_id=None, acknowledged_at=None, waiting_since=p["reassigned_at"])
    _change_load(board, p.get("from_team_id"), -1)


@projects("incident.escalated")
def incident_escalated(board: State, event: Event) -> None:
    _lifecycle(board, event.payload)["escalated"] = True


@projects("incident.cancelled")
def incident_cancelled(board: State, event: Event) -> None:
    p = event.payload
    _lifecycle(board, p, default_state="cancelled")["waiting_since"] = None
    _change_load(board, p.get("released_team_id"), -1)


@projects("incident.merged")
def incident_merged(board: State, event: Event) -> None:
    p = event.payload
    _lifecycle(board, p, default_state="merged").update(
        master_id=p["master_id"], waiting_since=None
    )


@projects("incident.unlinked")
def incident_unlinked(board: State, event: Event) -> None:
    incident = _lifecycle(board, event.payload)
    incident.update(master_id=None, waiting_since=event.occurred_at)


# --- the team registry ----------------------------------------------------------------------


@projects("team.registered")
def team_registered(board: State, event: Event) -> None:
    p = event.payload
    record = team_record(p)
    teams = board.rows("teams")
    if p["id"] in teams:
        teams[p["id"]].update(record)  # a changed record keeps the team's workload
    else:
        teams[p["id"]] = board.new_row("teams", **record, active_tasks=0)


@projects("team.retired")
def team_retired(board: State, event: Event) -> None:
    board.rows("teams").pop(event.payload["team_id"], None)


@projects("team.located")
def team_located(board: State, event: Event) -> None:
    p = event.payload
    team = board.rows("teams").get(p["team_id"])
    if team is not None:
        team.update(fix_lat=p["latitude"], fix_lon=p["longitude"], fix_at=p["located_at"])


@projects("team.story_added")
def team_story_added(board: State, event: Event) -> None:
    p = event.payload
    board.rows("team_stories")[p["story_id"]] = board.new_row(
        "team_stories",
        id=p["story_id"],
        **{name: p[name] for name in ("team_id", "title", "body", "actor", "added_at")},
        title_en=p.get("title_en", ""),
        body_en=p.get("body_en", ""),
    )


# --- notifications, tasks seen, duty (events/schemas/notifications.py) ----------------------


def _notice(board: State, incident_id: str, team_id: str) -> MutableMapping[str, Any]:
    """How a team was told of a task: its row, made at the first attempt (or sighting)."""
    notices = board.rows("task_notices")
    key = (incident_id, team_id)
    if key not in notices:
        notices[key] = board.new_row("task_notices", incident_id=incident_id, team_id=team_id)
    notice: MutableMapping[str, Any] = notices[key]
    return notice


@projects("notification.sent")
def notification_sent(board: State, event: Event) -> None:
    p = event.payload
    if p.get("team_id") is None:  # a supervisors' group told of an incident no team holds
        return
    notice = _notice(board, p["incident_id"], p["team_id"])
    notice["attempts"] += 1
    if notice["first_sent_at"] is None:
        notice["first_sent_at"] = event.occurred_at


@projects("notification.delivered")
def notification_delivered(board: State, event: Event) -> None:
    p = event.payload
    if p.get("team_id") is None:
        return
    notice = _notice(board, p["incident_id"], p["team_id"])
    if notice["notified_at"] is None:
        notice["notified_at"] = event.occurred_at


@projects("notification.failed")
def notification_failed(board: State, event: Event) -> None:
    p = event.payload
    if p.get("team_id") is None:
        return
    _notice(board, p["incident_id"], p["team_id"])["failures"] += 1


@projects("task.seen")
def task_seen(board: State, event: Event) -> None:
    p = event.payload
    notice = _notice(board, p["incident_id"], p["team_id"])
    if notice["seen_at"] is None:
        notice["seen_at"] = p["seen_at"]


@projects("member.duty_changed")
def member_duty_changed(board: State, event: Event) -> None:
    p = event.payload
    duty = board.rows("member_duty")
    values = {"team_id": p["team_id"], "on_duty": p["on_duty"], "changed_at": p["changed_at"]}
    if p["username"] in duty:
        duty[p["username"]].update(values)
    else:
        duty[p["username"]] = board.new_row("member_duty", username=p["username"], **values)


def apply(
    state: State,
    envelopes: Sequence[Envelope],
    payloads: Sequence[dict[str, Any]] | None = None,
) -> None:
    """Fold events as the live write side decides them. `payloads`, when given, are the
    envelopes' payloads as validated (a report from Kafka may leave fields to their defaults)."""
    if payloads is None:
        payloads = [envelope.payload for envelope in envelopes]
    for envelope, payload in zip(envelopes, payloads, strict=True):
        projector, newest = _route(envelope.type)
        if projector is None:
            continue
        if envelope.version != newest:
            payload = upcast_payload(envelope.type, envelope.version, payload, newest)
        occurred_at = envelope.occurred_at.isoformat()
        event = Event(0, envelope.event_id, envelope.type, occurred_at, envelope.producer, payload)
        projector(state, event)


# the storm day's folds, kept in their own module (storm_folds.py)
PROJECTORS.update(STORM_PROJECTORS)

# the weather alerts' events, known to replay and changing no rows (alert_folds.py)
from dispatch.service_layer.alert_folds import ALERT_PROJECTORS  # noqa: E402

PROJECTORS.update(ALERT_PROJECTORS)
