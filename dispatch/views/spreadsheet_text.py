"""Text for spreadsheet exports: a cell that starts like a formula is kept as text, so that
opening an export in Excel or WPS never runs what someone typed into an address or a note
(CSV injection, OWASP)."""

from __future__ import annotations

from typing import Any

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def starts_like_formula(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_LEADS)


def inert_text(value: Any) -> Any:
    """`value`, with a leading apostrophe if it is text a spreadsheet would read as a formula."""
    return f"'{value}" if starts_like_formula(value) else value
