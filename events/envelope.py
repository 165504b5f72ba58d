"""The one envelope every event travels in, JSON on the wire."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt

ENVELOPE_LIMIT_BYTES = 64 * 1024


class Envelope(BaseModel):
    """Metadata shared by every event; `payload` is the schema named by `type` and `version`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str = Field(default_factory=lambda: uuid4().hex, min_length=1, max_length=64)
    type: str = Field(description="dotted past-tense name, e.g. incident.reported", max_length=64)
    version: StrictInt = Field(ge=1, description="schema version of the payload (true is not 1)")
    occurred_at: AwareDatetime
    producer: str = Field(max_length=64, description="the process that emitted the event")
    key: str = Field(max_length=128, description="partition key: events of one key stay ordered")
    payload: dict[str, Any]

    @property
    def qualified_type(self) -> str:
        return f"{self.type}.v{self.version}"

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    def canonical_json(self) -> str:
        """Sorted keys, no spaces: the form the event log hashes."""
        return json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
