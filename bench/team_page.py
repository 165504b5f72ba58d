"""The public team page's cost on a busy month: a SQLite log holding `--assignments` tasks this
month (each assigned, acknowledged after a minute and on site after ten) spread over the 310
Hubei teams, then one team's page (Accept: text/html) asked for `--runs` times through the API.

The page's record reads only the log events of the incidents the team was given; the whole
month's ledger (`read_ledger`, what `/reports/ledger` reads) is timed beside it for comparison.
The last line is JSON with `events`, `page_s_median` and `whole_ledger_s_median`.

    .venv/bin/python bench/team_page.py [--assignments N] [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fastapi.testclient import TestClient

from dispatch import bootstrap
from dispatch.adapters.orm import AssignmentRow
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.registry import replace_registry
from dispatch.service_layer.services import Services
from dispatch.views.ledger import Month, read_ledger
from events.envelope import Envelope
from events.log import SqlEventLog
from models.hubei import hubei_registry

STEPS = (
    ("team.assigned", "assigned_at", 0),
    ("task.acknowledged", "acknowledged_at", 60),
    ("task.arrived", "arrived_at", 600),
)


def a_busy_month(services: Services, assignments: int) -> int:
    """Log `assignments` tasks over the registry's teams; returns the events logged."""
    teams = hubei_registry()
    now = services.clock.now()
    with services.sessions.begin() as session:
        replace_registry(session, teams, now)
    start = now - timedelta(hours=12)
    envelopes, rows = [], []
    for n in range(assignments):
        team_id, at, incident_id = teams[n % len(teams)].id, start + timedelta(seconds=n), f"i{n}"
        rows.append(
            {"incident_id": incident_id, "team_id": team_id, "assigned_at": at}
            | {"distance_km": 1.0, "rule": "nearest", "explanation": []}
        )
        for event_type, field, after_s in STEPS:
            payload = {"incident_id": incident_id, "team_id": team_id}
            payload[field] = (at + timedelta(seconds=after_s)).isoformat()
            envelopes.append(
                Envelope(
                    type=event_type,
                    version=1,
                    occurred_at=at,
                    producer="bench",
                    key="x",
                    payload=payload,
                )
            )
    with services.sessions.begin() as session:
        session.bulk_insert_mappings(AssignmentRow, rows)
        for chunk in range(0, len(envelopes), 5_000):
            SqlEventLog().append(session, envelopes[chunk : chunk + 5_000])
    return len(envelopes)


def timed(action: Callable[[], object], runs: int) -> float:
    seconds = []
    for _ in range(runs):
        begun = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - begun)
    return round(median(seconds), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignments", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["EVERYCALL_DATABASE_URL"] = f"sqlite:///{folder}/team-page.db"
        with bootstrap.database() as services:
            events = a_busy_month(services, args.assignments)
            team_id, now = hubei_registry()[0].id, services.clock.now()
            app = create_app(lambda: nullcontext(services), run_relay=False)
            with TestClient(app) as client:

                def page() -> None:
                    answer = client.get(f"/teams/{team_id}", headers={"Accept": "text/html"})
                    assert answer.status_code == 200, answer.text

                page_s = timed(page, args.runs)

            def whole_ledger() -> None:
                with services.reads() as session:
                    read_ledger(session, Month.of(now), team_id, now)

            ledger_s = timed(whole_ledger, args.runs)
    print(
        json.dumps({"events": events, "page_s_median": page_s, "whole_ledger_s_median": ledger_s})
    )


if __name__ == "__main__":
    main()
