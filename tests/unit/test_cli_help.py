"""`everycall --help` in Chinese: every command of the core groups has Chinese help, and
the catalogue names no command that does not exist."""

from __future__ import annotations

import copy
import inspect
from collections.abc import Iterator

import pytest
import typer
from typer.main import get_command

from dispatch.entrypoints.cli.help_text import HELP_ZH, localise_help
from dispatch.entrypoints.cli.main import app

CORE = frozenset(
    {"", "db", "audit", "tokens", "users", "households", "incidents", "tasks", "teams"}
    | {"grid", "sla", "ledger"}
)


def commands(t: typer.Typer, path: str = "") -> Iterator[tuple[str, typer.Typer | None]]:
    """Every group and command path of the app, the groups with their Typer."""
    for group in t.registered_groups:
        name = f"{path} {group.name}".strip()
        yield name, group.typer_instance
        if group.typer_instance is not None:
            yield from commands(group.typer_instance, name)
    for command in t.registered_commands:
        named = command.name or (command.callback.__name__ if command.callback else "")
        yield f"{path} {named.replace('_', '-')}".strip(), None


def _group(path: str, groups: set[str]) -> str:
    """The top-level group a path is in; "" for a command of `everycall` itself."""
    first = path.split(" ")[0]
    return first if first in groups else ""


def test_every_core_command_has_chinese_help() -> None:
    listed = list(commands(app))
    groups = {path for path, sub in listed if sub is not None}
    core = [p for p, _ in listed if _group(p, groups) in CORE]
    assert len(core) > 50 and "queue" in core and "teams list" in core
    assert [p for p in core if p not in HELP_ZH] == []


def test_the_chinese_help_names_only_commands_that_exist() -> None:
    paths = {path for path, _ in commands(app)} | {""}
    assert sorted(set(HELP_ZH) - paths) == []


def test_help_is_chinese_in_chinese_and_the_docstring_in_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    english = copy.deepcopy(app)
    monkeypatch.setenv("EVERYCALL_LANG", "en")
    localise_help(english)
    teams = get_command(english).commands["teams"]  # type: ignore[attr-defined]
    assert teams.commands["list"].help == inspect.getdoc(teams.commands["list"].callback)

    chinese = copy.deepcopy(app)
    monkeypatch.setenv("EVERYCALL_LANG", "zh")
    localise_help(chinese)
    built = get_command(chinese)
    assert built.help == HELP_ZH[""]
    teams = built.commands["teams"]  # type: ignore[attr-defined]
    assert teams.help == HELP_ZH["teams"]
    assert teams.commands["list"].help == HELP_ZH["teams list"]
    assert built.commands["queue"].help == HELP_ZH["queue"]  # type: ignore[attr-defined]
    assert app.info.help != HELP_ZH[""]  # the copies were changed, not the app itself
