"""In-process objects handed to flow runs by ticket.

A flow's parameters go to the Prefect API (JSON, capped in size), so what a run works on (a
batch's records, the services it acts with) stays in this process: the caller puts it here,
passes the run a small ticket, and the run takes it back by that ticket.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class Handoff(Generic[T]):
    """Holds objects for flow runs of this process, each under a ticket of its own."""

    def __init__(self) -> None:
        self._items: dict[int, T] = {}
        self._tickets = itertools.count(1)
        self._lock = threading.Lock()

    def put(self, item: T) -> int:
        with self._lock:
            ticket = next(self._tickets)
            self._items[ticket] = item
        return ticket

    def get(self, ticket: int) -> T:
        """The object under `ticket`, which stays for the run's next steps."""
        with self._lock:
            return self._items[ticket]

    def take(self, ticket: int) -> T:
        """The object under `ticket`, handed over for good."""
        with self._lock:
            return self._items.pop(ticket)

    @contextmanager
    def handed(self, item: T) -> Iterator[int]:
        """A ticket for `item` while the block runs (the flow runs it starts use it)."""
        ticket = self.put(item)
        try:
            yield ticket
        finally:
            with self._lock:
                self._items.pop(ticket, None)
