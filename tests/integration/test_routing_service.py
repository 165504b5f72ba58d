"""The routing service on every database backend, fed real records."""

from __future__ import annotations

from sqlalchemy import func, select

from dispatch.adapters.orm import AssignmentRow, DeadLetterRow, IncidentRow, OutboxRow, TeamRow
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import Record
from events.log import LoggedEvent
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from tests.integration.spine_helpers import incident, seed_teams, team


def as_record(services: Services, inc: object, offset: int) -> Record:
    payload = IncidentReported.model_validate(inc, from_attributes=True)
    envelope = envelope_for(payload, producer="t", key="wuhan", at=services.clock.now())
    return Record(topics.INCIDENTS, 0, offset, b"wuhan", envelope.to_bytes())


def test_batch_is_assigned_to_nearest_teams_with_events_and_outbox(services: Services) -> None:
    seed_teams(services, [team("near", 30.60, 114.30), team("far", 31.20, 114.30)])
    now = services.clock.now()
    records = [as_record(services, incident(i, 30.601, 114.301, now), i) for i in range(3)]
    outcome = handle_incident_records(services, records)
    assert (outcome.assigned, outcome.queued) == (3, 0)
    with services.reads() as session:
        teams = dict(
            session.execute(select(AssignmentRow.incident_id, AssignmentRow.team_id)).all()
        )
        assert sorted(teams.values()) == ["far", "near", "near"]  # near has capacity 2
        loads = dict(session.execute(select(TeamRow.id, TeamRow.active_tasks)).all())
        assert loads == {"near": 2, "far": 1}
        logged = session.scalars(
            select(LoggedEvent.type)
            .where(LoggedEvent.type.in_(["incident.reported", "team.assigned"]))
            .order_by(LoggedEvent.seq)
        ).all()
        assert logged == ["incident.reported"] * 3 + ["team.assigned"] * 3
        rules = set(session.scalars(select(AssignmentRow.rule)))
        assert rules <= {"grid_owner", "spill_over", "nearest"}
        announced = session.scalars(select(OutboxRow.value)).all()
        assert sum(b'"type":"team.assigned"' in v for v in announced) == 3


def test_redelivered_records_are_stored_once(services: Services) -> None:
    seed_teams(services, [team("near", 30.60, 114.30, capacity=5)])
    records = [as_record(services, incident(1, 30.6, 114.3, services.clock.now()), 0)]
    handle_incident_records(services, records)
    again = handle_incident_records(services, records)
    assert again.duplicates == 1 and again.assigned == 0
    with services.reads() as session:
        assert session.scalar(select(func.count()).select_from(IncidentRow)) == 1
        assert session.scalar(select(func.count()).select_from(AssignmentRow)) == 1


def test_incident_waits_in_queue_when_no_team_has_room(services: Services) -> None:
    seed_teams(services, [team("only", 30.60, 114.30, capacity=1)])
    now = services.clock.now()
    outcome = handle_incident_records(
        services, [as_record(services, incident(i, 30.6, 114.3, now), i) for i in range(2)]
    )
    assert (outcome.assigned, outcome.queued) == (1, 1)
    with services.reads() as session:
        states = sorted(session.scalars(select(IncidentRow.state)))
    assert states == ["assigned", "queued"]


def test_bad_records_are_dead_lettered_and_the_rest_routed(services: Services) -> None:
    seed_teams(services, [team("near", 30.60, 114.30, capacity=5)])
    good = as_record(services, incident(1, 30.6, 114.3, services.clock.now()), 1)
    bad = Record(topics.INCIDENTS, 0, 0, None, b"{garbage")
    outcome = handle_incident_records(services, [bad, good])
    assert (outcome.dead_lettered, outcome.assigned) == (1, 1)
    with services.reads() as session:
        letter = session.scalars(select(DeadLetterRow)).one()
        assert letter.offset == 0 and "invalid envelope" in letter.reason
        assert letter.value == b"{garbage"
