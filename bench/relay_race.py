"""The lost-report reproduction: two outbox relays at once, as in every deployment (the API's
relay thread and the dispatcher's relay after each batch), while reports keep being staged.

Each round stages reports at a steady pace for a few seconds into a fresh database, runs two
relays against the real embedded broker, drains the outbox, then reads the topic back and
counts the staged reports that never reached it. `--busy N` runs N CPU-burning processes
alongside, as a loaded CI machine would. The JSON line (last) gives the rounds that lost
something and the reports lost.

    python -m bench.relay_race --rounds 20 --seconds 3 --busy 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy.orm import Session, sessionmaker

from dispatch.adapters.orm import create_schema, make_engine, session_factory
from dispatch.adapters.outbox import relay, stage_raw
from events import topics
from events.broker import EmbeddedBroker
from events.kafka import KafkaPublisher, ensure_topics

STAGE_PAUSE_S = 0.005  # about 200 reports a second, the pace of a busy API


def burn() -> None:
    while True:
        pass


@contextmanager
def busy_processes(count: int) -> Iterator[None]:
    burners = [multiprocessing.Process(target=burn, daemon=True) for _ in range(count)]
    for burner in burners:
        burner.start()
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()


def stage_reports(sessions: sessionmaker[Session], stop: threading.Event, out: list[str]) -> None:
    while not stop.is_set():
        value = uuid.uuid4().hex
        with sessions.begin() as session:
            stage_raw(session, topics.INCIDENTS, "relay-race", value.encode(), datetime.now(UTC))
        out.append(value)
        time.sleep(STAGE_PAUSE_S)


def keep_relaying(sessions: sessionmaker[Session], servers: str, stop: threading.Event) -> None:
    publisher = KafkaPublisher(servers, client_id="relay-race")
    try:
        while not stop.is_set():
            relay(sessions, publisher)
    finally:
        publisher.close()


def published_values(servers: str) -> set[str]:
    consumer = KafkaConsumer(
        bootstrap_servers=servers,
        group_id=None,
        enable_auto_commit=False,
        consumer_timeout_ms=3000,
    )
    try:
        ids = consumer.partitions_for_topic(topics.INCIDENTS) or set()
        consumer.assign([TopicPartition(topics.INCIDENTS, p) for p in ids])
        consumer.seek_to_beginning()
        return {record.value.decode() for record in consumer if record.value}
    finally:
        consumer.close()


def one_round(database_url: str, seconds: float) -> tuple[int, int]:
    """(reports staged, reports never published)."""
    with EmbeddedBroker() as broker:
        servers = broker.bootstrap_servers
        ensure_topics(servers)
        engine = make_engine(database_url)
        create_schema(engine)
        sessions = session_factory(engine)
        stop, staged = threading.Event(), list[str]()
        threads = [threading.Thread(target=stage_reports, args=(sessions, stop, staged))]
        threads += [
            threading.Thread(target=keep_relaying, args=(sessions, servers, stop)) for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        last = KafkaPublisher(servers, client_id="relay-race-drain")
        relay(sessions, last)
        last.close()
        engine.dispose()
        seen = published_values(servers)
    return len(staged), sum(1 for value in staged if value not in seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--busy", type=int, default=2, help="CPU-burning processes alongside")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    failed_rounds, staged_total, lost_total = 0, 0, 0
    with busy_processes(args.busy), tempfile.TemporaryDirectory() as work:
        for n in range(args.rounds):
            url = args.database_url or f"sqlite:///{Path(work) / f'round-{n}.db'}"
            staged, lost = one_round(url, args.seconds)
            failed_rounds += int(lost > 0)
            staged_total, lost_total = staged_total + staged, lost_total + lost
            print(f"round {n + 1}/{args.rounds}: staged {staged}, lost {lost}", flush=True)
    print(
        json.dumps(
            {
                "rounds": args.rounds,
                "seconds_per_round": args.seconds,
                "busy_processes": args.busy,
                "rounds_that_lost_reports": failed_rounds,
                "reports_staged": staged_total,
                "reports_lost": lost_total,
            }
        )
    )


if __name__ == "__main__":
    main()
