"""The naive baseline: one Prefect flow run per incident, geopy brute force over every team.

Not the product. It keeps the product's guarantees (one transaction with the incident, the
assignment, the team load, the event log and the outbox; offsets committed after it) and
drops only the two things the design is about: micro-batches and a cheap candidate pass.
Run as its own process, like `everycall dispatcher`: `python -m bench.naive`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal

from geopy.distance import geodesic
from kafka.errors import CommitFailedError
from prefect import flow
from sqlalchemy import select

from dispatch import bootstrap
from dispatch.adapters.orm import AssignmentRow, IncidentRow, TeamRow
from dispatch.adapters.outbox import relay, stage
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import KafkaBatchConsumer, Record
from events.schemas import decode_payload, envelope_for, parse_envelope
from events.schemas.incidents import IncidentReported
from events.schemas.tasks import TeamAssigned
from flows.dispatcher import prefect_ready
from flows.handoff import Handoff
from models.incident import Incident, IncidentState
from models.team import SKILL_FOR_KIND, TeamStatus

GROUP = "naive-baseline"


def nearest_by_brute_force(teams: list[TeamRow], incident: Incident) -> tuple[TeamRow, float]:
    """Geodesic distance to every eligible team; the smallest wins."""
    skill = SKILL_FOR_KIND[incident.kind].value
    eligible = [
        t
        for t in teams
        if t.status == TeamStatus.AVAILABLE.value
        and t.active_tasks < t.capacity
        and skill in t.skills.split(",")
    ]
    here = (incident.latitude, incident.longitude)
    return min(
        ((t, geodesic(here, (t.home_lat, t.home_lon)).km) for t in eligible),
        key=lambda pair: pair[1],
    )


SERVICES: Handoff[Services] = Handoff()


@flow(name="naive-route-one-incident", log_prints=False, validate_parameters=False)
async def route_one(services_ticket: int, raw: str) -> str:
    """Store and assign one incident, then publish its team.assigned."""
    services = SERVICES.get(services_ticket)
    envelope = parse_envelope(raw.encode())
    payload = decode_payload(envelope)
    assert isinstance(payload, IncidentReported)
    incident, now = payload.to_incident(), services.clock.now()
    with services.sessions.begin() as session:
        team, km = nearest_by_brute_force(list(session.scalars(select(TeamRow))), incident)
        assigned = TeamAssigned(
            incident_id=incident.id, team_id=team.id, assigned_at=now, distance_km=km,
            rule="nearest", explanation=[{"team_id": team.id, "distance_km": round(km, 3)}],
        )  # fmt: skip
        session.add(
            IncidentRow(
                **incident.model_dump(mode="python"),
                state=IncidentState.ASSIGNED.value,
                team_id=team.id,
                assigned_at=now,
                report_event_id=envelope.event_id,
            )
        )
        session.add(AssignmentRow(**assigned.model_dump()))
        team.active_tasks += 1
        announced = envelope_for(
            assigned, producer="naive-baseline", key=incident.partition_key, at=now
        )
        services.event_log.append(session, [envelope, announced])
        stage(session, topics.ASSIGNMENTS, announced, now)
    relay(services.sessions, services.publisher)
    return team.id


async def run_naive(services: Services, stopping: asyncio.Event) -> None:
    await prefect_ready()
    consumer = KafkaBatchConsumer(
        services.bootstrap_servers, [topics.INCIDENTS], GROUP, max_poll_interval_ms=30_000
    )
    try:
        with SERVICES.handed(services) as ticket:  # flow parameters go to the Prefect API
            while not stopping.is_set():
                for record in consumer.poll_batch(timeout_ms=50, max_records=1):
                    if not already_stored(services, record):
                        await route_one(ticket, (record.value or b"").decode())
                    with contextlib.suppress(CommitFailedError):  # redelivered, then skipped
                        consumer.commit([record])
                await asyncio.sleep(0)
    finally:
        consumer.close()


def already_stored(services: Services, record: Record) -> bool:
    """A redelivered record (after a rebalance) whose incident is already in the database."""
    incident_id = json.loads(record.value or b"{}").get("payload", {}).get("id")
    if not incident_id:
        return False
    with services.reads() as session:
        return session.get(IncidentRow, incident_id) is not None


def main() -> None:
    with bootstrap.running() as services:

        async def until_interrupted() -> None:
            stopping = asyncio.Event()
            for stop_signal in (signal.SIGINT, signal.SIGTERM):
                asyncio.get_running_loop().add_signal_handler(stop_signal, stopping.set)
            await run_naive(services, stopping)

        asyncio.run(until_interrupted())


if __name__ == "__main__":
    main()
