"""`everycall --help` in Chinese: every command and option of the core groups has Chinese
help, the catalogue names nothing that does not exist, and English stays the code's own."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.main import get_command
from typer.testing import CliRunner

from dispatch.entrypoints.cli.help_text import (
    HELP_ZH,
    OPTION_HELP_ZH,
    LocalisedGroup,
    localise_help,
)
from dispatch.entrypoints.cli.main import app

# The groups of this module's owner; others' groups may bring their own Chinese later.
CORE = frozenset(
    {"db", "audit", "tokens", "users", "households", "incidents", "tasks", "teams"}
    | {"grid", "sla", "ledger", "roster", "storm", "stories"}
)


def tree(command: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every command of the built tree with its path, `everycall` itself as ""."""
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from tree(sub, f"{path} {name}".strip())


def core(path: str, groups: set[str]) -> bool:
    first = path.split(" ")[0]
    return first in CORE or first not in groups  # a group of ours, or `everycall`'s own


def built() -> tuple[dict[str, Any], set[str]]:
    commands = dict(tree(get_command(app)))
    groups = {p for p, c in commands.items() if p and " " not in p and hasattr(c, "commands")}
    return commands, groups


def test_every_core_command_and_option_has_chinese_help() -> None:
    commands, groups = built()
    ours = {p: c for p, c in commands.items() if core(p, groups)}
    assert len(ours) > 50 and "queue" in ours and "teams list" in ours
    assert sorted(p for p in ours if p not in HELP_ZH) == []
    helps = {param.help for c in ours.values() for param in c.params if getattr(param, "help", "")}
    assert len(helps) > 60
    assert sorted(h for h in helps if h not in OPTION_HELP_ZH) == []


def test_the_chinese_help_names_only_what_exists() -> None:
    commands, _ = built()
    assert sorted(set(HELP_ZH) - set(commands)) == []
    helps = {getattr(p, "help", None) for c in commands.values() for p in c.params}
    assert sorted(set(OPTION_HELP_ZH) - helps) == []


def test_help_is_chinese_in_chinese_and_the_codes_own_in_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EVERYCALL_LANG", "en")
    english = dict(tree(_localised()))
    listing = english["teams list"]
    assert listing.help == inspect.getdoc(listing.callback)
    region = next(p for p in listing.params if p.name == "region")
    assert region.help == "only this division, e.g. wuhan"

    monkeypatch.setenv("EVERYCALL_LANG", "zh")
    chinese = dict(tree(_localised()))
    assert chinese[""].help == HELP_ZH[""] and chinese["teams"].help == HELP_ZH["teams"]
    assert chinese["teams list"].help == HELP_ZH["teams list"]
    assert chinese["queue"].help == HELP_ZH["queue"]
    region = next(p for p in chinese["teams list"].params if p.name == "region")
    assert region.help == "只看这个地区，例如 wuhan"
    assert chinese["roster now"].help == HELP_ZH["roster now"]
    reason = next(p for p in chinese["storm declare"].params if p.name == "reason")
    assert reason.help == "原因，例如 暴雨红色预警"


def _localised() -> Any:
    command = get_command(app)
    localise_help(command)
    return command


def test_a_localised_group_speaks_as_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    small = typer.Typer(cls=LocalisedGroup, help="The team registry.")

    @small.command("list", help="The teams, with their load and status.")
    def list_() -> None:
        pass

    @small.command("show")
    def show() -> None:
        pass

    runner = CliRunner()
    monkeypatch.setenv("EVERYCALL_LANG", "zh")
    out = runner.invoke(small, ["--help"]).output
    assert HELP_ZH[""] in out  # the top of a tree is `everycall` itself
    assert "The teams, with their load and status." in out  # no Chinese entry: its English
    monkeypatch.setenv("EVERYCALL_LANG", "en")
    assert "The team registry." in runner.invoke(small, ["--help"]).output
