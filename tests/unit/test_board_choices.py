"""The board's selects offer exactly the kinds and priorities the API takes: a value the
board offers and the intake refuses would fail a call-taker at the worst moment."""

from __future__ import annotations

import re
from pathlib import Path

from models.incident import IncidentKind, Priority

I18N = Path(__file__).resolve().parents[2] / "web" / "src" / "i18n.ts"


def offered(name: str) -> set[str]:
    block = re.search(rf"export const {name}[^=]*= \[(.*?)\];", I18N.read_text(), re.S)
    assert block, f"{name} not found in {I18N}"
    return set(re.findall(r'\["([a-z_]+)", "[^"]+"\]', block.group(1)))


def test_the_board_offers_every_kind_the_api_takes_and_no_other() -> None:
    assert offered("KINDS") == {kind.value for kind in IncidentKind}


def test_the_board_offers_every_priority_the_api_takes_and_no_other() -> None:
    assert offered("PRIORITIES") == {priority.value for priority in Priority}
