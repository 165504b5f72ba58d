"""What a service receives: the settings, the database's sessions, the broker's publisher, the
clock and the event log of a running everycall process, built by dispatch.bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.ratelimit import BucketStore, InProcessBuckets
from dispatch.config import Settings
from events.kafka import KafkaPublisher
from events.log import SqlEventLog
from models.clock import Clock, SystemClock


@dataclass
class Services:
    """Everything a running everycall process shares."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    bootstrap_servers: str
    publisher: KafkaPublisher
    reads: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    event_log: SqlEventLog = field(default_factory=SqlEventLog)
    # the API's rate limits (per token, per sign-in account and address)
    rate_buckets: BucketStore = field(default_factory=InProcessBuckets)
