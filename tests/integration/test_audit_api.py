"""The auditor's routes on both databases: an incident's timeline, the board at a moment
between two reports, the chain and a kept digest verified, the exports, and who may read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from dispatch.audit.verify import Digest, check_entries
from dispatch.entrypoints.api import audit_runs
from dispatch.entrypoints.api.app import create_app
from dispatch.service_layer.access import Role
from dispatch.service_layer.routing import handle_incident_records
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from events import topics
from events.kafka import Record
from events.log import GUARD_TRIGGERS, entry_of_message
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.clock import ManualClock
from tests.integration.spine_helpers import WUHAN, incident, seed_teams, team


@dataclass
class Audited:
    client: TestClient
    services: Services
    first: str  # reported, then 10 minutes later the second
    second: str
    between: datetime  # 5 minutes after the first report
    headers: dict[str, dict[str, str]]

    def get(self, path: str, who: str = "auditor", **params: str | int) -> httpx.Response:
        answer: httpx.Response = self.client.get(
            path, params=params or None, headers=self.headers.get(who, {})
        )
        return answer

    def head(self) -> Digest:
        answer = self.get("/audit/verify").json()
        return Digest.parse(answer["chain"]["head"])


def route_report(services: Services, n: int) -> str:
    """An incident reported now and routed by the dispatcher's handler."""
    found = incident(n, *WUHAN, services.clock.now()).model_copy(update={"address": f"中北路{n}号"})
    envelope = envelope_for(
        IncidentReported(**found.model_dump()), producer="test", key="wuhan", at=found.reported_at
    )
    record = Record(topics.INCIDENTS, 0, n, b"wuhan", envelope.to_bytes())
    handle_incident_records(services, [record])
    return found.id


@pytest.fixture
def audited(services: Services) -> Iterator[Audited]:
    assert isinstance(services.clock, ManualClock)
    seed_teams(services, [team("team-a", *WUHAN), team("team-b", WUHAN[0] + 0.2, WUHAN[1])])
    first = route_report(services, 1)
    between = services.clock.advance(minutes=5)
    services.clock.advance(minutes=5)
    second = route_report(services, 2)
    headers = {}
    with services.sessions.begin() as session:
        for who, role, team_id in [
            ("auditor", Role.AUDITOR, None),
            ("dispatcher", Role.DISPATCHER, None),
            ("team", Role.TEAM, "team-a"),
        ]:
            headers[who] = {"Authorization": f"Bearer {create_token(session, role, team_id)}"}
    app = create_app(lambda: nullcontext(services), run_relay=False)
    with TestClient(app) as client:
        yield Audited(client, services, first, second, between, headers)


def shanghai(moment: datetime) -> str:
    """The moment as the page sends it: Asia/Shanghai wall time with its offset."""
    return (moment + timedelta(hours=8)).replace(tzinfo=None).isoformat() + "+08:00"


def test_an_auditor_reads_an_incidents_timeline_and_exports_it(audited: Audited) -> None:
    answer = audited.get(f"/audit/incidents/{audited.first}/timeline")

    assert answer.status_code == 200, answer.text
    events = answer.json()["events"]
    types = [e["type"] for e in events]
    assert types[0] == "incident.reported" and "team.assigned" in types
    assert events[0]["actor"] == "caller via phone_95598" and "中北路1号" in events[0]["what"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)

    export = audited.get(f"/audit/incidents/{audited.first}/timeline/export")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    disposition = export.headers["content-disposition"]
    assert disposition == f'attachment; filename="everycall-timeline-{audited.first}.csv"'
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [int(r["seq"]) for r in rows] == [e["seq"] for e in events]
    assert rows[0]["occurred_at"] == "2026-07-01T08:00:00+00:00"
    assert rows[0]["occurred_at_shanghai"] == "2026-07-01T16:00:00+08:00"


def test_an_incident_with_no_events_is_not_found(audited: Audited) -> None:
    for path in ("/audit/incidents/nope/timeline", "/audit/incidents/nope/timeline/export"):
        answer = audited.get(path)
        assert answer.status_code == 404, path
        assert "no events about incident nope" in answer.json()["detail"]


def test_the_board_between_two_reports_holds_one_and_now_holds_two(audited: Audited) -> None:
    then = audited.get("/audit/board", at=shanghai(audited.between))
    now = audited.get("/audit/board", at=shanghai(audited.services.clock.now()))

    assert then.status_code == 200 and now.status_code == 200, then.text + now.text
    assert [i["id"] for i in then.json()["open_incidents"]] == [audited.first]
    assert [i["id"] for i in now.json()["open_incidents"]] == [audited.first, audited.second]
    assert then.json()["counts"] == {"open_incidents": 1, "busy_teams": 1, "running_clocks": 2}
    assert {c["incident_id"] for c in then.json()["running_clocks"]} == {audited.first}
    assert now.json()["counts"]["open_incidents"] == 2
    cost, head = then.json()["cost"], audited.head()
    assert 0 < cost["events_replayed"] == cost["up_to_seq"] < head.seq == cost["log_entries"]
    assert now.json()["cost"]["events_replayed"] == head.seq
    assert cost["elapsed_ms"] >= 0 and cost["limit"] == audited_limit()
    assert then.json()["at"] == "2026-07-01T08:05:00Z"


def audited_limit() -> int:
    return audit_runs.MAX_REPLAY_EVENTS


def test_the_board_streams_its_progress_then_the_same_board(audited: Audited) -> None:
    at = shanghai(audited.between)
    answer = audited.get("/audit/board/progress", at=at)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    frames = [f for f in answer.text.split("\n\n") if f.strip()]
    kinds = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert kinds[0] == "progress" and kinds[-1] == "board" and set(kinds) == {"progress", "board"}
    data = [json.loads(f.split("\n")[1].removeprefix("data: ")) for f in frames]
    assert data[-2]["done"] == data[-2]["total"] == data[-1]["cost"]["events_replayed"]
    streamed, asked = data[-1], audited.get("/audit/board", at=at).json()
    assert streamed["open_incidents"] == asked["open_incidents"]
    assert streamed["counts"] == asked["counts"]


def test_the_board_exports_as_csv_and_json(audited: Audited) -> None:
    at = shanghai(audited.between)
    as_csv = audited.get("/audit/board/export", at=at)
    as_json = audited.get("/audit/board/export", at=at, format="json")

    name = 'attachment; filename="everycall-board-at-20260701T080500Z'
    assert as_csv.headers["content-disposition"] == name + '.csv"'
    assert as_json.headers["content-disposition"] == name + '.json"'
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert [r["list"] for r in rows] == ["open_incident", "busy_team", *["running_clock"] * 2]
    assert rows[0]["id"] == audited.first and rows[0]["address"] == "中北路1号"
    assert rows[1]["id"] in ("team-a", "team-b") and rows[1]["active_tasks"] == "1"
    assert {r["incident_id"] for r in rows[2:]} == {audited.first}
    assert [i["id"] for i in as_json.json()["open_incidents"]] == [audited.first]


BAD_MOMENTS = [
    ("yesterday", "not an ISO 8601 time"),
    ("2026-02-30T14:05:00+08:00", "not an ISO 8601 time"),
    ("2026-07-01T14:05:00", "has no offset"),
    ("2026-07-01", "has no offset"),
    ("2026-07-01T14:05+08:00", "seconds and offset"),
    (" 2026-07-01T14:05:00+08:00", "not an ISO 8601 time"),
    ("2026-07-01 14:05:00+08:00", "seconds and offset"),
    ("", "at least 1 character"),
]


def test_a_moment_that_is_no_time_is_refused_with_its_reason(audited: Audited) -> None:
    for at, reason in BAD_MOMENTS:
        for path in ("/audit/board", "/audit/board/progress", "/audit/board/export"):
            answer = audited.get(path, at=at)
            assert answer.status_code == 422, (path, at, answer.text)
            (detail,) = answer.json()["detail"]
            assert detail["loc"] == ["query", "at"] and reason in detail["msg"], (at, detail)


def test_a_board_too_far_to_replay_is_refused_naming_the_limit(
    audited: Audited, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_runs, "MAX_REPLAY_EVENTS", 2)
    for path in ("/audit/board", "/audit/board/progress"):
        answer = audited.get(path, at=shanghai(audited.between))
        assert answer.status_code == 422, answer.text
        assert "over this page's limit of 2" in answer.json()["detail"][0]["msg"]
    before_any_event = shanghai(datetime.fromisoformat("2026-07-01T07:00:00+00:00"))
    assert audited.get("/audit/board", at=before_any_event).json()["counts"]["open_incidents"] == 0


def test_a_moment_beyond_the_calendar_in_utc_is_before_or_after_everything(
    audited: Audited,
) -> None:
    first = audited.get("/audit/board/export", at="0001-01-01T00:00:00+08:00", format="json")
    last = audited.get("/audit/board", at="9999-12-31T23:59:59-08:00")

    assert first.json()["cost"]["events_replayed"] == 0
    assert first.headers["content-disposition"].endswith('at-00010101T000000Z.json"')
    assert last.json()["cost"]["events_replayed"] == audited.head().seq
    assert last.json()["counts"]["open_incidents"] == 2


def test_a_second_replay_while_one_runs_is_told_to_retry(
    audited: Audited, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_runs, "SLOT_WAIT_S", 0.05)
    with audit_runs.replay_slot():
        answer = audited.get("/audit/board", at=shanghai(audited.between))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "2"
    assert audited.get("/audit/board", at=shanghai(audited.between)).status_code == 200


def test_the_chain_verifies_and_the_kept_digest_matches(audited: Audited) -> None:
    head = audited.head()
    answer = audited.get("/audit/verify", digest=str(head)).json()

    assert answer["chain"]["intact"] and answer["chain"]["entries"] == head.seq
    assert answer["chain"]["finding"] is None
    assert answer["digest"] == {
        "digest": str(head),
        "matches": True,
        "seq": head.seq,
        "detail": f"the log up to seq {head.seq} matches the digest",
    }
    earlier = audited.get("/audit/verify", digest="1:" + "0" * 64).json()["digest"]
    assert not earlier["matches"] and earlier["seq"] == 1
    assert earlier["detail"].startswith("does not match at seq 1: its hash differs")


def test_a_changed_or_overreaching_digest_does_not_match(audited: Audited) -> None:
    head = audited.head()
    flipped = f"{head.seq}:{head.hash[:-1]}{'0' if head.hash[-1] != '0' else '1'}"
    beyond = f"{head.seq + 5}:{head.hash}"

    changed = audited.get("/audit/verify", digest=flipped).json()
    assert changed["chain"]["intact"]  # the log is sound: it is not the log the digest was of
    assert changed["digest"]["matches"] is False and changed["digest"]["seq"] == head.seq
    assert changed["digest"]["detail"].startswith(f"does not match at seq {head.seq}")
    past = audited.get("/audit/verify", digest=beyond).json()["digest"]
    assert not past["matches"] and past["seq"] == head.seq + 1 and "missing" in past["detail"]


def test_a_malformed_digest_is_refused_with_its_reason(audited: Audited) -> None:
    hashed = "a" * 64
    for digest in ["", "12", "12:abc", f"x:{hashed}", f"12:{hashed.upper()}", f"12:{hashed}a"]:
        answer = audited.get("/audit/verify", digest=digest)
        assert answer.status_code == 422, digest
        (detail,) = answer.json()["detail"]
        assert detail["loc"] == ["query", "digest"] and detail["input"] == digest
        assert "expected SEQ:HASH, 64 hex digits" in detail["msg"]
    assert audited.get("/audit/verify", digest=f" 12:{hashed}\n").status_code == 422  # as printed


def test_a_modified_entry_is_named_and_breaks_only_the_digests_after_it(
    audited: Audited,
) -> None:
    head = audited.head()
    changed = audited.get(f"/audit/incidents/{audited.first}/timeline").json()["events"][0]["seq"]
    line = audited.get("/audit/log/export", from_seq=changed - 1, to_seq=changed - 1).text
    earlier = entry_of_message(line.encode())
    engine = audited.services.engine
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql("ALTER TABLE event_log DISABLE TRIGGER USER")
        else:
            for trigger in GUARD_TRIGGERS["sqlite"]:
                connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {trigger}")
        connection.execute(
            text("UPDATE event_log SET envelope = replace(envelope, :was, :now) WHERE seq = :n"),
            {"was": '"normal"', "now": '"high"', "n": changed},
        )

    answer = audited.get("/audit/verify", digest=str(head)).json()
    assert not answer["chain"]["intact"]
    assert answer["chain"]["finding"]["seq"] == changed
    assert "modified" in answer["chain"]["finding"]["problem"]
    assert answer["digest"]["matches"] is False and answer["digest"]["seq"] == changed
    kept_before = audited.get("/audit/verify", digest=f"{earlier.seq}:{earlier.hash}").json()
    assert kept_before["digest"]["matches"] and not kept_before["chain"]["intact"]


def test_the_log_exports_as_json_lines_whole_or_a_range(audited: Audited) -> None:
    head = audited.head()
    whole = audited.get("/audit/log/export")
    part = audited.get("/audit/log/export", from_seq=2, to_seq=3)

    assert whole.headers["content-disposition"] == (
        'attachment; filename="everycall-log-1-end.jsonl"'
    )
    entries = [entry_of_message(line.encode()) for line in whole.text.splitlines()]
    assert check_entries(entries) == (head, None)  # re-checkable outside the system
    assert [entry_of_message(line.encode()) for line in part.text.splitlines()] == entries[1:3]
    backwards = audited.get("/audit/log/export", from_seq=3, to_seq=2)
    assert backwards.status_code == 200 and backwards.text == ""


AUDIT_PATHS = [
    "/audit/incidents/{first}/timeline",
    "/audit/incidents/{first}/timeline/export",
    "/audit/board?at={at}",
    "/audit/board/progress?at={at}",
    "/audit/board/export?at={at}",
    "/audit/verify",
    "/audit/log/export",
]


def test_readers_may_use_every_audit_route_and_a_team_or_a_stranger_may_not(
    audited: Audited,
) -> None:
    at = shanghai(audited.between).replace("+", "%2B")
    for path in (p.format(first=audited.first, at=at) for p in AUDIT_PATHS):
        for who in ("auditor", "dispatcher"):
            assert audited.get(path, who).status_code == 200, (path, who)
        refused = audited.get(path, "team")
        assert refused.status_code == 403, (path, refused.text)
        assert audited.first not in refused.text
        stranger = audited.get(path, "nobody")
        assert stranger.status_code == 401 and stranger.headers["WWW-Authenticate"] == "Bearer"
