"""Times a person reads are in Asia/Shanghai: the timeline's words (the audit pages, the audit
CLI and export) and the CLI's incident card show an event's UTC times as Shanghai time."""

from __future__ import annotations

from dispatch.entrypoints.cli.ops import _details
from dispatch.views.timeline import describe
from models.local_time import shown_in_shanghai


def test_an_events_utc_time_reads_as_shanghai_time_and_other_values_stay() -> None:
    assert shown_in_shanghai("2026-07-01T06:03:00Z") == "2026-07-01 14:03:00+08:00"
    assert shown_in_shanghai("2026-06-30T23:30:00.123456+00:00") == "2026-07-01 07:30:00+08:00"
    for kept in ("2026-07-01T06:03:00", "HB-WH-001", "replaced the fuse", 3, None):
        assert shown_in_shanghai(kept) == kept  # no zone, or no time at all


def test_the_timeline_and_the_incident_card_show_shanghai_time() -> None:
    payload = {
        "incident_id": "inc-1",
        "team_id": "HB-WH-001",
        "acknowledged_at": "2026-07-01T06:03:00Z",
    }
    assert describe("task.acknowledged", payload) == (
        "team_id=HB-WH-001, acknowledged_at=2026-07-01 14:03:00+08:00"
    )
    assert _details({"acknowledged_at": "2026-07-01T06:03:00Z"}) == (
        'acknowledged_at="2026-07-01 14:03:00+08:00"'
    )
