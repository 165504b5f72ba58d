"""Simulated load: incident bursts around the teams' patches, and teams that finish work."""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from uuid import uuid4

from sqlalchemy import select

from dispatch.adapters.orm import IncidentRow
from dispatch.service_layer.services import Services
from dispatch.service_layer.tasks import resolve_task
from events import topics
from events.kafka import KafkaPublisher, OutgoingMessage
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.errors import SupportsStillOpen
from models.hubei import area_class_at, region_of
from models.incident import Incident, IncidentKind, IncidentState, Priority, ReporterChannel
from models.team import Team

KIND_WEIGHTS: dict[IncidentKind, float] = {
    IncidentKind.REPAIR: 0.45,
    IncidentKind.OUTAGE: 0.25,
    IncidentKind.VULNERABLE_ASSISTANCE: 0.12,
    IncidentKind.EQUIPMENT_CHECK: 0.10,
    IncidentKind.DISASTER_RELIEF: 0.08,
}
PRIORITY_OF_KIND: dict[IncidentKind, Priority] = {
    IncidentKind.DISASTER_RELIEF: Priority.CRITICAL,
    IncidentKind.VULNERABLE_ASSISTANCE: Priority.HARDSHIP,
    IncidentKind.EQUIPMENT_CHECK: Priority.LOW,
}
# how a run makes its reports: (count, reported at, seed, run id) to incidents
IncidentMaker = Callable[[int, datetime, int, str], list[Incident]]


def simulated_incidents(
    teams: Sequence[Team],
    count: int,
    at: datetime,
    seed: int = 7,
    spread_km: float = 8.0,
    run: str = "",
    kind_weights: Mapping[IncidentKind, float] = KIND_WEIGHTS,
) -> list[Incident]:
    """`count` reports scattered around the teams' home bases, as a storm would bring them.

    The same seed gives the same places; `run` keeps ids unique across repeated runs.
    """
    rng = random.Random(seed)
    prefix = f"sim-{run or uuid4().hex[:8]}"
    kinds, weights = zip(*kind_weights.items(), strict=True)
    incidents = []
    for n in range(count):
        home = rng.choice(teams).home
        distance, bearing = abs(rng.gauss(0, spread_km)), rng.uniform(0, 2 * math.pi)
        lat = home.latitude + distance * math.cos(bearing) / 111.0
        lon = home.longitude + distance * math.sin(bearing) / (111.0 * math.cos(math.radians(lat)))
        kind = rng.choices(kinds, weights)[0]
        incidents.append(
            Incident(
                id=f"{prefix}-{n:06d}",
                kind=kind,
                priority=PRIORITY_OF_KIND.get(kind, Priority.NORMAL),
                latitude=round(lat, 6),
                longitude=round(lon, 6),
                address=f"simulated report {n}",
                area_class=area_class_at(lat, lon),
                channel=rng.choice(list(ReporterChannel)),
                region=region_of(lat, lon),
                reported_at=at,
            )
        )
    return incidents


def publish_reports(
    publisher: KafkaPublisher, incidents: Iterable[Incident], producer: str, at: datetime
) -> int:
    """Send incidents to the incident topic as the call centre would, stamped `at`."""
    messages = []
    for incident in incidents:
        reported = IncidentReported(**incident.model_copy(update={"reported_at": at}).model_dump())
        envelope = envelope_for(reported, producer=producer, key=incident.partition_key, at=at)
        messages.append(OutgoingMessage(topics.INCIDENTS, envelope.key, envelope.to_bytes()))
    return publisher.publish(messages)


def finish_due_tasks(services: Services, work: timedelta, limit: int = 500) -> int:
    """Simulated crews: every task assigned longer ago than `work` is resolved (a lead task
    once its support tasks are: until then it is left for a later call)."""
    due_before = services.clock.now() - work
    with services.reads() as session:
        due = session.execute(
            select(IncidentRow.id, IncidentRow.team_id)
            .where(IncidentRow.state == IncidentState.ASSIGNED.value)
            .where(IncidentRow.assigned_at <= due_before)
            .limit(limit)
        ).all()
    for incident_id, team_id in due:
        with suppress(SupportsStillOpen):
            resolve_task(services, incident_id, str(team_id), notes="simulated crew")
    return len(due)
