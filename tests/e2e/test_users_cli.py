"""`everycall users` as an admin uses it: add people, list them, reset a password, disable an
account; what the CLI does is what the board's sign-in then accepts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from dispatch import bootstrap
from dispatch.entrypoints.cli import users as users_cli
from dispatch.entrypoints.cli.consoles import message_console
from dispatch.entrypoints.cli.main import app
from dispatch.service_layer import users
from dispatch.service_layer.registry import replace_registry
from tests.integration.spine_helpers import WUHAN, team

PASSWORD = "江汉路-step-2026"


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("EVERYCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'people.db'}")
    monkeypatch.setenv("COLUMNS", "80")
    yield CliRunner()


def run(cli: CliRunner, *args: str, stdin: str = "") -> tuple[int, str]:
    result = cli.invoke(app, list(args), input=stdin)
    return result.exit_code, result.output


def signs_in(username: str, password: str) -> bool:
    with bootstrap.database() as services, services.sessions.begin() as session:
        return users.sign_in(session, username, password, services.clock.now()) is not None


def test_an_admin_adds_lists_resets_and_disables_people(cli: CliRunner) -> None:
    code, out = run(
        cli, "users", "add", "zhang.wei", "--role", "dispatcher", "--display-name", "张伟",
        "--password-stdin", stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0 and "zhang.wei" in out, out
    code, out = run(cli, "users", "list")
    assert code == 0 and "zhang.wei" in out and "张伟" in out  # 80 columns: the name is whole
    code, out = run(cli, "users", "list", "--json")
    (person,) = json.loads(out)
    assert (person["username"], person["display_name"], person["role"]) == (
        "zhang.wei", "张伟", "dispatcher",
    )  # fmt: skip
    assert not person["disabled"] and person["created_at"].endswith("+00:00")  # machines: UTC
    created = datetime.fromisoformat(person["created_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    wide = cli.invoke(app, ["users", "list"], env={"COLUMNS": "200", "EVERYCALL_LANG": "zh"})
    assert f"{created:%Y-%m-%d %H:%M} +08:00" in wide.output and "创建时间" in wide.output
    assert signs_in("zhang.wei", PASSWORD)

    fresh = "武汉长江-二桥-new"
    code, _ = run(cli, "users", "reset-password", "zhang.wei", "--password-stdin", stdin=fresh)
    assert code == 0
    assert not signs_in("zhang.wei", PASSWORD) and signs_in("zhang.wei", fresh)

    assert run(cli, "users", "disable", "zhang.wei")[0] == 0
    assert not signs_in("zhang.wei", fresh)
    code, out = run(cli, "users", "list", "--json")
    assert json.loads(out)[0]["disabled"] is True


def test_a_refused_account_says_why_and_exits_2(cli: CliRunner) -> None:
    code, out = run(
        cli, "users", "add", "crew.1", "--role", "team", "--password-stdin", stdin=PASSWORD
    )
    assert code == 2 and "needs a team" in out
    code, out = run(
        cli, "users", "add", "li.na", "--role", "auditor", "--password-stdin", stdin="short"
    )
    assert code == 2 and "at least 10" in out
    code, out = run(cli, "users", "disable", "nobody")
    assert code == 2 and "no user" in out
    code, out = run(
        cli, "users", "add", "li.na", "--role", "auditor", "--reserve", "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 2 and "only a team member can be a reserve member" in out


def test_a_reserve_member_is_added_and_listed_as_one(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the CLI's console reads COLUMNS once, when its module is first imported (by whichever
    # test of this process came first): the row is read whole at 200 columns
    monkeypatch.setattr(users_cli, "console", message_console(width=200))
    with bootstrap.database() as services, services.sessions.begin() as session:
        replace_registry(session, [team("HB-WH-001", *WUHAN)], services.clock.now())
    code, out = run(
        cli, "users", "add", "wang.fang", "--role", "team", "--team", "HB-WH-001", "--reserve",
        "--password-stdin", stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, out
    code, out = run(cli, "users", "list", "--json")
    (person,) = json.loads(out)
    assert (person["team_id"], person["reserve"]) == ("HB-WH-001", True)
    wide = cli.invoke(app, ["users", "list"], env={"COLUMNS": "200", "EVERYCALL_LANG": "zh"})
    assert "HB-WH-001（预备队员）" in wide.output
