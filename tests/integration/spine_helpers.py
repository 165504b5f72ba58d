"""Small builders shared by the integration tests."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from dispatch.service_layer.registry import replace_registry
from dispatch.service_layer.services import Services
from dispatch.simulation.load import publish_reports
from events import topics
from events.kafka import KafkaBatchConsumer, Record
from models.incident import Incident, IncidentKind
from models.team import GeoPoint, Team

WUHAN = (30.5928, 114.3055)


def team(team_id: str, lat: float, lon: float, capacity: int = 2) -> Team:
    return Team(
        id=team_id,
        name=f"Team {team_id}",
        region="wuhan",
        home=GeoPoint(latitude=lat, longitude=lon),
        members=5,
        party_members=4,
        capacity=capacity,
    )


def seed_teams(services: Services, teams: Sequence[Team]) -> None:
    with services.sessions.begin() as session:
        replace_registry(session, teams, services.clock.now())


def incident(n: int, lat: float, lon: float, at: datetime, kind: str = "repair") -> Incident:
    return Incident(
        id=f"inc-{n:05d}",
        kind=IncidentKind(kind),
        latitude=lat,
        longitude=lon,
        region="wuhan",
        reported_at=at,
    )


def report(services: Services, incidents: Sequence[Incident]) -> None:
    publish_reports(services.publisher, incidents, "test", services.clock.now())


def read_topic(
    services: Services, topic: str, expected: int, timeout_s: float = 20
) -> list[Record]:
    """Every record of `topic` until `expected` arrived (or the timeout)."""
    import time

    consumer = KafkaBatchConsumer(
        services.bootstrap_servers,
        [topic],
        f"reader-{topic}-{time.time()}",
        max_poll_interval_ms=3000,
    )
    got: list[Record] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < expected and time.monotonic() < deadline:
            got += consumer.poll_batch(200, 1000)
    finally:
        consumer.close()
    return got


def payload_types(records: Sequence[Record]) -> list[str]:
    return [json.loads(r.value or b"{}").get("type", "?") for r in records]


__all__ = [
    "WUHAN",
    "incident",
    "payload_types",
    "read_topic",
    "report",
    "seed_teams",
    "team",
    "topics",
]
