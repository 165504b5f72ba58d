"""Offering incidents to Kafka as the call centre would, each stamped at the moment it is sent.

Envelopes are serialised ahead of time with a placeholder instant; sending swaps in the real
one (same length), so `occurred_at` and the payload's `reported_at` say when the incident was
produced without paying for pydantic at send time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from kafka import KafkaProducer

from events import topics
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.incident import Incident

PLACEHOLDER = datetime(1999, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
PLACEHOLDER_TEXT = b"1999-01-01T00:00:00.000001Z"
TICK_S = 0.005
CHUNK = 500  # a chunk shares one stamp: small, so the stamp stays close to the send


def wire_form(incident: Incident, producer: str = "storm-bench") -> tuple[bytes, bytes]:
    """(key, envelope bytes with the placeholder instant) of one incident.reported event."""
    reported = IncidentReported(
        **incident.model_copy(update={"reported_at": PLACEHOLDER}).model_dump()
    )
    envelope = envelope_for(reported, producer=producer, key=incident.partition_key, at=PLACEHOLDER)
    value = envelope.to_bytes()
    assert value.count(PLACEHOLDER_TEXT) == 2, "occurred_at and reported_at carry the stamp"
    return envelope.key.encode(), value


def stamp_text(wall: float) -> bytes:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ").encode()


class Offer:
    """Sends prepared incidents at `rate` per second (0: as fast as possible), in a thread.

    `sent_at[incident_id]` is the wall-clock second each one was handed to the producer.
    """

    def __init__(self, bootstrap_servers: str) -> None:
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id="storm-bench",
            acks="all",
            enable_idempotence=True,
            linger_ms=2,
            batch_size=256 * 1024,
        )
        self.sent_at: dict[str, float] = {}
        self.acked = 0
        self._lock = threading.Lock()

    def send(
        self, ids: Sequence[str], wire: Sequence[tuple[bytes, bytes]], rate: float = 0.0
    ) -> float:
        """Send all of `wire` (paced when `rate` > 0); returns the seconds it took."""
        start = time.monotonic()
        done = 0
        while done < len(wire):
            due = (
                len(wire)
                if rate <= 0
                else min(len(wire), int((time.monotonic() - start) * rate) + 1)
            )
            if due > done:
                chunk = min(due, done + CHUNK)
                self._send_chunk(ids[done:chunk], wire[done:chunk])
                done = chunk
            else:
                time.sleep(TICK_S)
        return time.monotonic() - start

    def _send_chunk(self, ids: Sequence[str], wire: Sequence[tuple[bytes, bytes]]) -> None:
        now = time.time()
        text = stamp_text(now)
        futures = []
        for incident_id, (key, value) in zip(ids, wire, strict=True):
            self.sent_at[incident_id] = now
            futures.append(
                self._producer.send(
                    topics.INCIDENTS, key=key, value=value.replace(PLACEHOLDER_TEXT, text)
                )
            )
        self._producer.flush()
        for future in futures:
            future.get(timeout=30)
        with self._lock:
            self.acked += len(futures)

    def close(self) -> None:
        self._producer.close(timeout=5)
