"""`everycall sla report`: the SLA report (views/sla_report.py) as tables, a PNG chart of
compliance over time, and JSON."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console

from dispatch import bootstrap
from dispatch.entrypoints.cli.consoles import report_console
from dispatch.entrypoints.cli.i18n import division_name, say
from dispatch.entrypoints.cli.tables import print_identifier_table
from dispatch.views.sla_report import SlaReport, build_report, report_time


def draw_chart(report: SlaReport, path: Path) -> None:
    """Compliance over time, one line per clock kind and one for all clocks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    points = report.over_time
    times = mdates.date2num([datetime.fromisoformat(p["start"]) for p in points])  # type: ignore[no-untyped-call]
    figure, axis = plt.subplots(figsize=(10, 5), dpi=110)
    styles = {"all": ("black", 2.6), "acknowledge": ("tab:blue", 1.4)}
    styles |= {"arrive": ("tab:orange", 1.4), "resolve": ("tab:green", 1.4)}
    for name, (colour, width) in styles.items():
        values = [p[name] * 100 if p[name] is not None else np.nan for p in points]
        axis.plot(times, values, label=name, color=colour, linewidth=width, marker="o", ms=3)
    volume = axis.twinx()  # how many clocks each point stands for
    width = (times[1] - times[0]) * 0.8 if len(times) > 1 else 0.01
    volume.bar(times, [p["decided"] for p in points], width=width, color="grey", alpha=0.18)
    volume.set_ylabel("clocks decided", color="grey")
    axis.set_zorder(volume.get_zorder() + 1)
    axis.patch.set_visible(False)
    axis.set_ylim(0, 105)
    axis.set_ylabel("SLA compliance (%)")
    axis.set_xlabel("when the clock was decided (UTC)")
    axis.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))  # type: ignore[no-untyped-call]
    totals = report.totals
    axis.set_title(
        f"everycall: SLA compliance over time — {totals['received']} calls, "
        f"{totals['unanswered']} unanswered, {totals['escalations']} escalated"
    )
    axis.grid(alpha=0.3)
    axis.legend(loc="lower left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    plt.close(figure)


# The report's keys and the catalogue's headers for them.
# In order of what a reader needs most: a narrow terminal drops the last ones first.
COLUMNS = (
    ("received", "col.received"),
    ("answered", "col.answered"),
    ("unanswered", "col.unanswered"),
    ("sla_compliance", "col.sla"),
    ("ack_min_median", "col.ack_p50"),
    ("arrive_min_median", "col.arrive_p50"),
    ("ack_min_p90", "col.ack_p90"),
    ("arrive_min_p90", "col.arrive_p90"),
    ("escalations", "col.escalated"),
)


def _print_table(
    console: Console,
    title: str,
    rows: list[dict[str, Any]],
    extra: tuple[tuple[str, str], ...] = (),
) -> None:
    """A region or a team id is never cut; on a narrow terminal the last columns drop out,
    with a hint (the figures are whole in --json)."""
    columns = (*COLUMNS, *extra)
    headers = [say("col.name"), *(say(header) for _, header in columns)]
    cells = [[_name(row["name"]), *(_cell(row[key]) for key, _ in columns)] for row in rows]
    print_identifier_table(console, title, headers, cells)


def _name(name: str) -> str:
    """A division by its name, a team by its id, the totals' line as 合计 / all."""
    return say("sla.all") if name == "all" else division_name(name)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and value <= 1 and not value.is_integer():
        return f"{value:.1%}" if value < 1 else "100%"
    return str(value)


def print_report(console: Console, report: SlaReport, team_rows: int) -> None:
    _print_table(console, say("sla.by_region"), report.regions)
    worst = sorted(
        report.teams,
        key=lambda t: (t["sla_compliance"] if t["sla_compliance"] is not None else 2, t["name"]),
    )
    shown = worst if team_rows <= 0 else worst[:team_rows]
    extra = (("missed", "col.missed"), ("declined", "col.declined"))
    title = say("sla.by_team", shown=len(shown), total=len(worst))
    _print_table(console, title, shown, extra)
    _print_table(console, say("sla.all"), [report.totals], extra)


sla_app = typer.Typer(help="SLA reports.", no_args_is_help=True)


@sla_app.command("report")
def report(
    chart: Annotated[Path, typer.Option(help="PNG chart of compliance over time")] = Path(
        "out/sla-compliance.png"
    ),
    json_path: Annotated[
        Path | None, typer.Option("--json", help="also write the whole report as JSON")
    ] = None,
    teams: Annotated[int, typer.Option(help="team rows to print, lowest SLA first; 0: all")] = 20,
) -> None:
    """Per region and team: calls, answers, time to acknowledge and arrive, SLA, unanswered."""
    console = report_console(150)
    with bootstrap.database() as services, services.reads() as session:
        built = build_report(session, report_time(session, services.clock.now()))
    print_report(console, built, teams)
    draw_chart(built, chart)
    console.print(say("sla.chart_written", path=chart))
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(built.as_dict(), indent=2) + "\n")
        console.print(say("sla.report_written", path=json_path))
    if built.totals["unanswered"]:
        console.print(f"[bold red]{say('sla.unanswered', count=built.totals['unanswered'])}[/]")
