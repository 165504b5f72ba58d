"""Tables for any terminal width: an identifier (the thing a user copies) is never cut; the
other columns wrap, and past the width the last ones are dropped, with a hint saying so."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

# Room a column needs at the least: its borders and padding, and a few characters of text.
BORDER = 3
NARROWEST = 6


def identifier_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    identifiers: int = 1,
    width: int | None = None,
) -> tuple[Table, list[str]]:
    """The table, and the headers left out for want of room. The first `identifiers`
    columns keep their whole values, on one line."""
    room = (width or Console().width) - 1
    widest = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    kept = list(range(identifiers))
    used = sum(widest[i] + BORDER for i in kept)
    for i in range(identifiers, len(headers)):
        need = min(widest[i], max(NARROWEST, len(headers[i]))) + BORDER
        if used + need > room:
            break
        kept.append(i)
        used += need
    table = Table(title=title)
    for i in kept:
        if i < identifiers:
            table.add_column(headers[i], no_wrap=True, min_width=widest[i], overflow="ignore")
        else:
            table.add_column(headers[i], overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in kept))
    return table, [h for i, h in enumerate(headers) if i not in kept]


def print_identifier_table(
    console: Console,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    identifiers: int = 1,
) -> None:
    table, dropped = identifier_table(
        title, headers, rows, identifiers=identifiers, width=console.width
    )
    console.print(table)
    if dropped:
        console.print(f"(too narrow for {', '.join(dropped)}: widen the terminal or use --json)")
