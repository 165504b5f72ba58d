"""kill -9 the dispatcher again and again while a burst is routed: every incident is assigned
exactly once, and the event log holds each effect once.

Half of the crashes come from the fault point between the database commit and the offset
commit (EVERYCALL_FAULT_AFTER_DB_COMMIT, see dispatch/faults.py), so that window is hit for
certain; the other half are SIGKILLs at a random point after the process made progress.
The next dispatcher is started while the current one runs and held before it joins the
consumer group (EVERYCALL_FAULT_START_GATE), so each restart costs a group join, not a
Python start.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import TeamRow
from dispatch.audit.verify import verify_log
from dispatch.faults import CRASH_EXIT_CODE
from dispatch.simulation.load import publish_reports, simulated_incidents
from events import topics
from events.kafka import KafkaPublisher
from events.log import LoggedEvent
from tests.faults.conftest import FaultReport
from tests.faults.harness import (
    EverycallProcess,
    Standby,
    assignment_rows,
    incidents_in,
    logged_effects,
    outbox_rows,
    prepared_database,
    tasks_for,
    wait_until,
    wuhan_teams,
)
from tests.faults.whereabouts import committed_offsets, describe, last_seen

pytestmark = pytest.mark.timeout(900)  # real processes on a shared machine

BURST = 4000  # outlasts the kills: at most ~KILLS * (KILL_WITHIN + a batch or two) before the last
BATCH = 20  # small batches: many commit windows to crash in
LAST_BATCH = 200  # the run after the last kill just finishes the burst
KILLS = 10
KILL_WITHIN = 300  # a random kill comes within this many stored incidents of the last one
SEED = 20260701


def test_dispatcher_killed_repeatedly_assigns_every_incident_exactly_once(
    database_url: str,
    broker: str,
    everycall: Callable[..., EverycallProcess],
    fault_report: FaultReport,
    tmp_path: Path,
) -> None:
    rng = random.Random(SEED)
    teams = wuhan_teams(40, capacity=2 * BURST // 40)  # room for the support tasks too
    with prepared_database(database_url, teams) as engine:
        publisher = KafkaPublisher(broker)
        burst = simulated_incidents(teams, BURST, datetime.now(UTC), seed=SEED, run="kill")
        publish_reports(publisher, burst, "fault-test", datetime.now(UTC))
        tasks = tasks_for(burst)  # the critical disaster-relief calls' support tasks too
        publisher.close()

        def standby(n: int, fault_batch: int | None) -> Standby:
            """The next dispatcher, started now and held before it joins the group."""
            gate = tmp_path / f"gate-{n:02d}"
            process = everycall(
                ["dispatcher"],
                broker,
                f"dispatcher-{n:02d}",
                batch_max_records=str(BATCH if n < KILLS else LAST_BATCH),
                max_poll_interval_ms="3000",  # a group join waits this long: keep restarts short
                consumer_session_timeout_ms="2000",  # ...and this long for the killed one
                watchdog_interval_s="3600",
                storm_radius_m="0",  # every report its own incident: the counts below are exact
                fault_start_gate=str(gate),
            )
            crash = {"EVERYCALL_FAULT_AFTER_DB_COMMIT": str(fault_batch)} if fault_batch else {}
            return Standby(process.start(**crash), gate, fault_batch)

        # Even runs crash at the fault point after batch 1 to 3; odd runs are killed at random.
        plan = [rng.randint(1, 3) if n % 2 == 0 else None for n in range(KILLS)]
        next_up = standby(0, plan[0])
        group = next_up.process.env["EVERYCALL_CONSUMER_GROUP"]
        for n in range(KILLS):
            current, before = next_up, incidents_in(engine)
            current.release()
            next_up = standby(n + 1, plan[n + 1] if n + 1 < KILLS else None)
            if current.fault_batch is not None:
                _crash_between_commits(current, engine, broker, group, fault_report)
            else:
                _kill_at_random(current.process, engine, before, rng, fault_report)
            assert incidents_in(engine) < tasks, "the burst ran out before the last kill"

        next_up.release()
        wait_until(
            lambda: incidents_in(engine, "assigned") == tasks,
            180,
            "the last run to finish",
            why=lambda: describe(last_seen(engine, broker, group, [i.id for i in burst])),
        )
        wait_until(lambda: outbox_rows(engine) == 0, 30, "the outbox to drain")
        next_up.process.stop()
        _check_exactly_once(engine, broker, tasks, fault_report)


def _crash_between_commits(
    current: Standby, engine: Engine, broker: str, group: str, report: FaultReport
) -> None:
    code = current.process.wait_exit(timeout_s=120)
    assert code == CRASH_EXIT_CODE, current.process.log_tail()
    stored = incidents_in(engine)
    committed = sum(committed_offsets(broker, group).values())
    # The crash came after the batch was stored and before its offsets were committed.
    assert stored > committed, (stored, committed)
    report.injected(
        f"exit(137) after the DB commit of batch {current.fault_batch}, before its offset "
        f"commit (stored {stored}, offsets committed {committed})"
    )


def _kill_at_random(
    process: EverycallProcess,
    engine: Engine,
    before: int,
    rng: random.Random,
    report: FaultReport,
) -> None:
    # A random point in the routing (poll, transaction, relay or commit), counted in incidents
    # stored rather than seconds, so that a faster machine does not run through the burst.
    progress = rng.randint(1, KILL_WITHIN)
    wait_until(
        lambda: incidents_in(engine) >= before + progress,
        120,
        "the dispatcher to make progress",
        poll_s=0.02,
    )
    time.sleep(rng.uniform(0.0, 0.05))
    code = process.kill9()
    assert code == -9
    report.injected(f"SIGKILL after {progress}+ more stored (stored {incidents_in(engine)})")


def _check_exactly_once(engine: Engine, broker: str, tasks: int, report: FaultReport) -> None:
    assert incidents_in(engine) == tasks
    assert incidents_in(engine, "assigned") == tasks
    supports = tasks - BURST
    report.checked(f"{BURST} incidents and their {supports} support tasks stored, all assigned")
    assert assignment_rows(engine) == (tasks, tasks)
    report.checked("assignments == tasks, no task with two assignments")
    assert logged_effects(engine, "incident.reported") == (BURST, BURST)
    assert logged_effects(engine, "team.assigned") == (tasks, tasks)
    report.checked("event log: one incident.reported per incident and one team.assigned per task")
    with Session(engine) as session:
        entries = session.scalar(select(func.count()).select_from(LoggedEvent))
        distinct = session.scalar(select(func.count(func.distinct(LoggedEvent.event_id))))
        loads = session.scalar(select(func.sum(TeamRow.active_tasks)))
    assert entries == distinct
    report.checked(f"event log: {entries} entries, event_ids unique")
    with engine.connect() as connection:
        verdict = verify_log(connection)
    assert verdict.ok, verdict.finding
    report.checked("event log hash chain verifies")
    assert loads == tasks
    report.checked(f"team loads sum to {tasks} (no load counted twice)")
    delivered, distinct_ids = assignments_on_topic(broker, tasks)
    assert distinct_ids == tasks
    report.checked(
        f"assignments topic: all {tasks} team.assigned events delivered "
        f"({delivered - distinct_ids} redelivered copies, deduplicated by event_id downstream)"
    )


def assignments_on_topic(broker: str, expected: int, timeout_s: float = 30) -> tuple[int, int]:
    """(team.assigned records on the topic, distinct event ids among them)."""
    consumer = KafkaConsumer(bootstrap_servers=broker, group_id=None, enable_auto_commit=False)
    partitions = [TopicPartition(topics.ASSIGNMENTS, p) for p in range(4)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    ids: list[str] = []
    deadline = time.monotonic() + timeout_s
    quiet = 0
    try:
        while time.monotonic() < deadline and (len(set(ids)) < expected or quiet < 3):
            polled = consumer.poll(timeout_ms=300, max_records=5000)
            records = [r for batch in polled.values() for r in batch]
            quiet = 0 if records else quiet + 1
            for record in records:
                envelope = json.loads(record.value)
                if envelope.get("type") == "team.assigned":
                    ids.append(envelope["event_id"])
    finally:
        consumer.close()
    return len(ids), len(set(ids))
