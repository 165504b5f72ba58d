"""Accepting reports from the dispatch center, turning consumed records into incidents, and bad
records into dead letters."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dispatch.adapters.orm import DeadLetterRow, IdempotencyKeyRow
from dispatch.adapters.outbox import stage, stage_raw
from dispatch.service_layer.access import Caller, check_may_report
from dispatch.service_layer.services import Services
from events import topics
from events.envelope import Envelope
from events.kafka import Record
from events.schemas import EventRejected, decode_payload, envelope_for, parse_envelope
from events.schemas.incidents import IncidentReported
from models.errors import DomainError
from models.hubei import DIVISION_BY_CODE, area_class_at, region_of
from models.incident import AreaClass, Incident, IncidentKind, Priority, ReporterChannel

INTAKE_PRODUCER = "everycall-intake"
# Hubei spans about 29.0-33.3 N and 108.3-116.1 E; a degree of margin covers the border areas.
SERVICE_LATITUDES = (28.0, 34.3)
SERVICE_LONGITUDES = (107.3, 117.1)
# How far a consumed report's reported_at may lie from its receipt (clock skew, replays, typos).
REPORTED_AT_MAX_AHEAD = timedelta(days=1)
REPORTED_AT_MAX_AGE = timedelta(days=30)


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key came with a different report."""


class IncidentReport(BaseModel):
    """A call for help as the dispatch center enters it; the id and time are set on receipt."""

    model_config = ConfigDict(extra="forbid")

    kind: IncidentKind
    # The bounds in the OpenAPI schema are the service area's, so clients (and schemathesis)
    # know what is accepted; the validators below say so in words.
    latitude: float = Field(
        ge=-90,
        le=90,
        allow_inf_nan=False,
        description="WGS84 degrees, within the service area",
        json_schema_extra={"minimum": SERVICE_LATITUDES[0], "maximum": SERVICE_LATITUDES[1]},
    )
    longitude: float = Field(
        ge=-180,
        le=180,
        allow_inf_nan=False,
        description="WGS84 degrees, within the service area",
        json_schema_extra={"minimum": SERVICE_LONGITUDES[0], "maximum": SERVICE_LONGITUDES[1]},
    )
    priority: Priority = Priority.NORMAL
    # no NUL: the database cannot store it, and the dispatcher would dead-letter the report
    address: str = Field(default="", max_length=500, pattern=r"^[^\x00]*$")
    area_class: AreaClass | None = Field(
        default=None, description="derived from the place if unset"
    )
    region: str | None = Field(
        default=None,
        max_length=64,
        description="division code; derived from the place if unset",
        json_schema_extra={"enum": [*sorted(DIVISION_BY_CODE), None]},
    )
    channel: ReporterChannel = ReporterChannel.PHONE_95598

    @field_validator("latitude")
    @classmethod
    def _latitude_in_service_area(cls, value: float) -> float:
        return _within(value, SERVICE_LATITUDES, "latitude")

    @field_validator("longitude")
    @classmethod
    def _longitude_in_service_area(cls, value: float) -> float:
        return _within(value, SERVICE_LONGITUDES, "longitude")

    @field_validator("region")
    @classmethod
    def _known_region(cls, value: str | None) -> str | None:
        if value is not None and value not in DIVISION_BY_CODE:
            raise ValueError(
                f"unknown region {value!r}; known: {', '.join(sorted(DIVISION_BY_CODE))}"
            )
        return value

    def to_incident(self, at: datetime) -> Incident:
        lat, lon = self.latitude, self.longitude
        return Incident(
            kind=self.kind,
            priority=self.priority,
            latitude=lat,
            longitude=lon,
            address=self.address,
            area_class=self.area_class or area_class_at(lat, lon),
            channel=self.channel,
            region=self.region or region_of(lat, lon),
            reported_at=at,
        )

    def digest(self) -> str:
        """Same report, same digest: tells a client's retry from a reused key."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()


def _within(value: float, bounds: tuple[float, float], name: str) -> float:
    low, high = bounds
    if not low <= value <= high:
        raise ValueError(f"{name} {value} is outside the service area ({low} to {high})")
    return value


def accept_report(
    services: Services, report: IncidentReport, caller: Caller, idempotency_key: str | None
) -> str:
    """Stage the `incident.reported` event in the outbox and return the new incident's id.

    Nothing here talks to Kafka: the relay publishes, the dispatcher stores. A repeated
    idempotency key returns the first request's id and stages nothing.
    """
    check_may_report(caller)
    try:
        return _stage_report(services, report, idempotency_key)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent request with the same key committed first: answer with its id.
        return _stage_report(services, report, idempotency_key)


def _stage_report(services: Services, report: IncidentReport, key: str | None) -> str:
    now = services.clock.now()
    with services.sessions.begin() as session:
        if key is not None:
            known = session.get(IdempotencyKeyRow, key)
            if known is not None:
                if known.request_hash != report.digest():
                    raise IdempotencyKeyReused(
                        f"Idempotency-Key {key!r} was used for another report"
                    )
                return known.incident_id
        incident = report.to_incident(now)
        reported = IncidentReported(**incident.model_dump())
        envelope = envelope_for(
            reported, producer=INTAKE_PRODUCER, key=incident.partition_key, at=now
        )
        stage(session, topics.INCIDENTS, envelope, now)
        if key is not None:
            session.add(
                IdempotencyKeyRow(
                    key=key, request_hash=report.digest(), incident_id=incident.id, created_at=now
                )
            )
    return incident.id


@dataclass
class Rejected:
    record: Record
    reason: str


@dataclass
class DecodedBatch:
    reports: list[tuple[Envelope, Incident]] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)


def decode_records(records: Sequence[Record], received_at: datetime) -> DecodedBatch:
    """Split a batch into incident reports and records to dead-letter, keeping order."""
    batch = DecodedBatch()
    for record in records:
        try:
            envelope = parse_envelope(record.value)
            if may_hold_nul(record.value):
                check_text(envelope.model_dump())
            check_reported_at(envelope.occurred_at, received_at, "occurred_at")
            payload = decode_payload(envelope)
            if not isinstance(payload, IncidentReported):
                raise EventRejected(f"{envelope.qualified_type} is not handled on {record.topic}")
            incident = payload.to_incident()
            check_reported_at(incident.reported_at, received_at, "payload.reported_at")
            check_service_area(incident)
            batch.reports.append((envelope, incident))
        except EventRejected as rejection:
            batch.rejected.append(Rejected(record, rejection.reason))
    return batch


def may_hold_nul(raw: bytes | None) -> bool:
    """Whether JSON text can decode to a string with a NUL: only through the escape \\u0000
    (the parser refuses a raw control character), so most records skip the walk of
    `check_text` (it was a tenth of decoding)."""
    return raw is not None and b"\\u0000" in raw


def check_reported_at(at: datetime, received_at: datetime, field: str) -> None:
    """A report dated far ahead of its receipt, or long before it, is a producer's clock or
    data error: routing it would skew queue order and SLA clocks, so it is dead-lettered."""
    if at > received_at + REPORTED_AT_MAX_AHEAD:
        raise EventRejected(
            f"{field}: {at.isoformat()} is more than {_days(REPORTED_AT_MAX_AHEAD)} after "
            f"its receipt ({received_at.isoformat()})"
        )
    if at < received_at - REPORTED_AT_MAX_AGE:
        raise EventRejected(
            f"{field}: {at.isoformat()} is more than {_days(REPORTED_AT_MAX_AGE)} before "
            f"its receipt ({received_at.isoformat()})"
        )


def check_service_area(incident: Incident) -> None:
    """The same area the API accepts: a report far outside it (0, 0 from a lost fix, or a
    `false` read as 0) has no team to go to."""
    try:
        _within(incident.latitude, SERVICE_LATITUDES, "latitude")
        _within(incident.longitude, SERVICE_LONGITUDES, "longitude")
    except ValueError as error:
        raise EventRejected(f"payload.{error}") from error


def check_text(value: object, where: str = "") -> None:
    """No NUL in any string, key or value: PostgreSQL refuses it in text, so it would fail the
    whole batch's commit. (JSON with an unpaired surrogate is refused by the parser already.)"""
    if isinstance(value, str):
        if "\x00" in value:
            raise EventRejected(f"{where or 'record'}: contains a NUL character")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_text(key, where or "record")
            check_text(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            check_text(item, f"{where}[{n}]")


def printable_reason(reason: str) -> str:
    """The reason as storable text, whatever a bad record put in it (a NUL in a key name)."""
    return reason.replace("\x00", "\\x00")


def _days(span: timedelta) -> str:
    return f"{span.days} day" + ("s" if span.days != 1 else "")


def dead_letter(session: Session, rejected: Sequence[Rejected], at: datetime) -> None:
    """Keep each bad record with its reason, and send it to the dead-letter topic."""
    for item in rejected:
        record, value = item.record, item.record.value or b""
        session.add(
            DeadLetterRow(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                reason=printable_reason(item.reason),
                value=value,
                received_at=at,
            )
        )
        stage_raw(
            session,
            topics.DEAD_LETTER,
            key=f"{record.topic}/{record.partition}",
            value=dead_letter_message(item, at),
            at=at,
        )


def dead_letter_message(item: Rejected, at: datetime) -> bytes:
    """JSON that names the reason and the origin, and carries the original bytes (base64)."""
    record = item.record
    return json.dumps(
        {
            "reason": item.reason,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "received_at": at.isoformat(),
            "value_base64": base64.b64encode(record.value or b"").decode(),
        }
    ).encode()
