"""Decoding skips the walk for NUL characters when the raw JSON cannot hold one, and still
refuses every record that does (the database could not store it)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import cast

from dispatch.service_layer.intake import decode_records, may_hold_nul
from events import topics
from events.kafka import Record
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.incident import Incident, IncidentKind

NOW = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def reported(address: str = "Jiefang Avenue") -> dict[str, object]:
    incident = Incident(
        kind=IncidentKind.REPAIR, latitude=30.59, longitude=114.30, address=address, reported_at=NOW
    )
    payload = IncidentReported(**incident.model_dump())
    envelope = envelope_for(payload, producer="test", key="wuhan", at=NOW)
    document: dict[str, object] = envelope.model_dump(mode="json")
    return document


def record(document: dict[str, object]) -> Record:
    return Record(topics.INCIDENTS, 0, 0, b"wuhan", json.dumps(document).encode())


def test_only_an_escaped_nul_can_hold_one() -> None:
    assert may_hold_nul(json.dumps({"a": "x\x00y"}).encode())
    assert may_hold_nul(json.dumps({"a\x00": 1}, ensure_ascii=False).encode())
    assert not may_hold_nul(json.dumps({"a": "xy \\ u0000"}).encode())
    assert not may_hold_nul(None)


def test_a_nul_anywhere_is_still_refused() -> None:
    nested = reported()
    payload = dict(cast(dict[str, object], nested["payload"]))
    payload["extra\x00key"] = 1
    nested["payload"] = payload
    batch = decode_records([record(reported("Jiefang\x00Avenue")), record(nested)], NOW)
    assert batch.reports == []
    assert all("NUL" in r.reason for r in batch.rejected), [r.reason for r in batch.rejected]


def test_a_clean_report_is_decoded() -> None:
    batch = decode_records([record(reported())], NOW)
    assert [i.address for _, i in batch.reports] == ["Jiefang Avenue"]
