"""What the estimates cost the board's first read: `GET /board/open` with 10,000 open
incidents (routed for real on a fresh SQLite database: 310 teams with 930 places, the rest
queued), without the estimates, with them computed afresh, and with them kept from a read
at the same log head. Prints one JSON line last."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any
from unittest import mock

from fastapi.testclient import TestClient

from dispatch import bootstrap
from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.registry import replace_registry
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.simulation.load import simulated_incidents
from dispatch.views import estimates
from events import topics
from events.kafka import Record
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.clock import ManualClock
from models.hubei import hubei_registry
from models.sla import SlaPolicy


def seed(services: Services, count: int) -> None:
    teams = hubei_registry()
    with services.sessions.begin() as session:
        replace_registry(session, teams, services.clock.now())
    storm = simulated_incidents(teams, count, services.clock.now(), seed=7, run="bench")
    for start in range(0, count, 1000):
        records = []
        for n, incident in enumerate(storm[start : start + 1000], start):
            payload = IncidentReported(**incident.model_dump())
            at = services.clock.now()
            envelope = envelope_for(payload, producer="bench", key=incident.region, at=at)
            records.append(Record(topics.INCIDENTS, 0, n, None, envelope.to_bytes()))
        handle_incident_records(services, records)


def timed(client: TestClient, auth: dict[str, str], runs: int, before: Any = None) -> float:
    best = float("inf")
    for _ in range(runs):
        if before is not None:
            before()
        started = time.perf_counter()
        answer = client.get("/board/open", headers=auth)
        best = min(best, time.perf_counter() - started)
        assert answer.status_code == 200, answer.text
    return round(best * 1000, 1)


def measure(services: Services, runs: int) -> dict[str, Any]:
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with services.sessions.begin() as session:
        auth = {"Authorization": f"Bearer {create_token(session, Role.AUDITOR)}"}
    with TestClient(app) as client:
        with mock.patch("dispatch.entrypoints.api.open_board.open_estimates", return_value={}):
            without = timed(client, auth, runs)
        fresh = timed(client, auth, runs, before=estimates._kept.clear)
        kept = timed(client, auth, runs)
        body = client.get("/board/open", headers=auth).json()
    with services.reads() as session:
        started = time.perf_counter()
        found = estimates.compute_estimates(
            session, services.clock.now(), services.settings.routing, SlaPolicy()
        )
        compute_ms = round((time.perf_counter() - started) * 1000, 1)
    return {
        "open": len(body["incidents"]),
        "estimated": sum(1 for r in body["incidents"] if r[-2] is not None),
        "without_estimates_ms": without,
        "with_estimates_fresh_ms": fresh,
        "with_estimates_kept_ms": kept,
        "compute_estimates_ms": compute_ms,
        "estimates": len(found),
        "bytes": len(json.dumps(body)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=10_000, help="open incidents")
    parser.add_argument("--runs", type=int, default=5, help="reads per figure (best kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        settings = Settings(database_url=f"sqlite:///{Path(work) / 'bench.db'}", storm_radius_m=0.0)
        with bootstrap.running(settings, clock=ManualClock()) as services:
            seed(services, args.open)
            figures = measure(services, args.runs)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
