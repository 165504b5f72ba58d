"""The notifier benchmark: from `team.assigned` (its `occurred_at`) to the push or text leaving
`everycall notifier` (arriving at a push service and an SMS gateway on the loopback, in a
process of their own), at an offered rate of assignments, and the notifier's lag behind the
log while a burst of assignments flows as fast as routing makes them. The JSON line comes
last.

A fresh SQLite database gets the Hubei registry (310 teams, capacity enough that nobody
queues), one crew member per team on duty with one push subscription (a real P-256 key pair
and auth secret, as a browser makes) and a phone behind one SMS gateway: every assignment is
one push and one text. Assignments come from the real routing service (storm-shaped incidents,
bench/geography.py, in micro-batches as the dispatcher takes them); the notifier is its own
process, as in production. Pushes are decrypted afterwards to learn which task each was.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import select

from bench.geography import storm_incidents
from bench.probes import cpu_seconds
from bench.storm_group import scratch_database
from dispatch import bootstrap
from dispatch.adapters.orm import UserRow, WebSessionRow
from dispatch.adapters.push_crypto import P256, b64url, public_point
from dispatch.config import Settings
from dispatch.service_layer import push_subscriptions
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.duty import set_duty
from dispatch.service_layer.notify_record import cursor_and_head
from dispatch.service_layer.registry import replace_registry
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import Record
from events.log import EVENT_LOG
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.hubei import hubei_registry
from models.incident import Incident

TEAM_CAPACITY = 100_000
TICK_S = 0.02  # the producer routes what is due every tick, as the dispatcher's micro-batches
ROOT = Path(__file__).resolve().parents[1]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256  # socketserver's 5 resets connections the notifier opens at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a keep-alive connection the client closed: nothing to report


class Receiver:
    """A push service or a gateway on the loopback: records each request's path, arrival and
    body, answers 201 at once (with keep-alive)."""

    def __init__(self, status: int) -> None:
        self.got: list[tuple[str, float, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.got.append((self.path, time.time(), body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _serve_receivers(statuses: list[int], asks: Connection) -> None:
    """The receivers' process: answers the bench's asks until told to stop."""
    receivers = [Receiver(status) for status in statuses]
    asks.send([r.url for r in receivers])
    while (ask := asks.recv()) != "stop":
        if ask == "counts":
            asks.send([len(r.got) for r in receivers])
        else:
            asks.send([list(r.got) for r in receivers])


class Receivers:
    """The push service and the SMS gateway in a process of their own, as they are remote in
    production: in the bench's process their threads waited on the interpreter lock behind
    its routing, and the notifier's deliveries with them."""

    def __init__(self, *statuses: int) -> None:
        self._asks, theirs = multiprocessing.get_context("spawn").Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve_receivers, args=(list(statuses), theirs), daemon=True
        )
        self._process.start()
        self.urls: list[str] = self._asks.recv()

    def counts(self) -> list[int]:
        self._asks.send("counts")
        return list(self._asks.recv())

    def got(self) -> list[list[tuple[str, float, bytes]]]:
        self._asks.send("got")
        return list(self._asks.recv())

    def close(self) -> None:
        self._asks.send("stop")
        self._process.join(10)


@dataclass
class Crew:
    """One member per team: their phone's push keys, by the path their pushes arrive at."""

    keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]]

    def incident_of(self, path: str, body: bytes) -> str:
        """Decrypt a push as the member's browser would (RFC 8291) and read its task."""
        key, auth = self.keys[path]
        salt, id_length = body[:16], body[20]
        sender, ciphertext = body[21 : 21 + id_length], body[21 + id_length :]
        shared = key.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(P256, sender))
        info = b"WebPush: info\x00" + public_point(key) + sender
        ikm = HKDF(hashes.SHA256(), 32, salt=auth, info=info).derive(shared)
        cek = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00")
        nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00")
        plain = AESGCM(cek.derive(ikm)).decrypt(nonce.derive(ikm), ciphertext, None)
        return str(json.loads(plain.rstrip(b"\x00")[:-1])["incident_id"])


def seed(services: Services, push_url: str) -> tuple[Crew, dict[str, str]]:
    """Teams, a member of each on duty with a push subscription; (the crew, their phones)."""
    now = services.clock.now()
    teams = [t.model_copy(update={"capacity": TEAM_CAPACITY}) for t in hubei_registry()]
    keys: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
    phones: dict[str, str] = {}
    with services.sessions.begin() as session:
        replace_registry(session, teams, now)
        for n, t in enumerate(teams):
            name = f"crew.{t.id}".lower()
            # a bench needs no sign-in: the account and its session are written as they are kept
            session.add(
                UserRow(
                    username=name,
                    role="team",
                    team_id=t.id,
                    password_hash="!",
                    disabled=False,
                    created_at=now,
                    display_name="",
                )
            )
            session_hash = os.urandom(32).hex()
            session.add(
                WebSessionRow(
                    id_hash=session_hash,
                    username=name,
                    csrf_token="-",
                    created_at=now,
                    expires_at=now + timedelta(hours=12),
                )
            )
            key, auth = ec.generate_private_key(P256), os.urandom(16)
            path = f"/push/{name}"
            keys[path] = (key, auth)
            subscription = (push_url + path, b64url(public_point(key)), b64url(auth))
            push_subscriptions.subscribe(session, name, session_hash, subscription, now)
            phones[name] = f"+86138{n:08d}"
    for t in teams:
        name = f"crew.{t.id}".lower()
        set_duty(services, Caller(Role.TEAM, t.id, f"user:{name}"), name, True)
    return Crew(keys), phones


def offer(services: Services, incidents: list[Incident], rate: float) -> float:
    """Route the incidents at `rate` a second (0: as fast as routing goes); the seconds taken."""
    start, sent, offset = time.monotonic(), 0, 0
    while sent < len(incidents):
        elapsed = time.monotonic() - start
        due = len(incidents) if rate == 0 else min(len(incidents), int(elapsed * rate) + 1)
        if due <= sent:
            time.sleep(TICK_S / 4)
            continue
        if rate == 0:
            due = min(len(incidents), sent + 200)
        records = []
        for incident in incidents[sent:due]:
            stamped = incident.model_copy(update={"reported_at": datetime.now(UTC)})
            envelope = envelope_for(
                IncidentReported(**stamped.model_dump()),
                producer="bench",
                key=stamped.partition_key,
                at=stamped.reported_at,
            )
            records.append(Record(topics.INCIDENTS, 0, offset, b"k", envelope.to_bytes()))
            offset += 1
        handle_incident_records(services, records)
        sent = due
        if rate:
            time.sleep(max(0.0, TICK_S - (time.monotonic() - start - elapsed)))
    return time.monotonic() - start


def assigned_at(services: Services, ids: set[str]) -> dict[str, float]:
    """When each incident's team.assigned occurred, wall seconds."""
    found = {}
    with services.reads() as session:
        rows = session.execute(
            select(EVENT_LOG.c.subject, EVENT_LOG.c.occurred_at).where(
                EVENT_LOG.c.type == "team.assigned"
            )
        )
        for subject, occurred_at in rows:
            if subject in ids:
                found[subject] = occurred_at.timestamp()
    return found


def latencies(
    services: Services, crew: Crew, receivers: Receivers, ids: set[str]
) -> dict[str, Any]:
    """Per channel, ms from team.assigned to the first arrival of each task's message."""
    t0 = assigned_at(services, ids)
    arrived: dict[str, dict[str, float]] = {"push": {}, "sms": {}}
    unreadable = 0  # a request cut off (the notifier gave up waiting and retried)
    pushed, texted = receivers.got()
    for path, at, body in pushed:
        try:
            arrived["push"].setdefault(crew.incident_of(path, body), at)
        except (ValueError, IndexError, KeyError, InvalidTag):
            unreadable += 1
    for _, at, body in texted:
        try:
            arrived["sms"].setdefault(str(json.loads(body)["incident_id"]), at)
        except (ValueError, KeyError):
            unreadable += 1
    out: dict[str, Any] = {"unreadable_requests": unreadable}
    for channel, times in arrived.items():
        ms = np.array([(times[i] - t0[i]) * 1000 for i in ids if i in times and i in t0])
        out[channel] = {
            "delivered": int(ms.size),
            "p50": round(float(np.percentile(ms, 50)), 1) if ms.size else 0.0,
            "p99": round(float(np.percentile(ms, 99)), 1) if ms.size else 0.0,
            "max": round(float(ms.max()), 1) if ms.size else 0.0,
        }
    return out


def wait_until_delivered(receivers: Receivers, total: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if min(receivers.counts()) >= total:
            return True
        time.sleep(0.1)
    return False


@contextmanager
def lag_sampled(services: Services) -> Iterator[list[tuple[int, float]]]:
    """Every 0.1 s: events between the notifier's cursor and the log's head, and how old the
    first of them is (seconds)."""
    samples: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            cursor, head = cursor_and_head(services)
            age = 0.0
            if head > cursor:
                with services.reads() as session:
                    first = session.scalar(
                        select(EVENT_LOG.c.occurred_at).where(EVENT_LOG.c.seq == cursor + 1)
                    )
                age = time.time() - first.timestamp() if first else 0.0
            samples.append((head - cursor, age))

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield samples
    finally:
        stop.set()
        thread.join()


def start_notifier(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "EVERYCALL_DATABASE_URL": settings.database_url,
        "EVERYCALL_DATA_DIR": settings.data_dir,
        "EVERYCALL_NOTIFY_CONFIG_PATH": str(settings.notify_config_path),
        "EVERYCALL_NOTIFIER_POLL_S": str(settings.notifier_poll_s),
    }
    command = [sys.executable, "-m", "dispatch.entrypoints.cli.main", "notifier"]
    return subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def run(rate: float, seconds: float, burst: int, server_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="everycall-notify-bench-") as tmp, ExitStack() as own:
        # SQLite by default; on a PostgreSQL server, a scratch database of the run's own
        database_url = f"sqlite:///{tmp}/bench.db"
        if server_url is not None:
            database_url = own.enter_context(scratch_database(server_url))
        receivers = Receivers(201, 200)
        push_url, gateway_url = receivers.urls
        config = Path(tmp) / "notify.toml"
        settings = Settings(
            database_url=database_url,
            data_dir=tmp,
            notify_config_path=str(config),
            storm_radius_m=0.0,  # every report its own task: one assignment each
            notifier_poll_s=0.05,
        )
        with bootstrap.database(settings) as services:
            crew, phones = seed(services, push_url)
            webhook = f'[[webhooks]]\nname = "gateway"\nkind = "sms"\nurl = "{gateway_url}/send"\n'
            config.write_text(
                "[phones]\n"
                + "".join(f'"{n}" = "{p}"\n' for n, p in phones.items())
                + webhook
                + 'secret = "bench-secret"\n'
            )
            notifier = start_notifier(settings)
            try:
                return measure(services, crew, receivers, notifier.pid, rate, seconds, burst)
            finally:
                stop(notifier)
                receivers.close()


def measure(
    services: Services,
    crew: Crew,
    receivers: Receivers,
    pid: int,
    rate: float,
    seconds: float,
    burst: int,
) -> dict[str, Any]:
    now = datetime.now(UTC)
    warm = storm_incidents(100, now, seed=1, run="warm")
    offer(services, warm, 0)
    wait_until_delivered(receivers, len(warm), 120)  # the notifier's start, its first pass
    done = len(warm)

    offered = storm_incidents(int(rate * seconds), now, seed=2, run="offered")
    cpu_before = cpu_seconds(pid)
    with lag_sampled(services) as offered_lag:
        took = offer(services, offered, rate)
        wait_until_delivered(receivers, done + len(offered), 60)
    cpu_ms = (cpu_seconds(pid) - cpu_before) * 1000 / max(1, len(offered))
    steady = latencies(services, crew, receivers, {i.id for i in offered})
    done += len(offered)

    stormy = storm_incidents(burst, now, seed=3, run="burst")
    with lag_sampled(services) as burst_lag:
        start = time.monotonic()
        routed_s = offer(services, stormy, 0)
        drained = wait_until_delivered(receivers, done + len(stormy), 120)
        drain_s = time.monotonic() - start
    stormy_latency = latencies(services, crew, receivers, {i.id for i in stormy})
    return {
        "offered_rate_per_s": rate,
        "offered": len(offered),
        "achieved_rate_per_s": round(len(offered) / took, 1),
        "latency_ms": steady,
        "notifier_cpu_ms_per_assignment": round(cpu_ms, 2),
        "lag_at_offered_rate": _lag(offered_lag),
        "burst": {
            "assignments": len(stormy),
            "routed_per_s": round(len(stormy) / routed_s, 1),
            "all_delivered": drained,
            "delivered_in_s": round(drain_s, 2),
            "notified_per_s": round(len(stormy) / drain_s, 1),
            "lag": _lag(burst_lag),
            "latency_ms": stormy_latency,
        },
    }


def _lag(samples: list[tuple[int, float]]) -> dict[str, float]:
    if not samples:
        return {"max_events": 0, "max_s": 0.0, "p99_s": 0.0}
    ages = np.array([age for _, age in samples])
    return {
        "max_events": int(max(events for events, _ in samples)),
        "max_s": round(float(ages.max()), 3),
        "p99_s": round(float(np.percentile(ages, 99)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500.0, help="assignments a second")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to offer them")
    parser.add_argument("--burst", type=int, default=5000, help="assignments as fast as routed")
    parser.add_argument("--json-out", type=Path, default=None)
    parser.add_argument(
        "--database-url", default=None, help="a PostgreSQL server (default: a SQLite file)"
    )
    args = parser.parse_args()
    result = run(args.rate, args.seconds, args.burst, args.database_url)
    result["database"] = "postgresql" if args.database_url else "sqlite"
    line = json.dumps(result, ensure_ascii=False)
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
