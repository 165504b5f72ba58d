"""`everycall stories` as an operator adds a team's service story, on SQLite and PostgreSQL:
logged naming the operator, listed newest first in Asia/Shanghai, refused for a phone number
or an unknown team."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from dispatch import bootstrap
from dispatch.entrypoints.cli.main import app
from dispatch.service_layer.registry import replace_registry
from events.log import LoggedEvent
from tests.integration.spine_helpers import team


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("EVERYCALL_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("EVERYCALL_LANG", "en")  # the messages below are read in English
    with bootstrap.database() as services, services.sessions.begin() as session:
        replace_registry(session, [team("HB-JZ-018", 30.33, 112.24)], services.clock.now())
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def test_an_operator_adds_stories_and_lists_them_newest_first(cli: CliRunner) -> None:
    code, out = run(cli, "stories", "add", "HB-JZ-018", "--title", "送电到田头", "--body", "抗旱")
    assert code == 0 and "story added" in out, out
    story_id = out.split(":")[-1].split("→")[0].strip()
    assert len(story_id) == 32  # the whole id, never cut at 80 columns
    code, out = run(
        cli, "stories", "add", "HB-JZ-018", "--title", "第二篇", "--body", "正文",
        "--title-en", "The second",
    )  # fmt: skip
    assert code == 0, out

    code, out = run(cli, "stories", "list", "HB-JZ-018", "--json")
    told = json.loads(out)
    assert [s["title"] for s in told] == ["第二篇", "送电到田头"] and told[1]["id"] == story_id
    assert all(s["actor"].startswith("cli:") for s in told)
    code, out = run(cli, "stories", "list", "HB-JZ-018")
    assert code == 0 and story_id in out and "送电到田头" in out, out
    with bootstrap.database() as services, services.reads() as session:
        logged = session.scalars(select(LoggedEvent.type).where(LoggedEvent.subject == "HB-JZ-018"))
        assert list(logged).count("team.story_added") == 2


def test_a_phone_number_or_an_unknown_team_is_refused(cli: CliRunner) -> None:
    code, out = run(
        cli, "stories", "add", "HB-JZ-018", "--title", "t", "--body", "call 13812345678"
    )
    assert code == 2 and "phone number" in out, out
    code, out = run(cli, "stories", "add", "HB-XX-999", "--title", "t", "--body", "b")
    assert code == 1 and "HB-XX-999" in out, out
    code, out = run(cli, "stories", "list", "HB-JZ-018", "--json")
    assert json.loads(out) == []
