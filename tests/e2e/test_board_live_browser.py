"""The board kept live in a browser, against a real `everycall serve`: an acknowledge deadline
that runs out turns its SLA cell red, and so does the watchdog's breach of a clock; an
incident produced straight to Kafka, as the call centre's system does, appears. None of it
needs a reload (the page is marked at the start and still marked at the end)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from kafka import KafkaProducer
from playwright.sync_api import Browser, Locator, Page, expect

from events import topics
from events.broker import free_port
from events.schemas import envelope_for
from events.schemas.incidents import IncidentReported
from models.incident import Incident, IncidentKind
from tests.e2e.test_board_browser import browser, offline_page, people, sign_in
from tests.e2e.test_serve import WUHAN, Served, answers, clean_env, served, wait_until

__all__ = ["browser", "served"]  # the fixtures, shared with the other browser tests

RED = "rgb(180, 35, 24)"  # td.breached in style.css, #b42318
LIVE_WITHIN_MS = 60_000  # the first flow runs are slow on a busy machine


def serve_with(tmp_path: Path, extra_env: dict[str, str]) -> Iterator[Served]:
    """`everycall serve` on a free port with `extra_env`, stopped with SIGTERM after."""
    from prefect.settings import PREFECT_API_URL

    port = free_port()
    log = tmp_path / "serve.log"
    env = clean_env(tmp_path) | {"PREFECT_API_URL": str(PREFECT_API_URL.value())} | extra_env
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "dispatch.entrypoints.cli.main", "serve", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    running = Served(process, f"http://127.0.0.1:{port}", env, tmp_path, log)
    try:
        wait_until(lambda: answers(f"{running.base_url}/healthz"), 60, "healthz", running)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)


@pytest.fixture
def short_acknowledge(tmp_path: Path, prefect_server: None) -> Iterator[Served]:
    """Teams get 30 s to acknowledge. The watchdog runs once at start and then only after an
    hour, so the missed task is not withdrawn while the test looks at it: the deadline itself
    turns the cell red, in the page."""
    policy = tmp_path / "sla.toml"
    policy.write_text("acknowledge = 0.5\n")
    extra = {"EVERYCALL_SLA_POLICY_PATH": str(policy), "EVERYCALL_WATCHDOG_INTERVAL_S": "3600"}
    yield from serve_with(tmp_path, extra)


@pytest.fixture
def short_arrival(tmp_path: Path, prefect_server: None) -> Iterator[Served]:
    """Teams get 30 s to arrive (from the report) and half an hour to acknowledge; the
    watchdog looks every second."""
    policy = tmp_path / "sla.toml"
    policy.write_text("acknowledge = 30\narrive = { urban = 0.5, rural = 0.5, remote = 0.5 }\n")
    extra = {"EVERYCALL_SLA_POLICY_PATH": str(policy), "EVERYCALL_WATCHDOG_INTERVAL_S": "1"}
    yield from serve_with(tmp_path, extra)


def signed_in_board(served: Served, browser: Browser, held_back: datetime | None = None) -> Page:
    """A dispatcher's board, live, marked so that a reload would show (the mark would go).
    `held_back`: the page's clock stands at that time, so its countdowns cannot run out."""
    people(served)
    page = offline_page(browser, [])
    if held_back is not None:
        page.clock.set_fixed_time(held_back)
    sign_in(page, served, "zhang.wei")
    expect(page.get_by_test_id("live")).to_have_text("实时", timeout=LIVE_WITHIN_MS)
    page.evaluate("window.__stayed = true")
    return page


def report(served: Served, address: str, latitude: float = WUHAN[0]) -> str:
    dispatcher = served.token("dispatcher")
    body = {"kind": "repair", "latitude": latitude, "longitude": WUHAN[1], "address": address}
    answer = httpx.post(f"{served.base_url}/incidents", json=body, headers=dispatcher, timeout=10)
    assert answer.status_code == 202, answer.text
    return str(answer.json()["id"])


def sla_cell(page: Page, incident_id: str) -> Locator:
    row = page.get_by_test_id("incidents").get_by_role("row").filter(has_text=incident_id)
    return row.get_by_test_id("sla")


@pytest.mark.timeout(900)
def test_an_acknowledge_deadline_that_runs_out_turns_its_cell_red_live(
    short_acknowledge: Served, browser: Browser
) -> None:
    page = signed_in_board(short_acknowledge, browser)
    incident_id = report(short_acknowledge, "洪山区珞喻路3号")
    cell = sla_cell(page, incident_id)
    expect(cell).to_contain_text("acknowledge", timeout=LIVE_WITHIN_MS)
    expect(cell).not_to_have_class(re.compile(r"\bbreached\b"))  # a deadline exists, not yet past

    expect(cell).to_have_class(re.compile(r"\bbreached\b"), timeout=LIVE_WITHIN_MS)
    expect(cell).to_have_css("background-color", RED)
    expect(cell).to_contain_text("acknowledge -")  # counting the time past the deadline
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"


@pytest.mark.timeout(900)
def test_the_watchdogs_breach_turns_the_cell_red_at_once(
    short_arrival: Served, browser: Browser
) -> None:
    # the page's clock stands an hour back: its countdowns cannot reach a deadline, so only
    # the watchdog's sla.breached event can turn the cell red
    page = signed_in_board(short_arrival, browser, datetime.now(UTC) - timedelta(hours=1))
    warm = report(short_arrival, "warm-up: the first flow run starts Prefect", WUHAN[0] + 0.02)
    expect(sla_cell(page, warm)).to_contain_text("arrive", timeout=LIVE_WITHIN_MS)
    incident_id = report(short_arrival, "江汉区解放大道4号")
    cell = sla_cell(page, incident_id)
    expect(cell).to_contain_text("arrive", timeout=LIVE_WITHIN_MS)
    expect(cell).not_to_have_class(re.compile(r"\bbreached\b"))

    expect(cell).to_have_class(re.compile(r"\bbreached\b"), timeout=LIVE_WITHIN_MS)
    expect(cell).to_have_css("background-color", RED)
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"


def broker_of(served: Served) -> str:
    """The embedded broker `everycall serve` started, as its start-up line names it."""
    wait_until(lambda: "broker " in served.output(), 60, "the start-up line", served)
    found = re.search(r"broker (\S+);", served.output())
    assert found, served.output()
    return found[1]


@pytest.mark.timeout(900)
def test_an_incident_produced_to_kafka_appears_without_a_reload(
    served: Served, browser: Browser
) -> None:
    page = signed_in_board(served, browser)
    incident = Incident(
        id="cc-20260701-0001",
        kind=IncidentKind.OUTAGE,
        latitude=WUHAN[0] - 0.01,
        longitude=WUHAN[1],
        region="wuhan",
        address="call centre: 武昌区徐东大街5号",
        reported_at=datetime.now(UTC),
    )
    payload = IncidentReported(**incident.model_dump())
    at = datetime.now(UTC)
    envelope = envelope_for(payload, producer="call-centre", key=incident.partition_key, at=at)
    producer = KafkaProducer(bootstrap_servers=broker_of(served), acks="all")
    producer.send(topics.INCIDENTS, key=envelope.key.encode(), value=envelope.to_bytes()).get(30)
    producer.close()

    rows = page.get_by_test_id("incidents")
    expect(rows.get_by_role("button", name=incident.id)).to_be_visible(timeout=LIVE_WITHIN_MS)
    expect(rows.get_by_role("row").filter(has_text=incident.id)).to_contain_text("已派单")
    expect(page.get_by_test_id("map").get_by_role("button", name=incident.id)).to_have_count(1)
    assert page.evaluate("window.__stayed === true"), "the page was reloaded"
