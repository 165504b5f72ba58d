"""Weather alerts through the API, on SQLite and PostgreSQL: every sample in tests/data/cap
does what it says (declared, proposed, nothing, already on), once per alert; a bad one is a
422 with its reason and a dead letter that keeps it whole; auditors only read."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from dispatch.adapters.orm import DeadLetterRow, IdempotencyKeyRow, OutboxRow, StormModeRow
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer import alerts as alerts_service
from dispatch.service_layer.access import Caller, Role
from dispatch.service_layer.alerts import CLAIM_PREFIX, alert_event_id, ingest_cap_alert
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from events import topics
from events.cap import parse_alert
from events.log import LoggedEvent
from models.clock import ManualClock
from tests.integration.spine_helpers import seed_teams, team
from tests.integration.test_replay_scenario import replay_live

SAMPLES = Path(__file__).parents[1] / "data" / "cap"
CAP = {"Content-Type": "application/cap+xml"}
Client = tuple[TestClient, dict[str, dict[str, str]]]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.fixture
def api(services: Services) -> Iterator[Client]:
    homes = {"wuhan": (30.59, 114.30), "ezhou": (30.39, 114.89)}
    homes |= {"xiaogan": (30.92, 113.92), "jingzhou": (30.33, 112.24)}
    teams = [
        team(f"{division}-1", lat, lon).model_copy(update={"region": division})
        for division, (lat, lon) in homes.items()
    ]
    seed_teams(services, teams)
    with services.sessions.begin() as session:
        callers: dict[str, tuple[Role, str | None]] = {
            "dispatcher": (Role.DISPATCHER, None),
            "auditor": (Role.AUDITOR, None),
        }
        callers["team"] = (Role.TEAM, "wuhan-1")
        tokens = {
            who: {"Authorization": f"Bearer {create_token(session, role, team_id)}"}
            for who, (role, team_id) in callers.items()
        }
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as client:
        yield client, tokens


def post(client: TestClient, headers: dict[str, str], name: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    answer = client.post("/alerts/cap", content=sample(name), headers=headers | CAP)
    return answer.status_code, answer.json()


def actions(body: dict) -> dict[str, str]:  # type: ignore[type-arg]
    return {o["division"]: o["action"] for o in body["outcomes"]}


def storms_on(services: Services) -> set[str]:
    with services.reads() as session:
        return set(session.scalars(select(StormModeRow.division).where(StormModeRow.active)))


def logged(services: Services, event_type: str) -> list[dict]:  # type: ignore[type-arg]
    with services.reads() as session:
        texts = session.scalars(
            select(LoggedEvent.envelope).where(LoggedEvent.type == event_type)
        ).all()
    return [json.loads(t)["payload"] for t in texts]


def test_a_red_warning_over_wuhan_and_ezhou_declares_storm_mode_in_both(
    api: Client, services: Services
) -> None:
    client, who = api
    code, body = post(client, who["dispatcher"], "red-rainstorm-geocode.xml")
    assert code == 202, body
    assert actions(body) == {"ezhou": "declared", "wuhan": "declared"}
    assert body["duplicate"] is False and body["event"] == "暴雨红色预警"
    assert storms_on(services) == {"wuhan", "ezhou"}
    declared = logged(services, "storm.declared")
    assert {d["source"] for d in declared} == {"alert:42000041600000_20260702060000"}
    [actor] = {d["actor"] for d in declared}
    assert actor.startswith("dispatcher/")  # the token that sent the alert in
    [received] = logged(services, "alert.received")
    assert received["actor"] == actor and received["origin"] == "api"


def test_the_same_alert_twice_acts_once(api: Client, services: Services) -> None:
    client, who = api
    first = post(client, who["dispatcher"], "red-rainstorm-geocode.xml")
    again = post(client, who["dispatcher"], "red-rainstorm-geocode.xml")
    assert again[0] == 202 and again[1]["duplicate"] is True
    assert actions(again[1]) == actions(first[1]) == {"ezhou": "declared", "wuhan": "declared"}
    assert len(logged(services, "alert.received")) == 1
    assert len(logged(services, "storm.declared")) == 2  # one per division, not per copy


def test_a_red_warning_drawn_as_a_polygon_declares_in_jingzhou(
    api: Client, services: Services
) -> None:
    client, who = api
    code, body = post(client, who["dispatcher"], "red-rainstorm-polygon.xml")
    assert code == 202 and actions(body) == {"jingzhou": "declared"}
    assert body["outcomes"][0]["matched_by"] == "polygon"
    assert storms_on(services) == {"jingzhou"}


def test_an_orange_warning_proposes_storm_mode_which_the_board_lists(
    api: Client, services: Services
) -> None:
    client, who = api
    code, body = post(client, who["dispatcher"], "orange-rainstorm-proposes.xml")
    assert code == 202 and actions(body) == {"xiaogan": "proposed"}
    assert storms_on(services) == set()
    board = client.get("/alerts", headers=who["auditor"])
    assert board.status_code == 200
    [proposal] = board.json()["proposals"]
    assert proposal["payload"]["division"] == "xiaogan"
    assert proposal["payload"]["change"] == "declare"
    assert proposal["payload"]["event"] == "暴雨橙色预警"
    [alert] = board.json()["alerts"]
    assert alert["payload"]["outcomes"][0]["action"] == "proposed"


def test_a_warning_where_storm_mode_is_on_says_already_on(api: Client, services: Services) -> None:
    client, who = api
    by_hand = client.post("/storm/wuhan", json={"reason": "调度中心"}, headers=who["dispatcher"])
    assert by_hand.status_code == 200
    code, body = post(client, who["dispatcher"], "red-rainstorm-geocode.xml")
    assert code == 202 and actions(body) == {"ezhou": "declared", "wuhan": "already_on"}


def test_a_cancel_proposes_ending_storm_mode_but_does_not_end_it(
    api: Client, services: Services
) -> None:
    client, who = api
    post(client, who["dispatcher"], "red-rainstorm-geocode.xml")
    code, body = post(client, who["dispatcher"], "all-clear-cancel.xml")
    assert code == 202 and actions(body) == {"ezhou": "end_proposed", "wuhan": "end_proposed"}
    assert storms_on(services) == {"wuhan", "ezhou"}
    changes = {(p["division"], p["change"]) for p in logged(services, "storm.proposed")}
    assert changes == {("wuhan", "end"), ("ezhou", "end")}
    assert logged(services, "storm.ended") == []


def test_a_cancel_with_no_storm_mode_on_does_nothing(api: Client, services: Services) -> None:
    client, who = api
    code, body = post(client, who["dispatcher"], "all-clear-cancel.xml")
    assert code == 202 and actions(body) == {"ezhou": "nothing", "wuhan": "nothing"}
    assert logged(services, "storm.proposed") == []


def test_an_exercise_alert_is_logged_but_declares_nothing(api: Client, services: Services) -> None:
    client, who = api
    exercise = sample("red-rainstorm-geocode.xml").replace(b">Actual<", b">Exercise<")
    answer = client.post("/alerts/cap", content=exercise, headers=who["dispatcher"] | CAP)
    assert answer.status_code == 202
    assert actions(answer.json()) == {"ezhou": "nothing", "wuhan": "nothing"}
    assert storms_on(services) == set()


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("invalid-not-xml.xml", "not well-formed XML"),
        ("invalid-schema.xml", "not CAP 1.2"),
        ("xxe.xml", "DTD or entity"),
    ],
)
def test_a_bad_alert_is_422_with_its_reason_and_kept_as_a_dead_letter(
    api: Client, services: Services, name: str, said: str
) -> None:
    client, who = api
    code, body = post(client, who["dispatcher"], name)
    assert code == 422
    assert said in body["detail"][0]["msg"] and "dead letter" in body["detail"][0]["msg"]
    with services.reads() as session:
        [dead] = session.scalars(select(DeadLetterRow)).all()
        staged = session.scalars(
            select(OutboxRow.value).where(OutboxRow.topic == topics.DEAD_LETTER)
        ).all()
    assert said in dead.reason and dead.value == sample(name)
    assert dead.topic == "POST /alerts/cap"
    [message] = [json.loads(v) for v in staged]
    assert said in message["reason"]
    assert base64.b64decode(message["value_base64"]) == sample(name)
    assert logged(services, "alert.received") == []


def test_who_may_send_and_read_alerts(api: Client) -> None:
    client, who = api
    assert post(client, who["auditor"], "red-rainstorm-geocode.xml")[0] == 403
    assert post(client, who["team"], "red-rainstorm-geocode.xml")[0] == 403
    assert client.post("/alerts/cap", content=sample("xxe.xml"), headers=CAP).status_code == 401
    assert client.get("/alerts", headers=who["team"]).status_code == 403
    assert client.get("/alerts", headers=who["dispatcher"]).status_code == 200


def test_a_body_that_is_not_cap_xml_or_too_large_is_refused(
    api: Client, services: Services
) -> None:
    client, who = api
    as_json = client.post("/alerts/cap", json={"alert": 1}, headers=who["dispatcher"])
    assert as_json.status_code == 415
    huge = b"<alert>" + b" " * (600 * 1024) + b"</alert>"
    too_large = client.post("/alerts/cap", content=huge, headers=who["dispatcher"] | CAP)
    assert too_large.status_code == 413
    with services.reads() as session:
        assert session.scalar(select(func.count()).select_from(DeadLetterRow)) == 0


def test_a_replay_of_the_log_equals_the_live_tables_after_alerts(
    api: Client, services: Services
) -> None:
    client, who = api
    for name in ("red-rainstorm-geocode.xml", "orange-rainstorm-proposes.xml"):
        assert post(client, who["dispatcher"], name)[0] == 202
    assert post(client, who["dispatcher"], "all-clear-cancel.xml")[0] == 202
    result = replay_live(services)
    assert result.compared and not result.board.unprojected
    assert result.differences == [], result.differences[:5]


def test_an_update_that_raises_orange_to_red_declares(api: Client, services: Services) -> None:
    client, who = api
    post(client, who["dispatcher"], "orange-rainstorm-proposes.xml")
    update = (
        sample("orange-rainstorm-proposes.xml")
        .replace(b">Alert<", b">Update<")
        .replace("橙色".encode(), "红色".encode())
        .replace(b"</identifier>", b"-update</identifier>")
    )
    answer = client.post("/alerts/cap", content=update, headers=who["dispatcher"] | CAP)
    assert answer.status_code == 202 and actions(answer.json()) == {"xiaogan": "declared"}
    assert storms_on(services) == {"xiaogan"}


def test_the_same_alert_sent_twice_at_once_acts_once(api: Client, services: Services) -> None:
    xml = sample("red-rainstorm-geocode.xml")
    feed = Caller(Role.DISPATCHER, name="cma-feed")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: ingest_cap_alert(services, feed, xml), range(2)))
    assert sorted(a.duplicate for a in answers) == [False, True]
    assert len(logged(services, "alert.received")) == 1
    assert len(logged(services, "storm.declared")) == 2
    assert storms_on(services) == {"wuhan", "ezhou"}


def _claim_left(services: Services, age: timedelta) -> None:
    """A claim as an ingest that crashed after taking it would leave it."""
    alert = parse_alert(sample("red-rainstorm-geocode.xml"))
    key = CLAIM_PREFIX + alert_event_id(alert.identifier, alert.sender, alert.sent)
    with services.sessions.begin() as session:
        created = services.clock.now() - age
        session.add(IdempotencyKeyRow(key=key, request_hash="", incident_id="", created_at=created))


def test_a_claim_a_crashed_ingest_left_is_taken_over(
    api: Client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, who = api
    monkeypatch.setattr(alerts_service, "CLAIM_WAIT_S", 0.2)
    _claim_left(services, timedelta(minutes=5))
    code, body = post(client, who["dispatcher"], "red-rainstorm-geocode.xml")
    assert code == 202 and actions(body) == {"ezhou": "declared", "wuhan": "declared"}


def test_a_copy_of_an_alert_still_being_handled_is_409(
    api: Client, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, who = api
    monkeypatch.setattr(alerts_service, "CLAIM_WAIT_S", 0.2)
    _claim_left(services, timedelta(seconds=5))
    code, body = post(client, who["dispatcher"], "red-rainstorm-geocode.xml")
    assert code == 409 and "being handled" in body["detail"]
    assert storms_on(services) == set()


def test_a_bilingual_warning_declares_in_the_areas_of_both_languages(
    api: Client, services: Services
) -> None:
    client, who = api
    code, body = post(client, who["dispatcher"], "red-rainstorm-bilingual.xml")
    assert code == 202 and actions(body) == {"ezhou": "declared", "wuhan": "declared"}
    assert body["event"] == "暴雨红色预警"


def test_a_warning_that_expired_before_it_came_declares_nothing(
    api: Client, services: Services
) -> None:
    client, who = api
    assert isinstance(services.clock, ManualClock)
    services.clock.set(datetime(2026, 7, 2, 12, 0, tzinfo=UTC))  # 20:00 in Shanghai: expired
    code, body = post(client, who["dispatcher"], "red-rainstorm-bilingual.xml")
    assert code == 202 and actions(body) == {"ezhou": "expired", "wuhan": "expired"}
    assert storms_on(services) == set()
