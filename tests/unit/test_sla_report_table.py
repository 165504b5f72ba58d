"""`everycall sla report` on an 80-column terminal, in Chinese and in English: region and team
names whole, no figure cut short, and the columns left out named (they are whole in --json)."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from rich.cells import cell_len
from rich.console import Console

from dispatch.entrypoints.cli.sla import print_report
from dispatch.views.sla_report import SlaReport


def figures(name: str, received: int) -> dict[str, object]:
    return {
        "name": name,
        "received": received,
        "answered": received - 1,
        "unanswered": 1,
        "ack_min_median": 1.25,
        "ack_min_p90": 12.5,
        "arrive_min_median": 31.75,
        "arrive_min_p90": 93.5,
        "sla_compliance": 0.9375,
        "escalations": 3,
        "missed": 2,
        "declined": 1,
    }


REPORT = SlaReport(
    at=datetime(2026, 7, 1, tzinfo=UTC),
    totals=figures("all", 1234),
    regions=[figures("jingzhou", 617), figures("enshi", 617)],
    teams=[figures("HB-JZ-018", 617), figures("HB-SN-R01", 617)],
    over_time=[],
)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_sla_report_at_80_columns_cuts_nothing_and_names_what_it_left_out(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVERYCALL_LANG", lang)
    out = io.StringIO()
    print_report(Console(file=out, width=80, color_system=None), REPORT, team_rows=20)
    text = out.getvalue()
    assert max(cell_len(line) for line in text.splitlines()) <= 80, text
    assert "…" not in text, text  # no header or figure cut short
    assert "HB-JZ-018" in text and "HB-SN-R01" in text
    assert ("荆州" if lang == "zh" else "Jingzhou") in text
    assert "1234" in text and "617" in text
    assert "93.8%" in text  # the SLA itself is among the columns kept
    assert ("未显示" if lang == "zh" else "too narrow for") in text  # the hint
