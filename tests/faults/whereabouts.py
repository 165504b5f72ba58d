"""Where an accepted report was last seen, for a fault test's failure message.

A report travels API -> outbox -> the incident topic -> the dispatcher -> an incident row
(or a dead letter). When a test finds one missing, it names it and the last of those places
that still holds it, so the failure explains itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import DeadLetterRow, IncidentRow, OutboxRow
from events import topics

SHOWN = 20  # ids listed one by one; the rest are counted


def committed_offsets(broker: str, group: str) -> dict[int, int]:
    """The group's committed offset per partition of the incident topic (0: none yet)."""
    consumer = KafkaConsumer(bootstrap_servers=broker, group_id=group, enable_auto_commit=False)
    try:
        partitions = consumer.partitions_for_topic(topics.INCIDENTS) or set()
        return {p: consumer.committed(TopicPartition(topics.INCIDENTS, p)) or 0 for p in partitions}
    finally:
        consumer.close(autocommit=False)


def _incident_id(value: bytes | None) -> str | None:
    try:
        envelope = json.loads(value or b"")
        return str(envelope["payload"]["id"])
    except (ValueError, KeyError, TypeError):
        return None


def _in_outbox(engine: Engine, wanted: set[str]) -> set[str]:
    with Session(engine) as session:
        values = session.scalars(select(OutboxRow.value).where(OutboxRow.topic == topics.INCIDENTS))
        return {i for i in map(_incident_id, values) if i in wanted}


def _dead_letters(engine: Engine, wanted: set[str]) -> dict[str, str]:
    with Session(engine) as session:
        rows = session.execute(select(DeadLetterRow.value, DeadLetterRow.reason)).all()
    found: dict[str, str] = {}
    for value, reason in rows:
        incident = _incident_id(value)
        if incident in wanted:
            found[incident] = reason
    return found


def _on_topic(broker: str, wanted: set[str], quiet_s: float = 2.0) -> dict[str, tuple[int, int]]:
    """(partition, offset) of each wanted report still on the incident topic."""
    consumer = KafkaConsumer(
        bootstrap_servers=broker, group_id=None, enable_auto_commit=False, request_timeout_ms=5000
    )
    found: dict[str, tuple[int, int]] = {}
    try:
        ids = consumer.partitions_for_topic(topics.INCIDENTS) or set()
        partitions = [TopicPartition(topics.INCIDENTS, p) for p in ids]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        last_record = time.monotonic()
        while time.monotonic() - last_record < quiet_s:  # never stop at end_offsets() alone
            for records in consumer.poll(timeout_ms=200, max_records=5000).values():
                last_record = time.monotonic()
                for record in records:
                    incident = _incident_id(record.value)
                    if incident in wanted:
                        found[incident] = (record.partition, record.offset)
    finally:
        consumer.close()
    return found


@dataclass
class Sighting:
    incident_id: str
    place: str


def last_seen(
    engine: Engine, broker: str, group: str, ids: Iterable[str], routed_state: str = "assigned"
) -> list[Sighting]:
    """Each of `ids` not in `routed_state`, with the furthest place along its way that holds
    it: its incident row, the outbox, a topic offset, a dead letter, or nowhere."""
    wanted = set(ids)
    with Session(engine) as session:
        rows = session.execute(
            select(IncidentRow.id, IncidentRow.state).where(IncidentRow.id.in_(wanted))
        )
        states = {incident: state for incident, state in rows}
    behind = {i for i in wanted if states.get(i) != routed_state}
    if not behind:
        return []
    unstored = {i for i in behind if i not in states}
    dead = _dead_letters(engine, unstored)
    outbox = _in_outbox(engine, unstored)
    try:
        topic, committed = _on_topic(broker, unstored), committed_offsets(broker, group)
        unreadable = ""
    except Exception as error:  # the broker may be the fault under test
        topic, committed, unreadable = {}, {}, f" (topic unreadable: {error})"
    sightings = []
    for incident in sorted(behind):
        if incident in states:
            place = f"stored, in state {states[incident]}"
        elif incident in dead:
            place = f"dead-lettered: {dead[incident]}"
        elif incident in outbox:
            place = "in the outbox, not yet published"
        elif incident in topic:
            partition, offset = topic[incident]
            mark = committed.get(partition, 0)
            consumed = "consumed" if offset < mark else "not yet consumed"
            place = (
                f"on {topics.INCIDENTS} partition {partition} offset {offset}, {consumed} "
                f"(group committed up to {mark})"
            )
        else:
            place = "nowhere: not stored, not in the outbox, not on the topic, not dead-lettered"
            place += unreadable
        sightings.append(Sighting(incident, place))
    return sightings


def describe(sightings: list[Sighting]) -> str:
    if not sightings:
        return "every accepted report is routed"
    lines = [f"{len(sightings)} accepted reports not routed:"]
    lines += [f"  {s.incident_id}: {s.place}" for s in sightings[:SHOWN]]
    if len(sightings) > SHOWN:
        lines.append(f"  ... and {len(sightings) - SHOWN} more")
    return "\n".join(lines)
