"""Tables for any terminal width: an identifier (the thing a user copies) is never cut; the
other columns wrap, and past the width the last ones are dropped, with a hint saying so.

Widths are counted in terminal cells, not characters: a Chinese character takes two. Rich's
`cell_len` does the counting (it is what Rich itself lays tables out by, so the two agree).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from dispatch.entrypoints.cli.i18n import say

# Room a column needs at the least: its borders and padding, and a few cells of text.
BORDER = 3
NARROWEST = 10
# A column no wider than this (a count, a state, a date) stays on one line: wrapping it saves
# little room and makes it hard to read.
SHORT = 12


def identifier_table(
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    identifiers: int = 1,
    width: int | None = None,
) -> tuple[Table, list[str]]:
    """The table, and the headers left out for want of room. The first `identifiers`
    columns keep their whole values, on one line; the others are in order of priority,
    the last dropped first."""
    room = (width or Console().width) - 1
    widest = [max([cell_len(h), *(cell_len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    whole = [i < identifiers or widest[i] <= SHORT for i in range(len(headers))]
    kept = list(range(identifiers))
    used = sum(widest[i] + BORDER for i in kept)
    for i in range(identifiers, len(headers)):
        least = widest[i] if whole[i] else max(NARROWEST, _widest_word(headers[i]))
        need = least + BORDER
        if used + need > room:
            break
        kept.append(i)
        used += need
    table = Table(title=title)
    for i in kept:
        if whole[i]:
            table.add_column(headers[i], no_wrap=True, min_width=widest[i], overflow="ignore")
        else:
            table.add_column(headers[i], overflow="fold")
    for row in rows:
        table.add_row(*(row[i] for i in kept))
    return table, [h for i, h in enumerate(headers) if i not in kept]


def _widest_word(header: str) -> int:
    """A header wraps between words but not inside one (a Chinese header is one word)."""
    return max(cell_len(word) for word in header.split()) if header.strip() else 0


def print_identifier_table(
    console: Console,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    identifiers: int = 1,
    json_option: bool = True,
) -> None:
    """Print the table, and a line naming the columns dropped and how to see them."""
    table, dropped = identifier_table(
        title, headers, rows, identifiers=identifiers, width=console.width
    )
    console.print(table)
    if dropped:
        more = say("table.json") if json_option else ""
        console.print(say("table.dropped", columns=say("word.separator").join(dropped), json=more))
