"""Raw bytes thrown at the HTTP API on both databases, over a real socket to uvicorn (and at the
ASGI app with a raw scope for bytes uvicorn refuses itself, as another server may not): every
answer is a 4xx whose body is strict JSON naming what was wrong, and nothing is staged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from starlette.types import Message

from dispatch.adapters.orm import IdempotencyKeyRow, IncidentRow, OutboxRow
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from tests.fuzz.test_api_fuzz import unlimited
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team
from tests.integration.test_lifecycle_support import route as route_reports
from tests.served_api import api_in_a_thread

REPORT = b'{"kind":"repair","latitude":%b,"longitude":%b,"address":"1 Road"}' % (
    str(WUHAN[0]).encode(),
    str(WUHAN[1]).encode(),
)
JSON = {"Content-Type": "application/json"}
# Every route that reads a body: its path, the body with a slot for one value, and the field
# the slot is (a report's address: a string there would be stored as it came).
BODY_ROUTES = {
    "report": ("/incidents", REPORT.replace(b'"1 Road"', b"%b"), "address"),
    "cancel": ("/incidents/{id}/cancel", b'{"reason":%b}', "reason"),
    "priority": ("/incidents/{id}/priority", b'{"priority":%b}', "priority"),
    "decline": ("/tasks/{id}/decline", b'{"reason":%b}', "reason"),
    "resolve": ("/tasks/{id}/resolve", b'{"notes":%b}', "notes"),
}
# Values Python's json reads but JSON forbids, or that are not UTF-8 text.
FORBIDDEN_VALUES = {
    "NaN": b"NaN",
    "Infinity": b"Infinity",
    "-Infinity": b"-Infinity",
    "1e999 (reads as inf)": b"1e999",
    "-1e999": b"-1e999",
    "400-digit decimal (reads as inf)": b"1" * 400 + b".5",
    "5000-digit integer": b"9" * 5000,
    "escaped lone high surrogate": b'"\\ud800"',
    "escaped lone low surrogate": b'"x\\uDFFF"',
    "UTF-8-encoded surrogate": b'"\xed\xa0\x80"',
    "bytes that are not UTF-8": b'"\xff\xfe"',
    "overlong encoding": b'"\xc0\xaf"',
    "truncated sequence": b'"\xe4\xb8"',
    "list holding NaN": b"[1, NaN]",
}
# Whole bodies, sent with each content type: none of them is a request any route takes.
RAW_BODIES = {
    "bare NaN": b"NaN",
    "not UTF-8 outside a string": b'{"reason":\xff}',
    "UTF-16": '{"reason": "x"}'.encode("utf-16"),
    "NUL bytes": b"\x00\x01\xff",
    "lone surrogate in a key": b'{"\\ud800": 1}',
    **{f"arrays nested {n} deep": b"[" * n + b"]" * n for n in (100, 900, 1000, 2000, 30_000)},
    **{f"objects nested {n} deep": b'{"a":' * n + b"1" + b"}" * n for n in (900, 10_000)},
    "NaN nested 20 deep": b'{"a":' * 20 + b"NaN" + b"}" * 20,
}
# A value each route takes, so a refusal is known to be the bad value's.
GOOD_VALUES = {
    "report": b'"2 Road"',
    "cancel": b'"a false alarm"',
    "priority": b'"critical"',
    "decline": b'"crew at another fault"',
    "resolve": b'"fuse replaced"',
}
# Pieces the fuzzer strings together, with random bytes, into one value.
FRAGMENTS = [b"NaN", b"-Infinity", b"1e999", b"0.5", b'"', b"\\ud800", b"\xed\xa0\x80", b"\xff"]
FRAGMENTS += [b"[", b"]", b"{", b"}", b",", b":", b'"a"', b"\\", b"\x00"]
FIELD_BYTES = st.lists(st.sampled_from(FRAGMENTS) | st.binary(min_size=1, max_size=6), max_size=12)
CONTENT_TYPES = [b"application/json", b"application/problem+json; charset=utf-8", b"text/plain"]


@dataclass
class Api:
    """The API served by uvicorn on a free port, an incident assigned to a team, and a second
    app on the same parts for raw ASGI scopes."""

    client: httpx.Client
    port: int
    token: bytes
    incident_id: str
    services: Services
    app: FastAPI


@pytest.fixture
def api(services: Services) -> Iterator[Api]:
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", WUHAN[0] + 0.2, WUHAN[1])])
    fast = unlimited(services)
    with fast.sessions.begin() as session:
        token = create_token(session, Role.DISPATCHER)
    assigned = incident(1, *WUHAN, fast.clock.now())
    route_reports(fast, [assigned])
    auth = {"Authorization": f"Bearer {token}"}
    with (
        api_in_a_thread(fast, log_level="error") as url,
        httpx.Client(base_url=url, headers=auth, timeout=10) as client,
    ):
        scope_app = create_app(lambda: nullcontext(fast), run_relay=False)
        port = int(url.rsplit(":", 1)[1])
        yield Api(client, port, token.encode(), assigned.id, fast, scope_app)


def staged(services: Services) -> tuple[int, ...]:
    """Outbox rows, incidents and idempotency keys stored so far."""
    with services.reads() as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(table)) or 0)
            for table in (OutboxRow, IncidentRow, IdempotencyKeyRow)
        )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def strict_json(raw: bytes) -> Any:
    """`raw` as RFC 8259 JSON: UTF-8, no NaN or Infinity, no lone surrogate in a string."""
    document = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
    json.dumps(document, ensure_ascii=False).encode("utf-8")  # refuses a lone surrogate
    return document


def refusal(status: int, raw: bytes) -> tuple[str | None, list[tuple[Any, ...]]]:
    """What is wrong with an answer meant to refuse bad input (None if nothing), and the
    places its errors name."""
    if not 400 <= status < 500:
        return f"status {status}: {raw[:200]!r}", []
    try:
        detail = strict_json(raw)["detail"]
    except (ValueError, KeyError, TypeError) as error:
        return f"status {status}, body not strict JSON ({error}): {raw[:200]!r}", []
    if isinstance(detail, str):
        return None, []
    return None, [tuple(error["loc"]) for error in detail]


def path_of(api: Api, route: str) -> str:
    return BODY_ROUTES[route][0].format(id=api.incident_id)


def assert_a_good_value_is_taken_and_staged(api: Api, route: str) -> None:
    """The same route and incident take a good value, and staging it shows in the count."""
    if route == "resolve":
        for step in ("ack", "en-route", "on-scene"):
            assert api.client.post(f"/tasks/{api.incident_id}/{step}").status_code == 200
    before = staged(api.services)
    body = BODY_ROUTES[route][1] % GOOD_VALUES[route]
    answer = api.client.post(path_of(api, route), content=body, headers=JSON)
    assert answer.status_code in (200, 202), answer.text
    assert staged(api.services) != before


# Bodies over the socket (httpx sends the bytes as given) ---------------------------------------


def test_nan_latitude_is_refused_naming_the_field_not_a_server_error(api: Api) -> None:
    before = staged(api.services)
    body = REPORT.replace(str(WUHAN[0]).encode(), b"NaN")
    whole = api.client.post("/incidents", content=body, headers=JSON)
    chunked = api.client.post("/incidents", content=iter([body[:30], body[30:]]), headers=JSON)
    for answer in (whole, chunked):
        problem, named = refusal(answer.status_code, answer.content)
        assert problem is None, problem
        assert answer.status_code == 422
        assert ("body", "latitude") in named, named
    assert staged(api.services) == before


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_a_value_json_forbids_is_refused_naming_the_field(api: Api, route: str) -> None:
    _, template, field = BODY_ROUTES[route]
    before = staged(api.services)
    problems = []
    for name, value in FORBIDDEN_VALUES.items():
        answer = api.client.post(path_of(api, route), content=template % value, headers=JSON)
        problem, named = refusal(answer.status_code, answer.content)
        if problem is None and not any(loc[:2] == ("body", field) for loc in named):
            problem = f"{answer.status_code} does not name {field}: {named}"
        if problem is not None:
            problems.append(f"{name}: {problem}")
    assert not problems, "\n".join(problems)
    assert staged(api.services) == before
    assert_a_good_value_is_taken_and_staged(api, route)


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_any_raw_body_is_refused_with_strict_json(api: Api, route: str) -> None:
    before = staged(api.services)
    problems = []
    for name, body in RAW_BODIES.items():
        for content_type in [*CONTENT_TYPES, None]:
            headers = {} if content_type is None else {b"Content-Type": content_type}
            answer = api.client.post(path_of(api, route), content=body, headers=headers)
            problem, _ = refusal(answer.status_code, answer.content)
            if problem is not None:
                problems.append(f"{name} as {content_type!r}: {problem}")
    assert not problems, "\n".join(problems)
    assert staged(api.services) == before
    assert_a_good_value_is_taken_and_staged(api, route)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(route=st.sampled_from(sorted(BODY_ROUTES)), raw=FIELD_BYTES.map(b"".join))
def test_any_bytes_in_a_field_are_answered_without_a_server_error(
    api: Api, route: str, raw: bytes
) -> None:
    _, template, _ = BODY_ROUTES[route]
    before = staged(api.services)
    answer = api.client.post(path_of(api, route), content=template % raw, headers=JSON)
    assert answer.status_code < 500, answer.text
    strict_json(answer.content)
    if answer.status_code >= 400:
        assert staged(api.services) == before


# URLs and headers over a raw socket (httpx would encode or refuse these bytes) -----------------


def send_raw(port: int, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def test_url_and_header_bytes_are_refused_with_strict_json_naming_where(api: Api) -> None:
    auth = b"Authorization: Bearer " + api.token + b"\r\n"
    nan_report = REPORT.replace(b'"1 Road"', b"NaN")
    cases: list[tuple[bytes, bytes, bytes, int, tuple[str, ...] | None]] = [
        (b"GET /incidents/%ff%fe", auth, b"", 404, None),
        (b"GET /teams/%ED%A0%80", b"", b"", 404, None),
        (b"POST /tasks/%ff/ack", auth, b"", 404, None),
        (b"GET /incidents?limit=%ff", auth, b"", 422, ("query", "limit")),
        (b"GET /incidents?state=%ED%A0%80", auth, b"", 422, ("query", "state")),
        (b"GET /incidents?region=%00", auth, b"", 400, ("query",)),
        (b"POST /incidents", auth + b"Idempotency-Key: \xff\xfe\r\n", REPORT, 422,
         ("header", "idempotency-key")),
        (b"GET /incidents", b"Authorization: Bearer \xff\xfe\r\n", b"", 401, None),
        (b"POST /incidents", auth + b"Content-Type: application/json; charset=\xff\r\n",
         nan_report, 422, ("body", "address")),
        (b"POST /incidents", auth + b"Content-Type: application/json\r\n"
         b"Content-Length: 99999999999\r\n", b"", 413, None),
    ]  # fmt: skip
    before = staged(api.services)
    problems = []
    for line, headers, body, expected, where in cases:
        if body and b"Content-Type" not in headers:
            headers += b"Content-Type: application/json\r\n"
        if b"Content-Length" not in headers:
            headers += b"Content-Length: %d\r\n" % len(body)
        request = line + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n"
        status, answer = send_raw(api.port, request + body)
        problem, named = refusal(status, answer)
        if problem is None and (status != expected or (where and where not in named)):
            problem = f"{status} naming {named}, not {expected} naming {where}"
        if problem is not None:
            problems.append(f"{line!r} {headers!r}: {problem}")
    assert not problems, "\n".join(problems)
    assert staged(api.services) == before


# Raw ASGI scopes: what uvicorn refuses itself, another server may pass on ----------------------


@dataclass(frozen=True)
class Scoped:
    """One request as an ASGI server would hand it over, and the refusal it should get."""

    method: str
    path: str  # as the server decoded it: a lone surrogate stands for a byte not UTF-8
    raw_path: bytes
    expected: int
    where: tuple[str, ...] | None = None
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes = b""


def drive(app: FastAPI, request: Scoped, auth: tuple[bytes, bytes]) -> tuple[int, bytes]:
    """`request` at the app (with `auth` first among its headers): the status and the body."""

    async def exchange() -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": "http",
            "path": request.path,
            "raw_path": request.raw_path,
            "root_path": "",
            "query_string": request.query,
            "headers": [(b"host", b"x"), auth, *request.headers],
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 80),
        }
        incoming: list[Message] = [{"type": "http.request", "body": request.body}]
        sent: list[Message] = []

        async def receive() -> Message:
            return incoming.pop() if incoming else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            sent.append(message)

        async with app.router.lifespan_context(app):
            with contextlib.suppress(Exception):  # the server-error middleware re-raises
                await app(scope, receive, send)
        status = next(m["status"] for m in sent if m["type"] == "http.response.start")
        return status, b"".join(m.get("body", b"") for m in sent[1:])

    return asyncio.run(exchange())


JSON_TYPE = (b"content-type", b"application/json")
SCOPED = [
    Scoped("GET", "/incidents/\udcff", b"/incidents/\xff", 400, ("path",)),
    Scoped("GET", "/teams/\ud800", b"/teams/\xed\xa0\x80", 400, ("path",)),
    Scoped(
        "POST",
        "/tasks/\udcff/decline",
        b"/tasks/\xff/decline",
        400,
        ("path",),
        headers=(JSON_TYPE,),
        body=b'{"reason":"x"}',
    ),
    Scoped("GET", "/incidents", b"/incidents", 422, ("query", "limit"), query=b"limit=\xff\xfe"),
    Scoped("GET", "/incidents", b"/incidents", 400, ("query",), query=b"region=\xff\x00"),
    Scoped(
        "POST",
        "/incidents",
        b"/incidents",
        422,
        ("header", "idempotency-key"),
        headers=(JSON_TYPE, (b"idempotency-key", b"\xff\x00\xfe")),
        body=REPORT,
    ),
    Scoped(
        "POST",
        "/incidents",
        b"/incidents",
        413,
        headers=(JSON_TYPE, (b"content-length", b"9" * 5000)),
        body=REPORT,
    ),
    Scoped(
        "POST",
        "/incidents",
        b"/incidents",
        422,
        ("body", "address"),
        headers=(JSON_TYPE,),
        body=REPORT.replace(b'"1 Road"', b"NaN"),
    ),
    Scoped(
        "POST",
        "/incidents",
        b"/incidents",
        422,
        headers=((b"content-type", b"\xff/json\xfe"),),
        body=b"\xff" + REPORT,
    ),
]


def test_bytes_a_server_may_pass_on_are_refused_with_strict_json_naming_where(api: Api) -> None:
    before = staged(api.services)
    problems = []
    for request in SCOPED:
        status, answer = drive(api.app, request, (b"authorization", b"Bearer " + api.token))
        problem, named = refusal(status, answer)
        wrong_place = request.where is not None and request.where not in named
        if problem is None and (status != request.expected or wrong_place):
            problem = f"{status} naming {named}, not {request.expected} naming {request.where}"
        if problem is not None:
            problems.append(f"{request}: {problem}")
    assert not problems, "\n".join(problems)
    assert staged(api.services) == before
