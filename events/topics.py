"""The one place that names the Kafka topics and how they are laid out."""

from __future__ import annotations

from dataclasses import dataclass

INCIDENTS = "everycall.incidents"  # incident.reported and later incident lifecycle input
ASSIGNMENTS = "everycall.assignments"  # team.assigned and task lifecycle output
# CAP 1.2 weather alerts as their XML, from the meteorological feed; one partition keeps a
# Cancel behind the alert it cancels
ALERTS = "everycall.alerts"
DEAD_LETTER = "everycall.dead-letter"  # records that could not be handled, with the reason
# every event-log entry (seq, hashes, envelope), in log order: one partition keeps the order
AUDIT = "everycall.audit"


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int


ALL_TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(INCIDENTS, 4),
    TopicSpec(ASSIGNMENTS, 4),
    TopicSpec(ALERTS, 1),
    TopicSpec(DEAD_LETTER, 1),
    TopicSpec(AUDIT, 1),
)
