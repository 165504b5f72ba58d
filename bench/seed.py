"""Open incidents written straight into the database: the earlier hours of a storm, in seconds.

Routing 100,000 incidents through Kafka takes longer than `make bench` may on a small machine,
so the memory scenario stands the earlier hours in with rows of the incidents table, assigned
and open, reported in the last minutes (so storm grouping sees them). They have no events,
SLA clocks or assignment rows: the dispatcher's memory and its per-batch reads of open
incidents are what this exercises.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import cycle

from sqlalchemy import insert
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.orm import IncidentRow
from models.hubei import hubei_registry
from models.incident import Incident, IncidentState

CHUNK = 5_000


def seed_open_incidents(
    sessions: sessionmaker[Session], incidents: Sequence[Incident], at: datetime
) -> int:
    """Insert `incidents` as assigned (teams in turn) and open; returns how many."""
    teams = cycle(t.id for t in hubei_registry())
    rows = [
        {
            **incident.model_dump(mode="python"),
            "reported_at": at,
            "state": IncidentState.ASSIGNED.value,
            "team_id": next(teams),
            "assigned_at": at,
            "report_event_id": f"seeded-{incident.id}",
        }
        for incident in incidents
    ]
    for start in range(0, len(rows), CHUNK):
        with sessions.begin() as session:  # short transactions: the dispatcher writes too
            session.execute(insert(IncidentRow), rows[start : start + CHUNK])
    return len(rows)
