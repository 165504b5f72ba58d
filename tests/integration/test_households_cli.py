"""`everycall households` as an operator keeps the hardship register, on SQLite and PostgreSQL:
the file imported whole or not at all, households brought up to date by account number, the
register listed by division."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from dispatch import bootstrap
from dispatch.adapters.orm import HouseholdRow
from dispatch.entrypoints.cli.main import app

SAMPLE = Path(__file__).resolve().parents[2] / "config" / "households.sample.csv"
HEADER = "account,address,division,hardship,note\n"


@pytest.fixture
def cli(database_url: str, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("EVERYCALL_DATABASE_URL", database_url)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("EVERYCALL_LANG", "en")  # the messages asserted are the English ones
    return CliRunner()


def run(cli: CliRunner, *args: str) -> tuple[int, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.output


def listed(cli: CliRunner, *options: str) -> dict[str, dict[str, object]]:
    code, out = run(cli, "households", "list", "--json", *options)
    assert code == 0, out
    return {h["account"]: h for h in json.loads(out)}


def stored_count() -> int:
    with bootstrap.database() as services, services.reads() as session:
        return session.scalar(select(func.count()).select_from(HouseholdRow)) or 0


def test_the_sample_register_imports_and_lists_by_division(cli: CliRunner) -> None:
    code, out = run(cli, "households", "import", str(SAMPLE))
    assert code == 0 and "6 added" in out, out
    everyone = listed(cli)
    assert len(everyone) == 6
    assert everyone["9900000004"]["division"] == "enshi" and everyone["9900000004"]["hardship"]
    assert set(listed(cli, "--division", "wuhan")) == {"9900000001", "9900000002"}
    hardship = listed(cli, "--hardship-only")
    assert "9900000003" not in hardship and "9900000001" in hardship
    code, out = run(cli, "households", "list")
    assert code == 0 and "9900000001" in out and "yes" in out, out
    code, out = run(cli, "households", "list", "--division", "atlantis")
    assert code == 2 and "atlantis" in out


def test_a_second_file_updates_households_by_account_and_adds_new_ones(
    cli: CliRunner, tmp_path: Path
) -> None:
    assert run(cli, "households", "import", str(SAMPLE))[0] == 0
    deep = tmp_path / ("a-folder-name-long-enough-to-pass-eighty-columns-" * 2)
    deep.mkdir()
    later = deep / "later.csv"
    later.write_text(
        HEADER
        + "9900000003,荆州市沙市区北京中路20号,jingzhou,是,新登记 newly registered\n"
        + "9900000007,宜昌市西陵区东山大道1号,yichang,true,\n",
        encoding="utf-8",
    )
    code, out = run(cli, "households", "import", str(later))
    assert code == 0 and "1 added" in out and "1 updated" in out, out
    assert str(later) in out  # the message stays one line in a pipe: the path whole, to copy
    everyone = listed(cli)
    assert len(everyone) == 7
    assert everyone["9900000003"]["hardship"] is True
    assert everyone["9900000003"]["note"] == "新登记 newly registered"


@pytest.mark.parametrize(
    ("rows", "reason"),
    [
        (
            "9900000008,武汉市江岸区沿江大道1号,wuhan,是,\n" * 2,
            "line 4: account: '9900000008' again, first at line 3",
        ),
        (
            "9900000008,武汉市江岸区沿江大道1号,jingzhou,是,\n",
            "line 3: division: the address is in wuhan",
        ),
        ("9900000008,广东省深圳市南山区科技园,wuhan,是,\n", "line 3: address: outside Hubei"),
        ("9900000008,武汉市江岸区沿江大道1号,atlantis,是,\n", "line 3: division: Value error"),
        ("9900000008,武汉市江岸区沿江大道1号,wuhan,maybe,\n", "write 是 or 否"),
        ("99 08,武汉市江岸区沿江大道1号,wuhan,是,\n", "line 3: account"),
    ],
)
def test_a_bad_row_refuses_the_whole_file_naming_its_line(
    cli: CliRunner, tmp_path: Path, rows: str, reason: str
) -> None:
    assert run(cli, "households", "import", str(SAMPLE))[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text(HEADER + "9900000009,武汉市洪山区珞喻路1号,wuhan,否,\n" + rows, encoding="utf-8")
    code, out = run(cli, "households", "import", str(bad))
    assert code == 1, out
    assert "nothing changed" in out and reason in out, out
    assert stored_count() == 6  # not even the good row before it


def test_a_file_with_the_wrong_header_is_refused(cli: CliRunner, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("户号,地址\n9900000001,武汉市\n", encoding="utf-8")
    code, out = run(cli, "households", "import", str(wrong))
    assert code == 1 and "line 1" in out and "account,address,division" in out, out
