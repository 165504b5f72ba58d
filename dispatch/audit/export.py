"""The log for outside tools: JSON Lines (one entry a line, re-checkable) or CSV (one column
per field, the hashed envelope text last). In both, hash = sha256(prev_hash + envelope).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

import orjson
from sqlalchemy import Connection

from events.log import entry_message, read_entries

CSV_COLUMNS = (
    "seq", "occurred_at", "type", "version", "event_id", "key", "producer",
    "payload", "prev_hash", "hash", "envelope",
)  # fmt: skip
FORMATS = ("jsonl", "csv")


def export_log(
    connection: Connection,
    path: Path,
    fmt: str,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write every entry to `path`; returns how many."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    count = 0
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(CSV_COLUMNS)
        for entry in read_entries(connection):
            if writer is None:
                out.write(entry_message(entry).decode() + "\n")
            else:
                envelope = orjson.loads(entry.envelope)
                writer.writerow(
                    (
                        entry.seq,
                        envelope["occurred_at"],
                        envelope["type"],
                        envelope["version"],
                        envelope["event_id"],
                        envelope["key"],
                        envelope["producer"],
                        orjson.dumps(envelope["payload"]).decode(),
                        entry.prev_hash,
                        entry.hash,
                        entry.envelope,
                    )
                )
            count += 1
            if on_progress is not None and count % 5000 == 0:
                on_progress(count)
    if on_progress is not None:
        on_progress(count)
    return count
