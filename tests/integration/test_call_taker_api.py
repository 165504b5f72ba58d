"""The call-taker's look-ups over HTTP, on SQLite and PostgreSQL: an address resolved offline,
the open incidents of the same kind nearby, and the hardship register by account number or
address; readers only."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from dispatch.adapters.household_files import load_households
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import incidents
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.households import import_households
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from events import topics
from events.kafka import Record
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team

KM_OF_LATITUDE = 1 / 111.2
SAMPLE = Path(__file__).resolve().parents[2] / "config" / "households.sample.csv"


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    seed_teams(services, [team("team-a", *WUHAN, capacity=5)])
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as test_client:
        yield test_client


def bearer(services: Services, role: Role, team_id: str | None = None) -> dict[str, str]:
    with services.sessions.begin() as session:
        token = create_token(session, role, team_id, pepper=services.settings.api_token_pepper)
    return {"Authorization": f"Bearer {token}"}


def stored(services: Services, n: int, km_north: float, minutes: int, kind: str = "repair") -> str:
    """An incident reported `minutes` after the clock's start, `km_north` of Wuhan's centre."""
    at = services.clock.now() + timedelta(minutes=minutes)
    made = incident(n, WUHAN[0] + km_north * KM_OF_LATITUDE, WUHAN[1], at, kind)
    envelope = envelope_for(
        IncidentReported(**made.model_dump()), producer="test", key="wuhan", at=at
    )
    record = Record(topics.INCIDENTS, 0, n, b"wuhan", envelope.to_bytes())
    handle_incident_records(services, [record])
    return made.id


def test_an_address_resolves_to_its_division_district_and_seat(
    client: TestClient, services: Services
) -> None:
    dispatcher = bearer(services, Role.DISPATCHER)
    answer = client.get(
        "/places/resolve", params={"address": "武汉市武昌区中北路1号"}, headers=dispatcher
    )
    assert answer.status_code == 200, answer.text
    place = answer.json()
    assert (place["status"], place["division"], place["district"]) == (
        "resolved",
        "wuhan",
        "武昌区",
    )
    assert place["precision"] == "district"
    assert abs(place["latitude"] - 30.5544) < 0.01 and abs(place["longitude"] - 114.3167) < 0.01

    elsewhere = client.get(
        "/places/resolve", params={"address": "广东省深圳市南山区"}, headers=dispatcher
    )
    assert elsewhere.status_code == 200
    assert (elsewhere.json()["status"], elsewhere.json()["province"]) == ("outside_hubei", "广东省")
    assert elsewhere.json()["latitude"] is None
    nonsense = client.get("/places/resolve", params={"address": "qwerty"}, headers=dispatcher)
    assert nonsense.json()["status"] == "unresolved" and nonsense.json()["division"] is None
    assert (
        client.get("/places/resolve", params={"address": ""}, headers=dispatcher).status_code == 422
    )
    too_long = {"address": "武" * 501}
    assert client.get("/places/resolve", params=too_long, headers=dispatcher).status_code == 422


def test_nearby_lists_open_incidents_of_the_kind_within_the_radius_newest_first(
    client: TestClient, services: Services
) -> None:
    older = stored(services, 1, km_north=0.0, minutes=0)
    newer = stored(services, 2, km_north=1.0, minutes=5)
    farther = stored(services, 3, km_north=5.0, minutes=6)
    stored(services, 4, km_north=0.2, minutes=7, kind="outage")
    cancelled = stored(services, 5, km_north=0.1, minutes=8)
    incidents.cancel(services, cancelled, Caller(Role.DISPATCHER, name="test"), "duplicate")
    auditor = bearer(services, Role.AUDITOR)
    where = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1]}

    answer = client.get("/incidents/nearby", params=where, headers=auditor)
    assert answer.status_code == 200, answer.text
    near = answer.json()
    assert (near["count"], near["radius_km"]) == (2, 2.0)  # the default radius
    assert [i["id"] for i in near["incidents"]] == [newer, older]
    assert near["incidents"][0]["distance_km"] == pytest.approx(1.0, abs=0.02)
    assert near["incidents"][1]["distance_km"] == pytest.approx(0.0, abs=0.001)
    wider = client.get("/incidents/nearby", params=where | {"radius_km": 6}, headers=auditor)
    assert [i["id"] for i in wider.json()["incidents"]] == [farther, newer, older]
    one = client.get("/incidents/nearby", params=where | {"limit": 1}, headers=auditor).json()
    assert one["count"] == 2 and [i["id"] for i in one["incidents"]] == [newer]


def test_nearby_refuses_a_radius_over_the_cap_and_an_unknown_kind(
    client: TestClient, services: Services
) -> None:
    dispatcher = bearer(services, Role.DISPATCHER)
    where = {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1]}
    for wrong in ({"radius_km": 21}, {"radius_km": 0}, {"kind": "fire"}, {"latitude": 91}):
        answer = client.get("/incidents/nearby", params=where | wrong, headers=dispatcher)
        assert answer.status_code == 422, (wrong, answer.text)


def test_a_household_is_found_by_account_or_by_either_spelling_of_its_address(
    client: TestClient, services: Services
) -> None:
    with services.sessions.begin() as session:
        import_households(session, SAMPLE, load_households(SAMPLE), services.clock.now())
    dispatcher = bearer(services, Role.DISPATCHER)

    by_account = client.get("/households", params={"account": "9900000001"}, headers=dispatcher)
    assert by_account.status_code == 200, by_account.text
    (household,) = by_account.json()
    assert (household["division"], household["hardship"]) == ("wuhan", True)
    for spelling in ("湖北省武汉市武昌区中北路1号", "武昌区 中北路１号"):
        found = client.get("/households", params={"address": spelling}, headers=dispatcher)
        assert [h["account"] for h in found.json()] == ["9900000001"], spelling
    ordinary = client.get("/households", params={"account": "9900000003"}, headers=dispatcher)
    assert ordinary.json()[0]["hardship"] is False
    unknown = client.get("/households", params={"account": "1234567890"}, headers=dispatcher)
    assert (unknown.status_code, unknown.json()) == (200, [])
    register = client.get("/households", params={"limit": 5}, headers=dispatcher)
    assert (register.status_code, len(register.json())) == (200, 5)
    bad = client.get("/households", params={"account": "99;drop"}, headers=dispatcher)
    assert bad.status_code == 422


def test_only_the_dispatch_center_and_auditors_look_places_and_households_up(
    client: TestClient, services: Services
) -> None:
    crew = bearer(services, Role.TEAM, "team-a")
    for path, params in (
        ("/places/resolve", {"address": "武汉市"}),
        ("/incidents/nearby", {"kind": "repair", "latitude": WUHAN[0], "longitude": WUHAN[1]}),
        ("/households", {"account": "9900000001"}),
    ):
        assert client.get(path, params=params, headers=crew).status_code == 403, path
        assert client.get(path, params=params).status_code == 401, path
