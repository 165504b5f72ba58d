"""Event schemas by (type, version), upcasting of old versions, and strict decoding."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from events.envelope import ENVELOPE_LIMIT_BYTES, Envelope

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class EventPayload(BaseModel):
    """Base of every payload schema: it knows its own type name and version."""

    TYPE: ClassVar[str]
    VERSION: ClassVar[int]


class EventRejected(ValueError):
    """A record that cannot be handled; `reason` goes with it to the dead-letter topic."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


_SCHEMAS: dict[tuple[str, int], type[EventPayload]] = {}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register(schema: type[EventPayload]) -> type[EventPayload]:
    """Class decorator: make a payload schema known to the decoder."""
    _SCHEMAS[(schema.TYPE, schema.VERSION)] = schema
    return schema


def register_upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Decorator: turn a payload of `from_version` into one of `from_version + 1`."""

    def wrap(upcast: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = upcast
        return upcast

    return wrap


def latest_version(event_type: str) -> int:
    versions = [v for (t, v) in _SCHEMAS if t == event_type]
    if not versions:
        raise EventRejected(f"unknown event type {event_type!r}")
    return max(versions)


def envelope_for(payload: EventPayload, *, producer: str, key: str, at: datetime) -> Envelope:
    return Envelope(
        type=payload.TYPE,
        version=payload.VERSION,
        occurred_at=at,
        producer=producer,
        key=key,
        payload=payload.model_dump(mode="json"),
    )


def parse_envelope(raw: bytes | None) -> Envelope:
    """Bytes off the wire to an envelope, or EventRejected saying why not."""
    if raw is None:
        raise EventRejected("empty record (tombstone)")
    if len(raw) > ENVELOPE_LIMIT_BYTES:
        raise EventRejected(f"record of {len(raw)} bytes exceeds {ENVELOPE_LIMIT_BYTES}")
    try:
        return Envelope.from_bytes(raw)
    except ValidationError as error:
        raise EventRejected(f"invalid envelope: {_describe(error)}") from error


def decode_payload(envelope: Envelope) -> EventPayload:
    """The envelope's payload as its newest schema, upcasting older versions on the way."""
    newest = latest_version(envelope.type)
    payload = upcast_payload(envelope.type, envelope.version, envelope.payload, newest)
    try:
        return _SCHEMAS[(envelope.type, newest)].model_validate(payload)
    except ValidationError as error:
        raise EventRejected(
            f"invalid {envelope.qualified_type} payload: {_describe(error)}"
        ) from error


def upcast_payload(
    event_type: str, version: int, payload: dict[str, Any], newest: int | None = None
) -> dict[str, Any]:
    """A payload of `version` as the newest version of its type (replay reads old events so)."""
    newest = latest_version(event_type) if newest is None else newest
    if version > newest:
        raise EventRejected(f"unknown version {event_type}.v{version}")
    while version < newest:
        upcast = _UPCASTERS.get((event_type, version))
        if upcast is None:
            raise EventRejected(f"no upcaster from {event_type}.v{version}")
        payload, version = upcast(dict(payload)), version + 1
    return payload


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{extra}"


# Importing the stream modules registers their schemas.
from events.schemas import (  # noqa: E402
    alerts,  # noqa: F401
    incidents,  # noqa: F401
    notifications,  # noqa: F401
    stories,  # noqa: F401
    storm,  # noqa: F401
    tasks,  # noqa: F401
    teams,  # noqa: F401
)
