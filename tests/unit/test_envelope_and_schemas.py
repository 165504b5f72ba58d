"""The envelope and the schema registry: round trips, upcasting and clear rejections."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from events.envelope import ENVELOPE_LIMIT_BYTES, Envelope
from events.schemas import (
    EventPayload,
    EventRejected,
    decode_payload,
    envelope_for,
    parse_envelope,
    register,
    register_upcaster,
)
from events.schemas.incidents import IncidentReported

AT = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def reported(**overrides: Any) -> IncidentReported:
    fields: dict[str, Any] = {
        "id": "inc-1",
        "kind": "repair",
        "latitude": 30.59,
        "longitude": 114.31,
        "region": "wuhan",
        "reported_at": AT,
    }
    return IncidentReported(**{**fields, **overrides})


def test_envelope_round_trips_through_bytes() -> None:
    envelope = envelope_for(reported(), producer="test", key="wuhan", at=AT)
    again = parse_envelope(envelope.to_bytes())
    assert again == envelope
    assert decode_payload(again) == reported()
    assert again.qualified_type == "incident.reported.v1"


def test_canonical_json_is_key_sorted_and_stable() -> None:
    envelope = envelope_for(reported(), producer="test", key="wuhan", at=AT)
    canonical = envelope.canonical_json()
    assert canonical == envelope.canonical_json()
    assert list(json.loads(canonical)) == sorted(json.loads(canonical))
    assert " " not in canonical.replace("simulated", "")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json at all", "invalid envelope"),
        (b'{"event_id": "x"', "invalid envelope"),
        (None, "tombstone"),
        (b"x" * (ENVELOPE_LIMIT_BYTES + 1), "exceeds"),
    ],
)
def test_unreadable_records_are_rejected_with_a_reason(raw: bytes | None, reason: str) -> None:
    with pytest.raises(EventRejected, match=reason):
        parse_envelope(raw)


def test_unknown_type_and_version_are_rejected_by_name() -> None:
    good = envelope_for(reported(), producer="test", key="wuhan", at=AT)
    unknown_type = good.model_copy(update={"type": "incident.teleported"})
    with pytest.raises(EventRejected, match=r"unknown event type 'incident\.teleported'"):
        decode_payload(unknown_type)
    future = good.model_copy(update={"version": 99})
    with pytest.raises(EventRejected, match=r"unknown version incident.reported.v99"):
        decode_payload(future)


def test_impossible_coordinates_are_rejected_naming_the_field() -> None:
    good = envelope_for(reported(), producer="test", key="wuhan", at=AT)
    bad = good.model_copy(update={"payload": {**good.payload, "latitude": 123.0}})
    with pytest.raises(EventRejected, match="latitude"):
        decode_payload(bad)


def test_missing_payload_field_is_rejected_naming_the_field() -> None:
    good = envelope_for(reported(), producer="test", key="wuhan", at=AT)
    payload = {k: v for k, v in good.payload.items() if k != "kind"}
    with pytest.raises(EventRejected, match="kind"):
        decode_payload(good.model_copy(update={"payload": payload}))


def test_old_versions_are_upcast_on_read() -> None:
    @register
    class ProbeV1(EventPayload):
        TYPE: ClassVar[str] = "probe.happened"
        VERSION: ClassVar[int] = 1
        name: str

    @register
    class ProbeV2(EventPayload):
        TYPE: ClassVar[str] = "probe.happened"
        VERSION: ClassVar[int] = 2
        full_name: str

    @register_upcaster("probe.happened", 1)
    def _rename(payload: dict[str, Any]) -> dict[str, Any]:
        return {"full_name": payload["name"].title()}

    old = Envelope(
        type="probe.happened",
        version=1,
        occurred_at=AT,
        producer="t",
        key="k",
        payload={"name": "li lei"},
    )
    assert decode_payload(old) == ProbeV2(full_name="Li Lei")
    assert ProbeV1(name="x").VERSION == 1
