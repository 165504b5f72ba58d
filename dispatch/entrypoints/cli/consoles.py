"""The CLI's consoles. Messages soft-wrap: in a pipe or a log each stays one line, a path in it
whole, for scripts and grep; a terminal still wraps long lines for the eye. Tables are laid
out by their own columns, so they fit the width either way."""

from __future__ import annotations

import os
import sys
from typing import Any

from rich.console import Console


def message_console(*, stderr: bool = False, width: int | None = None) -> Console:
    return Console(stderr=stderr, width=width, soft_wrap=True)


def report_console(piped_width: int, **options: Any) -> Console:
    """A console for a report's tables: as wide as the terminal, or as a COLUMNS that is set;
    in a pipe or a file, `piped_width`, room for every column."""
    own = sys.stdout.isatty() or "COLUMNS" in os.environ
    return Console(width=None if own else piped_width, soft_wrap=True, **options)
