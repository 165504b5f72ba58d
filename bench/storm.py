"""The storm benchmark: incidents through real Kafka, routed by `everycall dispatcher`, timed
end to end (produced to Kafka -> assignment stored and team.assigned published), side by side
with the naive baseline (bench/naive.py). `make bench` runs it; the JSON line comes last.

Every phase starts the embedded broker and a fresh SQLite database the way the demo does
(`bootstrap.running`), seeds the full Hubei registry and runs the router under test as its
own process, so its memory can be read from /proc. Teams get enough capacity that every
incident is routed rather than queued: this measures routing throughput, not crew work.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from bench.geography import storm_incidents
from bench.hotspots import start_profiler, stop_profiler
from bench.offer import Offer, wire_form
from bench.probes import Announcements, Sample, Sampler, rss_mb
from bench.seed import seed_open_incidents
from dispatch import bootstrap
from dispatch.config import Settings
from dispatch.service_layer.registry import replace_registry
from models.hubei import hubei_registry
from models.incident import Incident

HERE = Path(__file__).resolve().parent
TEAM_CAPACITY = 2_000  # x 310 teams: nobody queues, even with 100,000 open incidents
SHUTDOWN_RESERVE_S = 45.0  # stopping the dispatcher and its Prefect server, the plot
READY_TIMEOUT_S = 300.0  # the router's first flow run starts Prefect's temporary server


@dataclass
class Scenario:
    """One offered load and what came of it."""

    name: str
    offered: int
    rate: float  # offered per second; 0 is as fast as possible
    measured: int = 0
    merged: int = 0  # of the measured: storm duplicates linked to an open incident nearby
    throughput_per_s: float = 0.0
    latency_ms: dict[str, float] = field(default_factory=dict)
    open_incidents: int = 0
    rss_mb: float = 0.0
    cpu_share: float = 0.0  # the dispatcher's mean CPU use meanwhile, % of one core
    cpu_wait: float = 0.0  # ... and how long its threads waited for a CPU, % of the time
    group_cpu_s: float = 0.0  # CPU of the router and the processes it started (Prefect server)
    started_at: float = 0.0
    ended_at: float = 0.0
    points: list[tuple[float, float]] = field(default_factory=list)  # (done at, latency ms)

    def figures(self) -> dict[str, object]:
        return {
            "offered": self.offered,
            "rate_per_s": self.rate or "max",
            "measured": self.measured,
            "merged": self.merged,
            "throughput_per_s": round(self.throughput_per_s, 1),
            **{f"latency_ms_{k}": round(v, 1) for k, v in self.latency_ms.items()},
            "open_incidents": self.open_incidents,
            "dispatcher_rss_mb": round(self.rss_mb, 1),
            "dispatcher_cpu_pct": round(self.cpu_share),
            "dispatcher_cpu_wait_pct": round(self.cpu_wait),
            "dispatcher_cpu_ms_per_incident": round(self.cpu_ms_per_incident, 2),
            "group_cpu_ms_per_incident": round(self.group_cpu_ms_per_incident, 2),
        }

    @property
    def cpu_ms_per_incident(self) -> float:
        """The dispatcher's CPU time per completed incident: what a whole idle core would
        bring, whatever else the machine was doing meanwhile."""
        if not self.throughput_per_s:
            return 0.0
        return 10 * self.cpu_share / self.throughput_per_s

    @property
    def group_cpu_ms_per_incident(self) -> float:
        """The same with the Prefect server the router started (its flow runs' other half)."""
        completed = self.throughput_per_s * (self.ended_at - self.started_at)
        return 1000 * self.group_cpu_s / completed if completed else 0.0


@dataclass
class Rig:
    """A running phase: broker, database, the router process and the probes around it."""

    process: subprocess.Popen[bytes]
    log: Path
    offer: Offer
    announcements: Announcements
    sampler: Sampler
    prepared: list[Incident]
    sessions: sessionmaker[Session]
    next_index: int = 0
    seeded: int = 0  # open incidents written straight into the database (bench/seed.py)

    def alive(self) -> bool:
        return self.process.poll() is None

    def take(self, count: int) -> list[Incident]:
        chunk = self.prepared[self.next_index : self.next_index + count]
        self.next_index += len(chunk)
        if len(chunk) < count:
            raise RuntimeError("not enough prepared incidents")
        return chunk


def router_env(servers: str, database_url: str, prefect_home: Path) -> dict[str, str]:
    env = dict(os.environ)  # a PREFECT_API_URL set here is used, as by every everycall process
    env.update(
        KAFKA_BOOTSTRAP_SERVERS=servers,
        EVERYCALL_DATABASE_URL=database_url,
        PREFECT_HOME=str(prefect_home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOGGING_TO_API_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    return env


def router_command(kind: str) -> list[str]:
    if kind == "naive":
        return [sys.executable, "-m", "bench.naive"]
    return [
        sys.executable,
        "-m",
        "dispatch.entrypoints.cli.main",
        "dispatcher",
    ]  # = `everycall dispatcher`


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (everycall's clean stop: it stops its Prefect server too), then SIGKILL to the
    process group this benchmark started. Not SIGINT: asyncio turns it into a cancellation
    that a running Prefect flow run absorbs, and the dispatcher goes on."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):  # whatever of its group is left
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@contextmanager
def phase(kind: str, work: Path, prepared: list[Incident], group: str) -> Iterator[Rig]:
    """Broker, fresh database and registry, the router process, probes; all stopped after."""
    database_url = f"sqlite:///{work / (kind + '.db')}"
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=None)
    with bootstrap.running(settings) as services:
        teams = [t.model_copy(update={"capacity": TEAM_CAPACITY}) for t in hubei_registry()]
        with services.sessions.begin() as session:
            replace_registry(session, teams, services.clock.now())
        servers = services.bootstrap_servers
        log_path = work / f"{kind}.log"
        log = log_path.open("wb")
        process = subprocess.Popen(
            router_command(kind),
            env=router_env(servers, database_url, work / "prefect"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops Prefect's server too
        )
        offer = Offer(servers)
        announcements = Announcements(servers).start()
        sampler = Sampler(servers, group, process.pid, lambda: offer.acked, announcements)
        rig = Rig(
            process, log_path, offer, announcements, sampler.start(), prepared, services.sessions
        )
        try:
            yield rig
        finally:
            sampler.stop()
            stop_process(process)
            announcements.stop()
            offer.close()
            log.close()


def percentiles(latencies_ms: list[float]) -> dict[str, float]:
    if not latencies_ms:
        return {}
    values = np.asarray(latencies_ms)
    figures = {f"p{q}": float(np.percentile(values, q)) for q in (50, 95, 99)}
    return {**figures, "max": float(values.max())}


def offer_and_measure(rig: Rig, name: str, count: int, rate: float, deadline: float) -> Scenario:
    """Send `count` incidents (at `rate`/s, or as fast as possible), wait for every one (or
    until the deadline: what is not announced by then is reported as not measured)."""
    incidents = rig.take(count)
    ids = [i.id for i in incidents]
    wire = [wire_form(i) for i in incidents]
    scenario = Scenario(name, count, rate, started_at=time.time())
    group_cpu_before = group_cpu_seconds(rig.process.pid)
    rig.offer.send(ids, wire, rate)
    timeout_s = min(drain_timeout(count), deadline - time.monotonic())
    rig.announcements.wait_for(ids, timeout_s, rig.alive)
    done, sent = rig.announcements.done, rig.offer.sent_at
    finished = [i for i in ids if i in done]
    scenario.measured = len(finished)
    scenario.merged = sum(1 for i in finished if i in rig.announcements.merged)
    scenario.points = [(done[i], (done[i] - sent[i]) * 1000) for i in finished]
    scenario.latency_ms = percentiles([ms for _, ms in scenario.points])
    all_done = len(finished) == count
    scenario.ended_at = max(done[i] for i in finished) if all_done else time.time()
    reports_done = [at for i, at in done.items() if i in sent]  # support tasks are not reports
    scenario.throughput_per_s = sustained_rate(
        reports_done, min(sent[i] for i in ids), scenario.ended_at
    )
    scenario.open_incidents = reports_routed(rig) + rig.seeded
    scenario.rss_mb = rss_mb(rig.process.pid)
    scenario.group_cpu_s = group_cpu_seconds(rig.process.pid) - group_cpu_before
    return scenario


def group_cpu_seconds(group: int) -> float:
    """CPU time used so far by the live processes of a process group (the router started its
    own group: it and its Prefect server)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[2]) == group:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def sustained_rate(done_at: list[float], start: float, end: float) -> float:
    """Incidents completed per second between `start` and `end`, whichever offer they came
    from: when a scenario starts behind (a backlog) the router is saturated the whole time."""
    completed = sum(1 for at in done_at if start <= at <= end)
    return completed / max(end - start, 1e-6)


def drain_timeout(count: int) -> float:
    return 60.0 + count / 200


def warm_up(rig: Rig, count: int) -> None:
    """Wait until the router answers: Prefect's server up, the consumer in its group."""
    incidents = rig.take(count)
    rig.offer.send([i.id for i in incidents], [wire_form(i) for i in incidents])
    if not rig.announcements.wait_for([i.id for i in incidents], READY_TIMEOUT_S, rig.alive):
        tail = rig.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"the router did not answer the warm-up incidents; its log:\n{tail}")


def run_baseline(args: argparse.Namespace, work: Path) -> Scenario:
    prepared = storm_incidents(args.baseline_incidents + 5, datetime.now(UTC), run="naive")
    with phase("naive", work, prepared, "naive-baseline") as rig:
        warm_up(rig, 5)
        deadline = time.monotonic() + args.baseline_seconds
        scenario = offer_and_measure(rig, "naive baseline", args.baseline_incidents, 0, deadline)
        note_cpu(scenario, rig.sampler.samples)
        return scenario


@dataclass
class StormRun:
    scenarios: list[Scenario]
    samples: list[Sample]
    peak_rss_mb: float


def run_storm(args: argparse.Namespace, work: Path, deadline: float) -> StormRun:
    """The dispatcher's scenarios in turn, each waited for until it drains or time runs out."""
    paced = int(args.rate * args.duration)
    plans = [
        (f"offered {args.rate:g}/s", paced, args.rate),
        ("max throughput", args.incidents, 0.0),
        (f"at {args.open:,} open", args.probe_incidents if args.open else 0, 0.0),
    ]
    plans = [plan for plan in plans if plan[1] > 0]
    total = args.warmup + sum(count for _, count, _ in plans)
    print(f"preparing {total} storm incidents", file=sys.stderr)
    prepared = storm_incidents(total, datetime.now(UTC), run="storm")
    scenarios: list[Scenario] = []
    with phase("dispatcher", work, prepared, Settings().consumer_group) as rig:
        warm_up(rig, args.warmup)
        profiler = start_profiler(rig.process.pid, args.profile) if args.profile else None
        for done, (name, count, rate) in enumerate(plans):
            share = (deadline - time.monotonic()) / (len(plans) - done)  # equal parts of the rest
            if share < count / (rate or 20_000) + 10:
                print(f"{name}: skipped, the time budget is spent", file=sys.stderr)
                continue
            if name.startswith("at "):
                top_up_open_incidents(rig, args.open)
            until = time.monotonic() + share
            scenarios.append(offer_and_measure(rig, name, count, rate, until))
        peak = rss_mb(rig.process.pid, "VmHWM")
        for scenario in scenarios:
            note_cpu(scenario, rig.sampler.samples)
        stop_profiler(profiler)
    return StormRun(scenarios, rig.sampler.samples, peak)


def reports_routed(rig: Rig) -> int:
    """The offered reports announced so far: not the support tasks of critical disaster-relief
    calls, which are announced too (each has a team of its own) but were never offered."""
    sent = rig.offer.sent_at
    return sum(1 for incident_id in rig.announcements.done if incident_id in sent)


def top_up_open_incidents(rig: Rig, target: int) -> None:
    """Bring the open incidents up to `target` with rows written straight to the database."""
    missing = target - reports_routed(rig) - rig.seeded
    if missing <= 0:
        return
    print(f"seeding {missing} open incidents into the database", file=sys.stderr)
    now = datetime.now(UTC)
    incidents = storm_incidents(missing, now, seed=11, run=f"seeded{rig.seeded}")
    rig.seeded += seed_open_incidents(rig.sessions, incidents, now)


def plot(run: StormRun, path: Path) -> None:
    """Latency of every incident, consumer lag and dispatcher memory over time, one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    origin = run.scenarios[0].started_at if run.scenarios else time.time()
    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    for scenario in run.scenarios:
        xs = [at - origin for at, _ in scenario.points]
        p99 = scenario.latency_ms.get("p99", 0)
        label = f"{scenario.name}: {scenario.throughput_per_s:,.0f}/s, p99 {p99:,.0f} ms"
        top.scatter(xs, [ms for _, ms in scenario.points], s=2, alpha=0.4, label=label)
    top.set_yscale("log")
    top.set_ylabel("end-to-end latency (ms)")
    top.axhline(250, color="red", linewidth=0.8, linestyle="--", label="250 ms")
    top.legend(loc="upper left", markerscale=5, fontsize=8)
    times = [s.at - origin for s in run.samples]
    middle.plot(times, [s.in_flight for s in run.samples], label="in flight (not yet announced)")
    middle.plot(
        times, [s.lag for s in run.samples], "--", label="consumer lag (uncommitted records)"
    )
    middle.set_ylabel("incidents")
    middle.legend(loc="upper left", fontsize=8)
    bottom.plot(times, [s.rss_mb for s in run.samples], color="tab:green", label="RSS (MB)")
    bottom.set_ylabel("dispatcher RSS (MB)")
    share = bottom.twinx()
    share.plot(times[1:], cpu_shares(run.samples), color="tab:gray", linewidth=0.7)
    share.set_ylabel("dispatcher CPU (% of a core)", color="tab:gray")
    share.set_ylim(0, 110)
    bottom.set_xlabel("seconds since the first measured incident was offered")
    for axis in (top, middle, bottom):
        axis.grid(alpha=0.3)
    fig.suptitle("everycall storm benchmark: SQLite, embedded Tansu broker, Hubei registry")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def cpu_shares(samples: list[Sample]) -> list[float]:
    """The dispatcher's CPU use between consecutive samples, in % of one core."""
    return [
        100 * (b.cpu_s - a.cpu_s) / max(b.at - a.at, 1e-6) for a, b in itertools.pairwise(samples)
    ]


def mean_cpu_share(samples: list[Sample], start: float, end: float, wait: bool = False) -> float:
    """The dispatcher's CPU use (or, with `wait`, its wait for a CPU) in % of one core."""
    inside = [s for s in samples if start <= s.at <= end]
    if len(inside) < 2:
        return 0.0
    first, last = inside[0], inside[-1]
    used = (last.wait_s - first.wait_s) if wait else (last.cpu_s - first.cpu_s)
    return 100 * used / max(last.at - first.at, 1e-6)


def note_cpu(scenario: Scenario, samples: list[Sample]) -> None:
    scenario.cpu_share = mean_cpu_share(samples, scenario.started_at, scenario.ended_at)
    scenario.cpu_wait = mean_cpu_share(samples, scenario.started_at, scenario.ended_at, True)


def headline(run: StormRun, baseline: Scenario | None) -> dict[str, object]:
    by_name = {s.name.split(" ")[0]: s for s in run.scenarios}
    none = Scenario("none", 0, 0.0)
    fastest = by_name.get("max") or by_name.get("at") or (run.scenarios or [none])[-1]
    paced = by_name.get("offered") or fastest
    base = baseline.throughput_per_s if baseline else 0.0
    everything = ([baseline] if baseline else []) + run.scenarios
    return {
        "throughput_per_s": round(fastest.throughput_per_s, 1),
        "latency_ms_p50": round(paced.latency_ms.get("p50", 0.0), 1),
        "latency_ms_p95": round(paced.latency_ms.get("p95", 0.0), 1),
        "latency_ms_p99": round(paced.latency_ms.get("p99", 0.0), 1),
        "latency_ms_max": round(paced.latency_ms.get("max", 0.0), 1),
        "latency_at_rate_per_s": paced.rate or "max",
        "baseline_throughput_per_s": round(base, 2),
        "speedup": round(fastest.throughput_per_s / base, 1) if base else None,
        "peak_rss_mb": round(run.peak_rss_mb, 1),
        "open_incidents": max((s.open_incidents for s in run.scenarios), default=0),
        "offered": sum(s.offered for s in everything),
        "measured": sum(s.measured for s in everything),
        "scenarios": {
            s.name: s.figures() for s in ([baseline] if baseline else []) + run.scenarios
        },
    }


def print_table(figures: dict[str, object]) -> None:
    scenarios = figures["scenarios"]
    assert isinstance(scenarios, dict)
    columns = ("offered", "measured", "per s", "p50 ms", "p95 ms", "p99 ms", "max ms", "open")
    print(
        f"{'scenario':<22}"
        + "".join(f"{c:>9}" for c in columns)
        + f"{'RSS MB':>8}{'CPU %':>7}{'wait %':>7}{'CPU ms/inc':>12}{'+Prefect':>10}"
    )
    for name, s in scenarios.items():
        print(
            f"{name:<22}{s['offered']:>9}{s['measured']:>9}{s['throughput_per_s']:>9,.1f}"
            f"{s.get('latency_ms_p50', 0):>9,.0f}{s.get('latency_ms_p95', 0):>9,.0f}"
            f"{s.get('latency_ms_p99', 0):>9,.0f}{s.get('latency_ms_max', 0):>9,.0f}"
            f"{s['open_incidents']:>9}{s['dispatcher_rss_mb']:>8.0f}{s['dispatcher_cpu_pct']:>7}"
            f"{s['dispatcher_cpu_wait_pct']:>7}{s['dispatcher_cpu_ms_per_incident']:>12,.2f}"
            f"{s['group_cpu_ms_per_incident']:>10,.2f}"
        )
    print(
        f"speedup over the naive baseline: {figures['speedup']}x; "
        f"dispatcher peak RSS {figures['peak_rss_mb']} MB"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=500, help="paced load per second; 0 skips")
    parser.add_argument("--duration", type=float, default=30, help="seconds of paced load")
    parser.add_argument("--incidents", type=int, default=30_000, help="burst, as fast as possible")
    parser.add_argument(
        "--open", type=int, default=100_000, help="then, with this many open incidents (0 skips)"
    )
    parser.add_argument(
        "--probe-incidents", type=int, default=2_000, help="offered at that many open, max speed"
    )
    parser.add_argument("--warmup", type=int, default=500, help="unmeasured incidents first")
    parser.add_argument("--baseline-incidents", type=int, default=100, help="0 skips the baseline")
    parser.add_argument("--baseline-seconds", type=float, default=30)
    parser.add_argument(
        "--time-budget", type=float, default=540, help="seconds for the whole run (make bench)"
    )
    parser.add_argument("--plot", type=Path, default=HERE / "storm-latency.png")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the dispatcher")
    parser.add_argument("--work-dir", type=Path, default=None, help="keep databases and logs here")
    parser.add_argument("--json-out", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--dispatchers", type=int, default=1, help="with --database-url: dispatchers in the group"
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a PostgreSQL server: run the burst there with --dispatchers (bench/storm_group.py)",
    )
    parser.add_argument("--team-capacity", type=int, default=TEAM_CAPACITY)
    args = parser.parse_args(argv)
    if args.dispatchers > 1 and not args.database_url:
        parser.error("--dispatchers needs --database-url: SQLite serves one process")
    return args


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # so the `with` blocks stop the broker and the router process


def main(argv: list[str] | None = None) -> None:
    signal.signal(signal.SIGTERM, _interrupt)
    args = parse_args(argv)
    if args.database_url:
        main_group(args)
        return
    deadline = time.monotonic() + args.time_budget - SHUTDOWN_RESERVE_S
    with tempfile.TemporaryDirectory(prefix="everycall-storm-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        baseline = run_baseline(args, work) if args.baseline_incidents else None
        if baseline is not None:
            print(f"naive baseline: {baseline.throughput_per_s:.2f} incidents/s", file=sys.stderr)
        run = run_storm(args, work, deadline)
    plot(run, args.plot)
    figures = headline(run, baseline)
    print_table(figures)
    print(f"plot: {args.plot}")
    if args.profile is not None and args.profile.exists():
        print(f"profile of the dispatcher: {args.profile} (python -m bench.hotspots FILE)")
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


def main_group(args: argparse.Namespace) -> None:
    from bench.storm_group import run_group

    with tempfile.TemporaryDirectory(prefix="everycall-storm-group-") as tmp:
        work = args.work_dir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        figures = run_group(args, work)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
