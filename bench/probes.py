"""What the benchmark watches: announced assignments, consumer lag and a process's memory."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from events import topics

OUTCOMES = ("team.assigned", "incident.merged")  # a storm duplicate joins its master's team


class Announcements:
    """Reads the assignments topic; `done[incident_id]` is when the incident's outcome was both
    stored (the event's `occurred_at`) and seen published: the later of the two, wall seconds.

    The outcome is team.assigned, or incident.merged for a report that storm grouping linked to
    an open incident nearby (it is served by that incident's team).
    """

    def __init__(self, bootstrap_servers: str) -> None:
        self._consumer = KafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            client_id="storm-bench-probe",
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=10,
        )
        partitions = self._consumer.partitions_for_topic(topics.ASSIGNMENTS) or set()
        assigned = [TopicPartition(topics.ASSIGNMENTS, p) for p in sorted(partitions)]
        self._consumer.assign(assigned)
        self._consumer.seek_to_beginning(*assigned)
        self.done: dict[str, float] = {}
        self.merged: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="announcements", daemon=True)

    def start(self) -> Announcements:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            polled = self._consumer.poll(timeout_ms=50, max_records=10_000)
            seen = time.time()
            for records in polled.values():
                for record in records:
                    self._note(record.value, seen)

    def _note(self, raw: bytes, seen: float) -> None:
        if not any(name.encode() in raw[:160] for name in OUTCOMES):
            return  # clocks and other lifecycle events: skipped without parsing
        envelope = json.loads(raw)
        if envelope.get("type") not in OUTCOMES:
            return
        incident_id = str(envelope["payload"]["incident_id"])
        stored = datetime.fromisoformat(str(envelope["occurred_at"])).timestamp()
        self.done.setdefault(incident_id, max(seen, stored))
        if envelope["type"] == "incident.merged":
            self.merged.add(incident_id)

    def wait_for(self, ids: list[str], timeout_s: float, alive: Callable[[], bool]) -> bool:
        """True once every id was announced; False if the timeout or the router's end came first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and alive():
            if all(i in self.done for i in ids):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._consumer.close()


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    """Resident memory of a process from /proc (VmHWM is its peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field_name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_wait_seconds(pid: int) -> float:
    """Time the process's threads were ready to run but waited for a CPU (/proc schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # a thread that ended meanwhile
    return total / 1e9


@dataclass
class Sample:
    at: float
    lag: int  # records produced but not yet committed by the dispatcher's consumer group
    in_flight: int  # produced but not yet announced on the assignments topic
    rss_mb: float
    cpu_s: float  # the dispatcher's CPU time so far: its share of a core between two samples
    wait_s: float  # time its threads were runnable but had no CPU (others had them)


@dataclass
class Sampler:
    """Every `interval_s`: the dispatcher group's lag, what is in flight, the dispatcher's RSS."""

    bootstrap_servers: str
    group: str
    pid: int
    acked: Callable[[], int]  # how many incidents the broker has acknowledged so far
    announcements: Announcements
    interval_s: float = 0.25
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._admin = KafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def committed(self) -> int:
        offsets = self._admin.list_group_offsets(self.group).get(self.group, {})
        return sum(o.offset for tp, o in offsets.items() if tp.topic == topics.INCIDENTS)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            acked = self.acked()
            self.samples.append(
                Sample(
                    at=time.time(),
                    lag=max(0, acked - self.committed()),
                    in_flight=max(0, acked - len(self.announcements.done)),
                    rss_mb=rss_mb(self.pid),
                    cpu_s=cpu_seconds(self.pid),
                    wait_s=runqueue_wait_seconds(self.pid),
                )
            )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._admin.close()
