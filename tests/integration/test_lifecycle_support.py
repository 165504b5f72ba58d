"""Builders shared by the lifecycle, watchdog and grouping tests (this module holds no test)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from sqlalchemy import select

from dispatch.adapters.orm import IncidentRow, SlaClockRow, TeamRow
from dispatch.service_layer import tasks
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.routing import BatchOutcome, handle_incident_records
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import Record
from events.log import LoggedEvent
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.incident import Incident
from tests.integration.spine_helpers import incident, seed_teams, team

DESK = Caller(Role.DISPATCHER, name="desk-1")
_offsets = itertools.count()


def crew(team_id: str) -> Caller:
    return Caller(Role.TEAM, team_id=team_id, name=f"crew of {team_id}")


def route(services: Services, incidents: Sequence[Incident] = ()) -> BatchOutcome:
    """One routing pass, fed real incident records (an empty pass routes the queue)."""
    records = []
    for inc in incidents:
        payload = IncidentReported(**inc.model_dump())
        envelope = envelope_for(payload, producer="t", key=inc.region, at=services.clock.now())
        records.append(Record(topics.INCIDENTS, 0, next(_offsets), b"k", envelope.to_bytes()))
    return handle_incident_records(services, records)


def one_busy_one_waiting(services: Services) -> tuple[Incident, Incident]:
    """One team of capacity 1 near two reports: it takes and acknowledges the first, the
    second waits in the queue."""
    seed_teams(services, [team("only", 30.60, 114.30, capacity=1)])
    now = services.clock.now()
    first, second = incident(1, 30.60, 114.30, now), incident(2, 30.61, 114.31, now)
    route(services, [first, second])
    tasks.acknowledge(services, first.id, crew("only"))
    return first, second


def incident_row(services: Services, incident_id: str) -> IncidentRow:
    with services.reads() as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None
        return row


def team_row(services: Services, team_id: str) -> TeamRow:
    with services.reads() as session:
        row = session.get(TeamRow, team_id)
        assert row is not None
        return row


def clocks(services: Services, incident_id: str) -> list[SlaClockRow]:
    with services.reads() as session:
        return list(
            session.scalars(
                select(SlaClockRow)
                .where(SlaClockRow.incident_id == incident_id)
                .order_by(SlaClockRow.id)
            )
        )


def clock_row(services: Services, incident_id: str, kind: str, attempt: int = 1) -> SlaClockRow:
    found = [c for c in clocks(services, incident_id) if (c.kind, c.attempt) == (kind, attempt)]
    assert len(found) == 1, f"no {kind} clock #{attempt} on {incident_id}"
    return found[0]


def event_types(services: Services, incident_id: str) -> list[str]:
    with services.reads() as session:
        return list(
            session.scalars(
                select(LoggedEvent.type)
                .where(LoggedEvent.subject == incident_id)
                .order_by(LoggedEvent.seq)
            )
        )


def payloads(services: Services, incident_id: str, event_type: str) -> list[dict[str, object]]:
    import json

    with services.reads() as session:
        rows = session.scalars(
            select(LoggedEvent.envelope)
            .where(LoggedEvent.subject == incident_id)
            .where(LoggedEvent.type == event_type)
            .order_by(LoggedEvent.seq)
        )
        return [json.loads(r)["payload"] for r in rows]
