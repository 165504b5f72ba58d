"""The auditor's timeline CSV keeps text that starts like a formula as text (CSV injection)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from dispatch.entrypoints.api.audit_answers import IncidentTimeline, TimelineStep, timeline_csv

FORMULAS = ("=cmd|' /C calc'!A0", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1")


def test_timeline_csv_cells_that_start_like_a_formula_get_a_leading_apostrophe() -> None:
    steps = [
        TimelineStep(
            seq=n,
            at=datetime(2026, 12, 1, tzinfo=UTC),
            type="incident.reported",
            version=1,
            actor=f,
            what=f,
            payload={},
            hash="h",
        )
        for n, f in enumerate(FORMULAS, start=1)
    ]
    text = timeline_csv(IncidentTimeline(incident_id="inc-1", events=steps))

    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [(r["actor"], r["what"]) for r in rows] == [(f"'{f}", f"'{f}") for f in FORMULAS]
    assert rows[0]["seq"] == "1" and rows[0]["type"] == "incident.reported"
