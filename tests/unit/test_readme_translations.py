"""The Chinese README stays in step with the English one: the same commands, in the same order."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHELL_BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
TRAILING_COMMENT = re.compile(r"\s+#\s.*$")


def commands(readme: Path) -> list[str]:
    """Every command line of the README's shell blocks, without its comment."""
    lines = []
    for block in SHELL_BLOCK.findall(readme.read_text(encoding="utf-8")):
        for line in block.splitlines():
            command = TRAILING_COMMENT.sub("", line).strip()
            if command and not command.startswith("#"):
                lines.append(command)
    return lines


def test_both_readmes_name_the_same_commands() -> None:
    english = commands(ROOT / "README.md")
    assert english[:2] == ["make demo", "make test"]
    assert commands(ROOT / "README.zh-CN.md") == english


def test_each_readme_links_the_other() -> None:
    assert "README.zh-CN.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(README.md)" in (ROOT / "README.zh-CN.md").read_text(encoding="utf-8")
