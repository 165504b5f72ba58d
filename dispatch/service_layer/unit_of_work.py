"""The unit of work: one transaction and everything it writes. Commands decide events and
`record` them; the unit folds each into the transaction's rows with the folds replay uses
(folds.py), logs it and stages it for Kafka. The rows are a backend of their own: the
session's ORM rows for commands (live_rows.py), or a routing batch's board written in bulk
(batch_rows.py).

Batched, many commands share one unit: their events are logged once, in order, at the end,
and the rows flushed after them (events first, then team loads: the lock order of clocks.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import groupby
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from sqlalchemy.orm import Session

from dispatch.adapters.outbox import stage_many
from dispatch.service_layer import folds
from dispatch.service_layer.live_rows import LiveRows
from dispatch.service_layer.services import Services
from dispatch.service_layer.state import State
from events import topics
from events.envelope import Envelope
from events.schemas import EventPayload, envelope_for


class Rows(State, Protocol):
    def flush(self) -> None:
        """Write what the folds changed and has not been written yet."""


R = TypeVar("R", bound=Rows)
# Logged (and so on the audit topic) but not published on everycall.assignments: the SLA
# clocks are the dispatcher's own bookkeeping, two of every routed incident's three records.
LOGGED_ONLY = frozenset({"sla.clocks_started"})


class _Recorded(NamedTuple):
    envelope: Envelope
    at: datetime
    staged: bool  # published on Kafka (reports that came from Kafka are only logged)


class UnitOfWork(Generic[R]):
    """A transaction's rows, event log and outbox, for the commands that run in it."""

    def __init__(self, session: Session, services: Services, rows: R, *, batched: bool) -> None:
        self.session = session
        self.services = services
        self.rows = rows
        self._pending: list[_Recorded] | None = [] if batched else None

    def record(self, region: str, payloads: Sequence[EventPayload], now: datetime) -> None:
        """One incident's decided events."""
        self.record_all([(region, p) for p in payloads], now)

    def record_all(self, items: Sequence[tuple[str, EventPayload]], now: datetime) -> None:
        """Decided events keyed by region (their partition key), logged and staged."""
        producer = self.services.settings.producer_name
        envelopes = [
            envelope_for(p, producer=producer, key=region or "unknown", at=now)
            for region, p in items
        ]
        self.record_envelopes(envelopes, now)

    def record_envelopes(
        self,
        envelopes: Sequence[Envelope],
        at: datetime,
        *,
        staged: bool = True,
        payloads: Sequence[dict[str, Any]] | None = None,
    ) -> None:
        """Events in their envelopes: folded into the rows (from `payloads` as validated, when
        given), logged, and staged unless not."""
        folds.apply(self.rows, envelopes, payloads)
        recorded = [_Recorded(e, at, staged) for e in envelopes]
        if self._pending is not None:
            self._pending.extend(recorded)
            return
        self._log_and_stage(recorded)
        self.rows.flush()

    def flush(self) -> None:
        """Write the rows now, for a query that must see them; a batch's events wait."""
        self.rows.flush()

    def finish(self) -> None:
        """Write what a batch kept for its end: its events, then the rows."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._log_and_stage(pending)
        self.rows.flush()

    def _log_and_stage(self, recorded: Sequence[_Recorded]) -> None:
        self.services.event_log.append(self.session, [r.envelope for r in recorded])
        for (at, staged), run in groupby(recorded, key=lambda r: (r.at, r.staged)):
            if staged:
                published = [r.envelope for r in run if r.envelope.type not in LOGGED_ONLY]
                stage_many(self.session, topics.ASSIGNMENTS, published, at)


Commands = UnitOfWork[LiveRows]  # the unit the lifecycle commands run in


@contextmanager
def unit_of_work(services: Services, *, batched: bool = False) -> Iterator[Commands]:
    """A new transaction as a unit of work for commands: committed when the block ends, rolled
    back if it raises."""
    with services.sessions.begin() as session:
        uow = UnitOfWork(session, services, LiveRows(session), batched=batched)
        yield uow
        uow.finish()
