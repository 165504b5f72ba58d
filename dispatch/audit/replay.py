"""Replay: rebuild every projection from the log (or its Kafka mirror) into an empty database,
then compare it with the live projection read in the same snapshot as the log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, inspect, select

from dispatch.adapters.orm import create_schema
from dispatch.audit.bulk_write import write_board
from dispatch.audit.compare import Difference, compare_tables
from dispatch.audit.mirror import read_audit_topic
from dispatch.audit.projection import projected_tables
from dispatch.audit.verify import Digest, check_entries, read_head
from dispatch.service_layer.folds import fold
from dispatch.service_layer.state import Board
from events.log import EVENT_LOG, Entry, read_envelopes

_Item = TypeVar("_Item")


class ReplayError(RuntimeError):
    """The replay could not be done faithfully (a target in use, a mirror with holes)."""


@dataclass
class ReplayResult:
    head: Digest
    board: Board
    written: dict[str, int] = field(default_factory=dict)
    differences: list[Difference] = field(default_factory=list)
    compared: bool = False

    @property
    def identical(self) -> bool:
        return self.compared and not self.differences and not self.board.unprojected


def ensure_empty(target: Engine) -> None:
    """Replay writes only into a database with no state and no history."""
    tables = {t.name: t for t in [*projected_tables(), EVENT_LOG]}
    with target.connect() as connection:
        for name in sorted(set(inspect(connection).get_table_names()) & tables.keys()):
            count = connection.execute(select(func.count()).select_from(tables[name])).scalar()
            if count:
                raise ReplayError(f"--into database is not empty: {name} has {count} rows")


def log_entries(live: Connection, head: Digest) -> Iterable[tuple[int, str]]:
    """What a replay folds from the live log: `(seq, envelope)` up to the head."""
    return read_envelopes(live, until_seq=head.seq)


def kafka_entries(
    bootstrap_servers: str, head: Digest, on_progress: Callable[[int], None] | None = None
) -> list[Entry]:
    """The audit topic's entries 1..head, checked: complete, chained, ending at the head."""
    got = read_audit_topic(bootstrap_servers, head.seq, on_progress=on_progress)
    missing = [seq for seq in range(1, head.seq + 1) if seq not in got]
    if missing:
        raise ReplayError(
            f"the audit topic holds {len(got)} of {head.seq} entries; first missing: seq "
            f"{missing[0]} (has the relay run since they were logged?)"
        )
    entries = [got[seq] for seq in range(1, head.seq + 1)]
    last, finding = check_entries(entries)
    if finding is not None:
        raise ReplayError(f"the audit topic's chain is broken at {finding}")
    if last != head:
        raise ReplayError(f"the audit topic ends at {last}, the database's head is {head}")
    return entries


def counted(
    entries: Iterable[_Item], on_progress: Callable[[int], None], every: int = 2000
) -> Iterator[_Item]:
    """`entries` unchanged, telling `on_progress` every `every` entries how many have passed
    (it may raise to stop the replay)."""
    for n, entry in enumerate(entries, 1):
        if n % every == 0:
            on_progress(n)
        yield entry


def replay(
    live: Connection,
    target: Engine,
    *,
    until: datetime | None = None,
    entries: Iterable[Entry] | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Rebuild into `target` from `entries` (default: the live log up to its head) and, for a
    full replay, compare with the live projection. `live` should hold one read snapshot."""
    head = read_head(live)
    if head is None:
        raise ReplayError("the source has no event log head: is it an everycall database?")
    ensure_empty(target)
    source: Iterable[Entry | tuple[int, str]] = (
        entries if entries is not None else log_entries(live, head)
    )
    if on_progress is not None:
        source = counted(source, on_progress)
    board = fold(source, until)
    create_schema(target)
    result = ReplayResult(head, board, write_board(board, target))
    if until is None:
        with target.connect() as replayed:
            result.differences = compare_tables(live, replayed, projected_tables())
        result.compared = True
    return result
