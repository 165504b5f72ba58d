"""Bad input thrown at the HTTP API on both databases: it answers 4xx naming the field, never
5xx, and stages nothing it refused. (tests/fuzz/test_api_schema.py runs schemathesis.)
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator
from contextlib import nullcontext
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dispatch.adapters.orm import OutboxRow
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from models.hubei import DIVISION_BY_CODE
from models.incident import AreaClass, IncidentKind, Priority, ReporterChannel
from tests.integration.spine_helpers import WUHAN, seed_teams, team

REPORT = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1], "address": "1 Road"}
FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def unlimited(services: Services) -> Services:
    """The services with a rate limit no fuzzer reaches (the limit has tests of its own)."""
    settings = services.settings.model_copy(update={"api_rate_per_s": 1e9, "api_rate_burst": 10**9})
    return dataclasses.replace(services, settings=settings)


@pytest.fixture
def center(services: Services) -> Iterator[tuple[TestClient, Services]]:
    """The API on real parts, with a dispatch-center token."""
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", WUHAN[0] + 0.2, WUHAN[1])])
    fast = unlimited(services)
    with fast.sessions.begin() as session:
        token = create_token(session, Role.DISPATCHER)
    app = create_app(lambda: nullcontext(fast), run_relay=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, fast


def staged(services: Services) -> int:
    with services.reads() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxRow)) or 0)


def _wrong_for(field: str) -> st.SearchStrategy[Any]:
    """Values `field` must refuse: wrong types, outside the service area, unknown names."""
    if field in ("latitude", "longitude"):
        low, high = (28.0, 34.3) if field == "latitude" else (107.3, 117.1)
        return st.one_of(
            st.text(max_size=5).filter(lambda t: not _is_number(t)),
            st.lists(st.integers(), max_size=2),
            st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
            st.floats(min_value=-1e9, max_value=low - 0.01),
            st.floats(min_value=high + 0.01, max_value=1e9),
            st.just(None),
        )
    if field in ENUMS:
        return st.one_of(
            st.text(max_size=20).filter(lambda t: t not in ENUMS[field]),
            st.integers(),
            st.lists(st.just(1), max_size=1),
        )
    if field == "region":
        return st.text(min_size=1, max_size=70).filter(lambda t: t not in DIVISION_BY_CODE)
    if field == "address":
        return st.one_of(
            st.text(min_size=501, max_size=600),
            st.text(max_size=20).map(lambda t: t + "\x00"),
            st.integers(),
        )
    raise AssertionError(field)


ENUMS = {
    "kind": [k.value for k in IncidentKind],
    "priority": [p.value for p in Priority],
    "channel": [c.value for c in ReporterChannel],
    "area_class": [a.value for a in AreaClass],
}
FIELDS = ["latitude", "longitude", "kind", "priority", "channel", "area_class", "region", "address"]


@FUZZ
@given(data=st.data())
def test_bad_report_fields_are_refused_naming_the_field(
    center: tuple[TestClient, Services], data: st.DataObject
) -> None:
    client, services = center
    field = data.draw(st.sampled_from(FIELDS))
    value = data.draw(_wrong_for(field))
    before = staged(services)
    answer = client.post("/incidents", json=REPORT | {field: value})
    assert answer.status_code == 422, (field, value, answer.text)
    named = [tuple(error["loc"]) for error in answer.json()["detail"]]
    assert ("body", field) in named, (field, value, named)
    assert staged(services) == before


@FUZZ
@given(extra=st.text(min_size=1, max_size=20).filter(lambda k: k not in REPORT and k not in FIELDS))
def test_unknown_report_fields_are_refused_by_name(
    center: tuple[TestClient, Services], extra: str
) -> None:
    client, _ = center
    answer = client.post("/incidents", json=REPORT | {extra: 1})
    assert answer.status_code == 422
    assert ["body", extra] in [error["loc"] for error in answer.json()["detail"]]


@FUZZ
@given(raw=st.binary(max_size=300))
def test_a_body_that_is_not_a_report_is_refused_without_a_server_error(
    center: tuple[TestClient, Services], raw: bytes
) -> None:
    client, services = center
    before = staged(services)
    answer = client.post("/incidents", content=raw, headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422), answer.text
    assert staged(services) == before


@FUZZ
@given(
    address=st.text(
        st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=500
    )
)
def test_any_unicode_address_is_kept_exactly(
    center: tuple[TestClient, Services], address: str
) -> None:
    client, services = center
    answer = client.post("/incidents", json=REPORT | {"address": address})
    assert answer.status_code == 202, answer.text
    incident_id = answer.json()["id"]
    with services.reads() as session:
        value = session.scalar(select(OutboxRow.value).order_by(OutboxRow.id.desc()).limit(1))
    payload = json.loads(value or b"{}")["payload"]
    assert (payload["id"], payload["address"]) == (incident_id, address)


@FUZZ
@given(
    path_id=st.text(min_size=1, max_size=80).filter(lambda t: t not in (".", "..")),
    route=st.sampled_from(
        ["GET /incidents/{}", "GET /teams/{}", "GET /teams/{}/tasks", "POST /tasks/{}/ack"]
    ),
)
def test_any_id_in_the_url_is_answered_without_a_server_error(
    center: tuple[TestClient, Services], path_id: str, route: str
) -> None:
    client, _ = center
    method, template = route.split()
    answer = client.request(method, template.format(quote(path_id, safe="")))
    assert answer.status_code in (400, 403, 404, 422), (path_id, answer.status_code, answer.text)


def test_a_nul_in_the_url_is_refused_naming_where(center: tuple[TestClient, Services]) -> None:
    client, _ = center
    for url, part in (("/incidents/a%00b", "path"), ("/incidents?region=a%00b", "query")):
        answer = client.get(url)
        assert answer.status_code == 400
        assert answer.json()["detail"][0]["loc"] == [part]


def test_a_query_parameter_given_twice_is_refused_naming_it(
    center: tuple[TestClient, Services],
) -> None:
    """Each parameter takes one value: a second one is refused, not silently preferred."""
    client, _ = center
    for url, name in (
        ("/incidents?region=wuhan&limit=5&region=yichang", "region"),
        ("/incidents?limit=1&limit=1000", "limit"),
    ):
        answer = client.get(url)
        assert answer.status_code == 422, answer.text
        assert answer.json()["detail"][0]["loc"] == ["query", name]
    assert client.get("/incidents?region=wuhan&limit=5").status_code != 422


def test_idempotency_key_reused_for_another_report_is_422_naming_the_header(
    center: tuple[TestClient, Services],
) -> None:
    client, _ = center
    key = {"Idempotency-Key": uuid.uuid4().hex}
    assert client.post("/incidents", json=REPORT, headers=key).status_code == 202
    other = client.post("/incidents", json=REPORT | {"latitude": 30.7}, headers=key)
    assert other.status_code == 422
    assert other.json()["detail"][0]["loc"] == ["header", "idempotency-key"]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
