"""The CLI's consoles. Messages soft-wrap: in a pipe or a log each stays one line, a path in it
whole, for scripts and grep; a terminal still wraps long lines for the eye. Tables are laid
out by their own columns, so they fit the width either way."""

from __future__ import annotations

from rich.console import Console


def message_console(*, stderr: bool = False, width: int | None = None) -> Console:
    return Console(stderr=stderr, width=width, soft_wrap=True)
