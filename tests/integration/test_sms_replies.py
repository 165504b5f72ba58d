"""Answers by SMS: the gateway posts a crew's reply to our text, signed. `1` acknowledges the
task the text was about and `2 路不通` declines it with the reason, each as that team's move
named by the sender's keyed hash; a replayed, forged, stale or misdirected reply is refused
and changes nothing. On SQLite and PostgreSQL, the texts sent by the real notifier."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from dispatch.config import Settings
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.services import Services
from tests.integration.notify_helpers import (
    Receiver,
    add_member,
    assign,
    eventually,
    logged,
    notifier_running,
    signed_in,
)
from tests.integration.spine_helpers import WUHAN, seed_teams, team

SECRET = "gateway-secret-汉口"
PHONE = "13800138000"


@pytest.fixture
def gateway() -> Iterator[Receiver]:
    with Receiver(default=200) as server:
        yield server


@pytest.fixture
def settings(settings: Settings, tmp_path: Path, gateway: Receiver) -> Settings:
    config = tmp_path / "notify.toml"
    config.write_text(
        f'[phones]\n"crew.a" = "{PHONE}"\n\n[[webhooks]]\nname = "gateway"\nkind = "sms"\n'
        f'url = "{gateway.url}/send"\nsecret = "{SECRET}"\n',
        encoding="utf-8",
    )
    return settings.model_copy(
        update={
            "data_dir": str(tmp_path),
            "notifier_poll_s": 0.02,
            "notify_config_path": str(config),
        }
    )


@pytest.fixture
def texted(services: Services, gateway: Receiver) -> Iterator[tuple[TestClient, list[Any]]]:
    """Two tasks of team-a, each texted to crew.a by the notifier: (client, the texts)."""
    seed_teams(services, [team("team-a", *WUHAN, capacity=5)])
    add_member(services, "crew.a", "team-a")
    with TestClient(create_app(lambda: nullcontext(services), run_relay=False)) as client:
        csrf = signed_in(client, "crew.a")
        assert client.put("/me/duty", json={"on_duty": True}, headers=csrf).status_code == 200
        client.cookies.clear()  # the gateway's requests carry no session
        with notifier_running(services):
            assign(services, 1)
            assign(services, 2)
            texts = [r.json() for r in gateway.wait_for(2)]
        yield client, sorted(texts, key=lambda t: str(t["incident_id"]))


def post_reply(
    client: TestClient,
    services: Services,
    body: dict[str, Any],
    *,
    secret: str = SECRET,
    age_s: int = 0,
    raw: bytes | None = None,
) -> httpx.Response:
    """As the gateway posts an inbound text: signed over the timestamp and the body."""
    signed = json.dumps(body, ensure_ascii=False).encode()
    timestamp = str(int(services.clock.now().timestamp()) - age_s)
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + signed, hashlib.sha256)
    headers = {
        "Content-Type": "application/json",
        "X-Everycall-Timestamp": timestamp,
        "X-Everycall-Signature": f"sha256={mac.hexdigest()}",
    }
    answer: httpx.Response = client.post("/webhooks/sms", content=raw or signed, headers=headers)
    return answer


def head(services: Services) -> int:
    with services.reads() as session:
        return services.event_log.head(session)[0]


def test_a_reply_1_acknowledges_and_2_with_a_reason_declines(
    texted: tuple[TestClient, list[Any]], services: Services
) -> None:
    client, (first, second) = texted
    assert "回复1接单" in first["text"] and first["text"].endswith(f"#{first['reference']}")

    took = post_reply(
        client,
        services,
        {
            "message_id": "gw-1",
            "from": "+8613800138000",
            "text": "1",
            "in_reply_to": first["reference"],
        },
    )
    assert took.status_code == 200, took.text
    assert took.json() == {"applied": "task.acknowledged", "incident_id": first["incident_id"]}

    # no in_reply_to from this gateway: the reference quoted in the text names the task
    said_no = post_reply(
        client,
        services,
        {"message_id": "gw-2", "from": PHONE, "text": f"２ 路不通 #{second['reference'].lower()}"},
    )
    assert said_no.status_code == 200, said_no.text

    (acknowledged,) = logged(services, "task.acknowledged")
    (declined,) = logged(services, "task.declined")
    sent = {e["payload"]["recipient"] for e in logged(services, "notification.sent")}
    assert acknowledged["payload"]["incident_id"] == first["incident_id"]
    assert declined["payload"]["incident_id"] == second["incident_id"]
    assert declined["payload"]["reason"] == "路不通"
    assert declined["payload"]["team_id"] == "team-a"
    # the team's move, named by the sender's keyed hash: the one the texts went to
    assert {acknowledged["payload"]["actor"], declined["payload"]["actor"]} == sent
    assert next(iter(sent)).startswith("sms:") and PHONE not in json.dumps(acknowledged)


def test_a_replayed_forged_stale_or_misdirected_reply_is_refused_and_changes_nothing(
    texted: tuple[TestClient, list[Any]], services: Services
) -> None:
    client, (first, _) = texted
    reply = {"message_id": "gw-9", "from": PHONE, "text": "1", "in_reply_to": first["reference"]}
    assert post_reply(client, services, reply).status_code == 200
    before = head(services)

    replayed = post_reply(client, services, reply)
    forged = post_reply(client, services, reply | {"message_id": "gw-10"}, secret="guessed")
    tampered = post_reply(
        client, services, reply | {"message_id": "gw-11"}, raw=b'{"message_id":"gw-11"}'
    )
    stale = post_reply(client, services, reply | {"message_id": "gw-12"}, age_s=3600)
    elsewhere = post_reply(client, services, reply | {"message_id": "gw-13", "from": "13900000000"})
    unreadable = post_reply(client, services, reply | {"message_id": "gw-14", "text": "好的"})
    no_reason = post_reply(client, services, reply | {"message_id": "gw-15", "text": "2"})
    unsigned = client.post("/webhooks/sms", json=reply | {"message_id": "gw-16"})

    assert replayed.status_code == 409, replayed.text
    assert (forged.status_code, tampered.status_code, stale.status_code) == (401, 401, 401)
    assert unsigned.status_code == 401
    assert elsewhere.status_code == 403, elsewhere.text
    assert (unreadable.status_code, no_reason.status_code) == (422, 422)
    assert head(services) == before  # nothing applied, nothing logged
    (acknowledged,) = eventually(lambda: logged(services, "task.acknowledged"))
    assert acknowledged["payload"]["incident_id"] == first["incident_id"]
