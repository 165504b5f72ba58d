"""The board in a browser, measured: its first load with 10,000 open incidents, the time from
a report to its mark on a connected board while 500 incidents/s are offered, and 50 boards
live on one API process. `make bench-board` runs it; the JSON line comes last.

Set-up, as production runs it: the embedded broker and a SQLite database made here
(`bootstrap.running`), `everycall api` and `everycall dispatcher` as processes of their own
(so the API's CPU and memory are its own), Debian's chromium driven by Playwright. Incidents
are offered through Kafka as the call centre sends them (bench/offer.py), routed for real:
teams have room for 2,000 tasks each so nothing queues, storm grouping is off so every
report is a mark of its own, and the SLA targets are 10 h so the watchdog does not withdraw
the seeded tasks during the run.

The page records, with a MutationObserver set up before the app starts, when each incident's
mark appeared and every event its live stream delivered; times are this machine's wall clock
in the page (`performance.timeOrigin + now()`) and in the benchmark (the send to Kafka).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy import select

from bench.geography import storm_incidents
from bench.offer import Offer, wire_form
from bench.probes import Announcements, cpu_seconds, rss_mb
from dispatch import bootstrap
from dispatch.config import Settings
from dispatch.service_layer.access import Role
from dispatch.service_layer.registry import replace_registry
from dispatch.service_layer.services import Services
from dispatch.service_layer.tokens import create_token
from dispatch.service_layer.users import add_user, sign_in
from dispatch.views.log_tail import last_seq
from events.broker import free_port
from events.log import EVENT_LOG
from events.schemas import EventPayload
from models.hubei import hubei_registry
from models.incident import Incident

TEAM_CAPACITY = 2_000
PASSWORD = "bench-board-长江-2026"
READY_TIMEOUT_S = 300.0  # the dispatcher's first flow run starts Prefect's temporary server
LONG_SLA = """acknowledge = 600
arrive = { urban = 600, rural = 600, remote = 600 }
resolve = { urban = 600, rural = 600, remote = 600 }
"""

# Set up before the app runs. The open incidents' count in the table's heading is rendered in
# the same pass as the map: `counts` says when each count was first on screen (with storm
# grouping off and nothing closing, the n-th report applied is shown when the count reaches
# the count before it plus n; the map may draw it in a cell's mark, so the count is the
# signal). `shownAt`: the count reached `want`, with how many reports the map's marks hold;
# `chosenAt`: a mark was first chosen; `seqs`: every event the board's stream delivered, as
# sequence number then arrival time (wall ms), flat.
PROBE = """
(() => {
  const probe = {
    want: %(want)d, shownAt: null, paintedAt: null, chosenAt: null, mapReports: 0,
    counts: [], seqs: [],
  };
  window.__probe = probe;
  const wall = () => performance.timeOrigin + performance.now();
  const openCount = () => {
    const table = document.querySelector('[data-testid="incidents"]');
    const heading = table?.closest("article")?.querySelector("h2");
    const found = heading?.textContent?.match(/\\((\\d+)\\)/);
    return found ? Number(found[1]) : null;
  };
  const mapReports = () => [...document.querySelectorAll('[data-testid="map"] g.mark')]
    .reduce((n, mark) => n + Number(mark.querySelector("text.count")?.textContent ?? 1), 0);
  let last = null;
  new MutationObserver(() => {
    const count = openCount();
    if (count !== null && count !== last) probe.counts.push([wall(), (last = count)]);
    if (probe.want && probe.shownAt === null && count !== null && count >= probe.want) {
      probe.shownAt = performance.now();
      probe.mapReports = mapReports();
      requestAnimationFrame(() => setTimeout(() => (probe.paintedAt = performance.now())));
    }
    if (probe.chosenAt === null && document.querySelector("g.mark.chosen")) {
      probe.chosenAt = performance.now();
    }
  }).observe(document, {
    childList: true, subtree: true, characterData: true,
    attributes: true, attributeFilter: ["class"],
  });
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url, init) {
      super(url, init);
      const note = (m) => probe.seqs.push(Number(m.lastEventId), wall());
      for (const type of %(types)s) super.addEventListener(type, note);
    }
  };
})();
"""


@dataclass
class Rig:
    """The processes under test and what the benchmark reaches them with."""

    services: Services
    api: subprocess.Popen[bytes]
    dispatcher: subprocess.Popen[bytes]
    base_url: str
    offer: Offer
    announcements: Announcements
    cookie: str
    token: str
    work: Path

    def alive(self) -> bool:
        return self.api.poll() is None and self.dispatcher.poll() is None

    def head(self) -> int:
        with self.services.reads() as session:
            return last_seq(session)

    def log_tail(self, name: str) -> str:
        return (self.work / f"{name}.log").read_text(errors="replace")[-3000:]


def event_types() -> list[str]:
    """Every event type the log may hold (the stream names each frame by its type)."""
    found: set[str] = set()
    pending = list(EventPayload.__subclasses__())
    while pending:
        schema = pending.pop()
        pending.extend(schema.__subclasses__())
        if isinstance(getattr(schema, "TYPE", None), str):
            found.add(schema.TYPE)
    return sorted(found)


def process_env(
    services: Services, database_url: str, work: Path, rate_per_s: float
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVERYCALL_")}
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=services.bootstrap_servers,
        EVERYCALL_DATABASE_URL=database_url,
        EVERYCALL_STORM_RADIUS_M="0",
        EVERYCALL_SLA_POLICY_PATH=str(work / "sla.toml"),
        # board sessions are limited per client address, and every board here is 127.0.0.1
        EVERYCALL_API_RATE_PER_S=str(rate_per_s),
        EVERYCALL_API_RATE_BURST=str(int(rate_per_s)),
        PREFECT_HOME=str(work / "prefect"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    return env


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(
            [sys.executable, "-m", "dispatch.entrypoints.cli.main", *command],
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops Prefect's server too
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (everycall's clean stop), then SIGKILL to what is left of its group."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def people(services: Services) -> tuple[str, str]:
    """A dispatcher's board session (its cookie) and a reading token for the plain clients."""
    now = services.clock.now()
    with services.sessions.begin() as session:
        add_user(session, "bench.desk", Role.DISPATCHER, PASSWORD, at=now, display_name="压测")
    with services.sessions.begin() as session:
        signed = sign_in(session, "bench.desk", PASSWORD, now)
        token = create_token(session, Role.AUDITOR, name="bench-board", at=now)
    assert signed is not None
    return signed.cookie, token


@contextmanager
def rig(args: argparse.Namespace, work: Path) -> Iterator[Rig]:
    """Broker, database, registry, people; the API and the dispatcher; all stopped after."""
    database_url = f"sqlite:///{work / 'board.db'}"
    (work / "sla.toml").write_text(LONG_SLA)
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=None)
    with bootstrap.running(settings) as services:
        teams = [t.model_copy(update={"capacity": TEAM_CAPACITY}) for t in hubei_registry()]
        with services.sessions.begin() as session:
            replace_registry(session, teams, services.clock.now())
        cookie, token = people(services)
        env = process_env(services, database_url, work, args.api_rate)
        port = free_port()
        api = start(["api", "--port", str(port)], env, work / "api.log")
        dispatcher = start(["dispatcher"], env, work / "dispatcher.log")
        offer = Offer(services.bootstrap_servers)
        announcements = Announcements(services.bootstrap_servers).start()
        base_url = f"http://127.0.0.1:{port}"
        running = Rig(
            services, api, dispatcher, base_url, offer, announcements, cookie, token, work
        )
        try:
            yield running
        finally:
            announcements.stop()
            offer.close()
            stop(dispatcher)
            stop(api)


def wait_until_up(rig: Rig, prepared: Iterator[Incident]) -> None:
    """The API answers and the dispatcher routes (its Prefect server is up, its group joined)."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline and rig.alive():
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{rig.base_url}/healthz", timeout=2).status_code == 200:
                break
        time.sleep(0.2)
    warm = [next(prepared) for _ in range(20)]
    offer(rig, warm, 0)
    if not rig.announcements.wait_for([i.id for i in warm], READY_TIMEOUT_S, rig.alive):
        raise RuntimeError(f"the dispatcher did not route; its log:\n{rig.log_tail('dispatcher')}")


def offer(rig: Rig, incidents: list[Incident], rate: float) -> float:
    return rig.offer.send([i.id for i in incidents], [wire_form(i) for i in incidents], rate)


def seed(rig: Rig, prepared: Iterator[Incident], count: int) -> float:
    """`count` more open incidents, offered as fast as the dispatcher takes them; seconds."""
    incidents = [next(prepared) for _ in range(count)]
    began = time.monotonic()
    offer(rig, incidents, 0)
    if not rig.announcements.wait_for([i.id for i in incidents], 60 + count / 50, rig.alive):
        raise RuntimeError(f"seeding did not finish; the dispatcher:\n{rig.log_tail('dispatcher')}")
    return time.monotonic() - began


def board_page(browser: Browser, rig: Rig, want: int = 0) -> tuple[BrowserContext, Page]:
    """A signed-in dispatcher's board, probed; `want`: the marks that make the map drawn."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN")
    context.add_cookies([{"name": "everycall_session", "value": rig.cookie, "url": rig.base_url}])
    context.add_init_script(PROBE % {"want": want, "types": json.dumps(event_types())})
    return context, context.new_page()


def first_load(browser: Browser, rig: Rig, open_count: int) -> dict[str, float]:
    """Navigation to the board showing every open incident (the map drawn), then to a click on
    a mark answered (its `chosen` ring drawn): the map is interactive. Milliseconds."""
    context, page = board_page(browser, rig, want=open_count)
    try:
        page.goto(rig.base_url, wait_until="commit")
        page.wait_for_function("window.__probe.paintedAt !== null", timeout=180_000, polling=20)
        page.get_by_test_id("map").locator("g.mark").last.click(timeout=180_000)
        page.wait_for_function("window.__probe.chosenAt !== null", timeout=60_000, polling=20)
        times = page.evaluate(
            """() => {
              const read = performance.getEntriesByName(location.origin + "/board/open")[0];
              const p = window.__probe;
              return { read_done: read ? read.responseEnd : -1, shown: p.shownAt,
                       painted: p.paintedAt, interactive: p.chosenAt,
                       read_bytes: read ? read.encodedBodySize : -1, map_reports: p.mapReports,
                       marks: document.querySelectorAll('[data-testid="map"] g.mark').length };
            }"""
        )
        return {key: round(float(value), 1) for key, value in times.items()}
    finally:
        context.close()


def read_figures(rig: Rig, runs: int = 3) -> dict[str, float]:
    """The first read over HTTP, best of `runs`: GET /board/open against the paged list the
    board read before it (GET /incidents, 1,000 a page, each open state in turn)."""
    headers = {"Authorization": f"Bearer {rig.token}"}
    with httpx.Client(base_url=rig.base_url, headers=headers, timeout=120) as client:
        compact = [timed(lambda: [client.get("/board/open")]) for _ in range(runs)]
        paged = [timed(lambda: list(pages(client))) for _ in range(runs)]
    (open_s, open_bytes, open_rows), (paged_s, paged_bytes, paged_rows) = min(compact), min(paged)
    return {
        "board_open_ms": round(open_s * 1000, 1),
        "board_open_bytes": open_bytes,
        "board_open_rows": open_rows,
        "paged_list_ms": round(paged_s * 1000, 1),
        "paged_list_bytes": paged_bytes,
        "paged_list_rows": paged_rows,
        "paged_over_board_open": round(paged_s / open_s, 2),
    }


def pages(client: httpx.Client) -> Iterator[httpx.Response]:
    for state in ("reported", "queued", "assigned", "acknowledged", "en_route", "on_scene"):
        offset = 0
        while True:
            answer = client.get(
                "/incidents", params={"state": state, "limit": 1000, "offset": offset}
            )
            answer.raise_for_status()
            yield answer
            if len(answer.json()) < 1000:
                break
            offset += 1000


def timed(read: Any) -> tuple[float, int, int]:
    """Seconds, bytes and rows of the answers `read()` returns."""
    began = time.perf_counter()
    answers: list[httpx.Response] = read()
    seconds = time.perf_counter() - began
    rows = sum(len(a.json()["incidents"] if "/board/" in str(a.url) else a.json()) for a in answers)
    return seconds, sum(len(a.content) for a in answers), rows


def spread(per_page: list[np.ndarray]) -> dict[str, float]:
    return percentiles([float(v) for values in per_page for v in values])


def percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50": -1.0, "p95": -1.0, "max": -1.0}
    values = np.asarray(values_ms)
    return {
        "p50": round(float(np.percentile(values, 50)), 1),
        "p95": round(float(np.percentile(values, 95)), 1),
        "max": round(float(values.max()), 1),
    }


def start_clients(rig: Rig, count: int, after: int) -> subprocess.Popen[str] | None:
    if count <= 0:
        return None
    clients = subprocess.Popen(
        [sys.executable, "-m", "bench.stream_clients", "--url", rig.base_url, "--token",
         rig.token, "--clients", str(count), "--after", str(after)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert clients.stdout is not None
    if clients.stdout.readline().strip() != "READY":
        raise RuntimeError("the stream clients did not start")
    return clients


def finish_clients(clients: subprocess.Popen[str] | None, end: int) -> dict[str, Any]:
    if clients is None:
        return {}
    out, _ = clients.communicate(f"END {end}\n", timeout=180)
    return dict(json.loads(out.strip().splitlines()[-1]))


@dataclass
class Reported:
    """The incidents reported in the log after a point, in the order the stream sends them."""

    ids: list[str]
    seqs: np.ndarray  # each one's incident.reported in the log
    routed_s: np.ndarray  # when it was routed and logged: its team.assigned's occurred_at
    supports_before: np.ndarray  # support tasks logged before it: they count as open too


def reported_after(rig: Rig, after: int) -> Reported:
    """What was reported after `after` (incident.reported keeps the call centre's time, so
    the routing time is team.assigned's)."""
    kinds = ("incident.reported", "team.assigned", "incident.support_requested")
    with rig.services.reads() as session:
        rows = session.execute(
            select(EVENT_LOG.c.seq, EVENT_LOG.c.envelope)
            .where(EVENT_LOG.c.seq > after, EVENT_LOG.c.type.in_(kinds))
            .order_by(EVENT_LOG.c.seq)
        ).all()
    events = [(seq, json.loads(envelope)) for seq, envelope in rows]
    reported = [(seq, str(e["payload"]["id"])) for seq, e in events if e["type"] == kinds[0]]
    routed = {
        str(e["payload"]["incident_id"]): datetime.fromisoformat(e["occurred_at"]).timestamp()
        for _, e in events
        if e["type"] == kinds[1]
    }
    ids = [i for _, i in reported]
    seqs = np.asarray([s for s, _ in reported])
    supports = np.asarray([seq for seq, e in events if e["type"] == kinds[2]], dtype=np.int64)
    return Reported(
        ids, seqs, np.asarray([routed[i] for i in ids]), np.searchsorted(supports, seqs)
    )


@dataclass
class Screen:
    """One page's view of the reports: when each arrived on its stream and was on screen."""

    arrived_ms: np.ndarray
    shown_ms: np.ndarray
    stream: dict[str, int]


def page_figures(page: Page, reported: Reported, base: int, after: int, end: int) -> Screen:
    """The n-th report was on screen when the open count first reached `base` + n + the
    support tasks logged before it. The page applies the log in order, so the count reaches
    that only once the n-th report is in: a critical disaster-relief call's support task
    (response plans) is an open incident too, and counting reports alone put each report on
    screen before it was (776 support tasks in the 10,000 reports of a 20 s offer: 1.6 s)."""
    page.wait_for_function(
        f"window.__probe.seqs.some((s, n) => n % 2 === 0 && s >= {end})",
        timeout=120_000,
        polling=200,
    )
    wanted = base + np.arange(1, len(reported.ids) + 1) + reported.supports_before
    page.wait_for_function(
        f"window.__probe.counts.at(-1)[1] >= {int(wanted[-1])}", timeout=60_000, polling=200
    )
    counts = np.asarray(page.evaluate("window.__probe.counts"))
    shown_at = counts[np.searchsorted(counts[:, 1], wanted), 0]
    flat = page.evaluate("window.__probe.seqs")
    arrivals = dict(zip(flat[0::2], flat[1::2], strict=True))
    seqs = [s for s in flat[0::2] if after < s <= end]
    stream = {
        "events_expected": end - after,
        "events_received": len(seqs),
        "in_order": int(seqs == list(range(after + 1, end + 1))),
    }
    arrived = np.asarray([arrivals[int(seq)] for seq in reported.seqs])
    return Screen(arrived, shown_at, stream)


def live(
    browser: Browser,
    rig: Rig,
    prepared: Iterator[Incident],
    args: argparse.Namespace,
    pages: int,
    clients: int,
) -> dict[str, Any]:
    """`pages` boards in the browser and `clients` plain stream clients while `rate` incidents
    a second are offered for `seconds`: report to screen on each page, and each stream."""
    open_now = len(rig.announcements.done)  # every incident so far is open
    opened = [board_page(browser, rig, want=open_now) for _ in range(pages)]
    for _, page in opened:
        page.goto(rig.base_url)
    for _, page in opened:  # each has drawn its first read
        page.wait_for_function("window.__probe.paintedAt !== null", timeout=300_000, polling=100)
    time.sleep(args.settle)  # the pages idle
    after = rig.head()
    bases = [int(page.evaluate("window.__probe.counts.at(-1)[1]")) for _, page in opened]
    streams = start_clients(rig, clients, after)
    incidents = [next(prepared) for _ in range(int(args.rate * args.seconds))]
    cpu_before, began = cpu_seconds(rig.api.pid), time.monotonic()
    offer(rig, incidents, args.rate)
    ids = [i.id for i in incidents]
    rig.announcements.wait_for(ids, 60 + len(ids) / 50, rig.alive)
    end = rig.head()
    plain = finish_clients(streams, end)
    reported = reported_after(rig, after)
    sent_ms = np.asarray([rig.offer.sent_at[i] for i in reported.ids]) * 1000
    routed_ms = reported.routed_s * 1000
    screens = [
        page_figures(page, reported, base, after, end)
        for (_, page), base in zip(opened, bases, strict=True)
    ]
    elapsed = time.monotonic() - began
    api_cpu_s = cpu_seconds(rig.api.pid) - cpu_before
    deliveries = (end - after) * (pages + clients)
    for context, _ in opened:
        context.close()
    return {
        "pages": pages,
        "plain_clients": clients,
        "offered": len(ids),
        "rate_per_s": args.rate,
        "reported": len(reported.ids),
        "report_to_screen_ms": spread([screen.shown_ms - sent_ms for screen in screens]),
        # the dispatcher's share (sent to Kafka -> routed and logged), then the API's (to the
        # page's stream), then the page's own (to the count on screen)
        "report_to_routed_ms": percentiles(list(routed_ms - sent_ms)),
        "routed_to_arrived_ms": spread([screen.arrived_ms - routed_ms for screen in screens]),
        "arrived_to_screen_ms": spread([s.shown_ms - s.arrived_ms for s in screens]),
        "routed_to_screen_ms": spread([screen.shown_ms - routed_ms for screen in screens]),
        "pages_streams": [screen.stream for screen in screens],
        "plain_streams": plain,
        # the events came as fast as the dispatcher logged them: the API's CPU per event
        # delivered to a board is the figure that carries over to another rate
        "events_per_s": round((end - after) / elapsed, 1),
        "api_cpu_pct": round(100 * api_cpu_s / elapsed, 1),
        "api_cpu_us_per_delivery": round(1e6 * api_cpu_s / deliveries, 1) if deliveries else None,
        "api_rss_mb": round(rss_mb(rig.api.pid), 1),
        "api_peak_rss_mb": round(rss_mb(rig.api.pid, "VmHWM"), 1),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open", type=int, default=10_000, help="open incidents at first load")
    parser.add_argument("--loads", type=int, default=3, help="first loads measured, one by one")
    parser.add_argument("--rate", type=float, default=500, help="incidents offered a second")
    parser.add_argument("--seconds", type=float, default=20, help="how long each live offer runs")
    parser.add_argument("--pages", type=int, default=5, help="browser boards among the 50")
    parser.add_argument("--boards", type=int, default=50, help="boards live at once (pages too)")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds before a live offer")
    parser.add_argument("--api-rate", type=float, default=1000, help="the API's limit per client")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep the database and logs")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the figures here")
    return parser.parse_args(argv)


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is missing: `make debian-packages` installs it")
    total = 20 + args.open + 2 * int(args.rate * args.seconds)
    print(f"preparing {total} incidents", file=sys.stderr)
    prepared = iter(storm_incidents(total, datetime.now(UTC), run="board"))
    load_before = os.getloadavg()[0]  # the figures follow the machine's load: said beside them
    with rig(args, work) as running, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        wait_until_up(running, prepared)
        seeded_s = seed(running, prepared, args.open)
        print(f"seeded {args.open} open incidents in {seeded_s:.1f}s", file=sys.stderr)
        read = read_figures(running)
        print(f"the first read: {read}", file=sys.stderr)
        loads = [first_load(browser, running, args.open + 20) for _ in range(args.loads)]
        print(f"first loads: {loads}", file=sys.stderr)
        one = live(browser, running, prepared, args, pages=1, clients=0)
        print(f"one board: {json.dumps(one)}", file=sys.stderr)
        many = live(browser, running, prepared, args, args.pages, args.boards - args.pages)
        browser.close()
    machine = {"load_average_before": load_before, "load_average_after": os.getloadavg()[0]}
    return headline(args, seeded_s, read, loads, one, many) | machine


def headline(
    args: argparse.Namespace,
    seeded_s: float,
    read: dict[str, float],
    loads: list[dict[str, float]],
    one: dict[str, Any],
    many: dict[str, Any],
) -> dict[str, Any]:
    interactive = sorted(load["interactive"] for load in loads)
    plain = many.get("plain_streams", {})
    lags = [plain.get("lag_ms_p95", -1.0), many["routed_to_screen_ms"]["p95"]]
    return {
        "first_load_interactive_ms_median": interactive[len(interactive) // 2],
        "first_load_interactive_ms_max": interactive[-1],
        "open_incidents": args.open,
        "report_to_screen_ms_p95": one["report_to_screen_ms"]["p95"],
        "routed_to_screen_ms_p95": one["routed_to_screen_ms"]["p95"],
        "report_to_screen_rate_per_s": args.rate,
        "boards": args.boards,
        "boards_lag_ms_p95": max(lags),
        "boards_all_complete": all(p["in_order"] for p in many["pages_streams"])
        and plain.get("complete", 0) == plain.get("clients", 0),
        "api_cpu_pct_at_boards": many["api_cpu_pct"],
        "api_cpu_us_per_delivery": many["api_cpu_us_per_delivery"],
        "api_peak_rss_mb": many["api_peak_rss_mb"],
        "seeded_in_s": round(seeded_s, 1),
        "first_read": read,
        "first_loads": loads,
        "one_board": one,
        "many_boards": many,
    }


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the `with` blocks stop the processes, the broker, chromium


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="everycall-board-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        figures = run(args, work)
    if args.json_out is not None:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
