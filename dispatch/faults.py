"""Fault-injection points for the fault tests; inert unless a setting names a fault.

Each point is one call at a place where a crash is worth proving safe. Production never sets
the settings (they default to None); tests set them through the environment of a subprocess,
e.g. EVERYCALL_FAULT_AFTER_DB_COMMIT=3 ends the process right after its 3rd batch's database
commit, before the Kafka offsets of that batch are committed. EVERYCALL_FAULT_START_GATE=path
holds a started dispatcher before it joins its consumer group until the file exists, so a
test can have the next dispatcher ready when it kills the current one.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

from dispatch.config import Settings

log = logging.getLogger("everycall.faults")

CRASH_EXIT_CODE = 137  # what a shell shows for kill -9, so the tests treat both alike


class FaultPoints:
    """Counts the passes through each point and ends the process where a setting says."""

    def __init__(self, settings: Settings) -> None:
        self._after_db_commit = settings.fault_after_db_commit
        self._batches_committed = 0

    def after_db_commit(self) -> None:
        """Called between a batch's database commit and its offset commit."""
        self._batches_committed += 1
        if self._after_db_commit == self._batches_committed:
            crash(f"fault injected after the database commit of batch {self._batches_committed}")


def crash(why: str) -> None:
    """End at once, as kill -9 would: no cleanup, no flushing of clients, no offset commit."""
    log.warning("%s: exiting with %d", why, CRASH_EXIT_CODE)
    sys.stderr.write(f"everycall: {why}\n")
    sys.stderr.flush()
    os._exit(CRASH_EXIT_CODE)


def wait_at_start_gate(settings: Settings, poll_s: float = 0.05) -> None:
    """Say `<gate>.waiting` and wait for `<gate>`: a standby, imported and warm, not in the
    consumer group yet (so it takes no partitions from the process being killed)."""
    if settings.fault_start_gate is None:
        return
    gate = Path(settings.fault_start_gate)
    gate.with_name(gate.name + ".waiting").touch()
    while not gate.exists():
        time.sleep(poll_s)
