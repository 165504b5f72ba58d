"""What the notifier tests share: a real HTTP server on the loopback that stands for a push
service or a webhook's receiver (it records what arrives and answers as scripted), a browser's
side of Web Push written independently of everycall's (its own keys, RFC 8291 decryption with
`cryptography`'s HKDF, the VAPID check of RFC 8292), crew members signed in through the API,
tasks routed to a team, and the notifier run in a thread as `everycall serve` runs it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi.testclient import TestClient
from sqlalchemy import select

from dispatch.adapters.push_crypto import b64url, b64url_decode
from dispatch.entrypoints.api.deps import CSRF_HEADER
from dispatch.entrypoints.notifier import notifier_loop
from dispatch.service_layer import users
from dispatch.service_layer.access import Role
from dispatch.service_layer.notify_record import cursor_and_head
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from events import topics
from events.kafka import Record
from events.log import LoggedEvent
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from tests.integration.spine_helpers import WUHAN, incident

PASSWORD = "长江大桥-2026-good"
T = TypeVar("T")


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() on arrival
    probed: Any = None  # what the receiver's probe saw on arrival (Receiver.probe)

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # not socketserver's 5: the notifier's lanes connect at once


class Receiver:
    """A real HTTP server on 127.0.0.1: records every POST, answers a path with the statuses
    scripted for it in turn, then with `default`."""

    def __init__(self, default: int = 201) -> None:
        self.received: list[Received] = []
        self.scripted: dict[str, deque[int]] = {}
        self.default = default
        self.gates: dict[str, threading.Event] = {}  # a path held until its event is set
        self.probe: Callable[[], Any] | None = None  # called as each request arrives
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as push services and gateways speak

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                gate = receiver.gates.get(self.path)
                if gate is not None:
                    gate.wait(30)
                probed = receiver.probe() if receiver.probe else None
                status = receiver._record(
                    Received(self.path, dict(self.headers), body, time.time(), probed)
                )
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _record(self, received: Received) -> int:
        with self._lock:
            self.received.append(received)
            statuses = self.scripted.get(received.path)
            return statuses.popleft() if statuses else self.default

    def script(self, path: str, *statuses: int) -> None:
        self.scripted[path] = deque(statuses)

    def hold(self, path: str) -> threading.Event:
        """Requests to `path` wait before they are answered until the event is set."""
        self.gates[path] = threading.Event()
        return self.gates[path]

    def __enter__(self) -> Receiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout_s: float = 15.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.received)} requests arrived, {count} expected")


class Browser:
    """A browser's push subscription with real keys: a P-256 pair and a 16-byte auth secret."""

    def __init__(self, push_service: Receiver, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.endpoint = f"{push_service.url}/push/{name}"

    @property
    def p256dh(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    def subscription(self) -> dict[str, Any]:
        """What `PushSubscription.toJSON()` gives."""
        keys = {"p256dh": b64url(self.p256dh), "auth": b64url(self.auth)}
        return {"endpoint": self.endpoint, "expirationTime": None, "keys": keys}

    def decrypt(self, body: bytes) -> dict[str, Any]:
        """RFC 8291 §3.4 and RFC 8188 on the receiving side, as the browser reads a push."""
        salt, record_size, id_length = body[:16], int.from_bytes(body[16:20], "big"), body[20]
        sender = body[21 : 21 + id_length]
        ciphertext = body[21 + id_length :]
        assert record_size >= len(ciphertext)
        shared = self.key.exchange(
            ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), sender)
        )
        key_info = b"WebPush: info\x00" + self.p256dh + sender
        ikm = HKDF(hashes.SHA256(), 32, salt=self.auth, info=key_info).derive(shared)
        cek = HKDF(hashes.SHA256(), 16, salt=salt, info=b"Content-Encoding: aes128gcm\x00")
        nonce = HKDF(hashes.SHA256(), 12, salt=salt, info=b"Content-Encoding: nonce\x00")
        plain = AESGCM(cek.derive(ikm)).decrypt(nonce.derive(ikm), ciphertext, None)
        plain = plain.rstrip(b"\x00")
        assert plain.endswith(b"\x02"), "the last record ends with the 0x02 delimiter"
        document: dict[str, Any] = json.loads(plain[:-1])
        return document


def verified_vapid_claims(authorization: str, public_key: str) -> dict[str, Any]:
    """The claims of a push's VAPID token once its ES256 signature checks against the key
    (RFC 8292 §2, §3); AssertionError or InvalidSignature if not."""
    found = re.fullmatch(r"vapid t=([\w-]+\.[\w-]+\.[\w-]+), k=([\w-]+)", authorization)
    assert found is not None, authorization
    token, key = found.groups()
    assert key == public_key
    header, claims, signature = token.split(".")
    raw = b64url_decode(signature)
    assert len(raw) == 64
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(b64url_decode(header)) == {"typ": "JWT", "alg": "ES256"}
    document: dict[str, Any] = json.loads(b64url_decode(claims))
    return document


# --- people and tasks --------------------------------------------------------------------------


def add_member(services: Services, username: str, team_id: str) -> None:
    with services.sessions.begin() as session:
        users.add_user(
            session, username, Role.TEAM, PASSWORD, at=services.clock.now(), team_id=team_id
        )


def signed_in(client: TestClient, username: str) -> dict[str, str]:
    """Sign `client` in as `username`; the CSRF header its changes carry."""
    answer = client.post("/session", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {CSRF_HEADER: answer.json()["csrf_token"]}


def on_duty_with_push(client: TestClient, csrf: dict[str, str], browser: Browser) -> str:
    """What the crew app does at the start of a shift: on duty, then subscribe; the id."""
    duty = client.put("/me/duty", json={"on_duty": True}, headers=csrf)
    assert duty.status_code == 200 and duty.json() == {"on_duty": True}, duty.text
    made = client.post("/push/subscriptions", json=browser.subscription(), headers=csrf)
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def assign(services: Services, n: int, address: str = "解放大道1号") -> str:
    """Report an incident in Wuhan and route it (to the only team near enough); its id."""
    task = incident(n, *WUHAN, services.clock.now()).model_copy(update={"address": address})
    envelope = envelope_for(
        IncidentReported(**task.model_dump()), producer="test", key="wuhan", at=task.reported_at
    )
    handle_incident_records(services, [Record(topics.INCIDENTS, 0, n, b"w", envelope.to_bytes())])
    return task.id


def logged(services: Services, *types: str) -> list[dict[str, Any]]:
    """The envelopes of these types, in log order."""
    with services.reads() as session:
        rows = session.scalars(
            select(LoggedEvent.envelope)
            .where(LoggedEvent.type.in_(types))
            .order_by(LoggedEvent.seq)
        ).all()
    return [json.loads(row) for row in rows]


def log_text(services: Services) -> str:
    with services.reads() as session:
        return "\n".join(session.scalars(select(LoggedEvent.envelope)).all())


def eventually(check: Callable[[], T | None], timeout_s: float = 15.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError("not reached in time")


def caught_up(services: Services) -> None:
    """Wait until the notifier's cursor reaches the log's head."""

    def at_head() -> bool:
        cursor, head = cursor_and_head(services)
        return cursor >= head

    eventually(at_head)


@contextmanager
def notifier_running(services: Services) -> Iterator[None]:
    """The notifier in a thread of its own, as `everycall serve` runs it; stopped after."""
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(notifier_loop(services, stop.is_set))
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=run, name="test-notifier", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(20)
        if thread.is_alive():
            stacks = "".join(
                "".join(traceback.format_stack(frame)) for frame in sys._current_frames().values()
            )
            raise AssertionError(f"the notifier did not stop:\n{stacks}")
        assert not failure, failure
