"""The hardship register's file: CSV with one household a row (the sample is
config/households.sample.csv). Loading is all-or-nothing: one bad row refuses the file, with
its line and the reason."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import NamedTuple

from pydantic import ValidationError

from models.household import Household

COLUMNS = ("account", "address", "division", "hardship", "note")


class HouseholdImportError(ValueError):
    """A register file that cannot be imported; `where` is "line N" or ""."""

    def __init__(self, path: Path, where: str, reason: str) -> None:
        super().__init__(f"{path}: {where}: {reason}" if where else f"{path}: {reason}")
        self.where = where
        self.reason = reason


class Entry(NamedTuple):
    """A household and where the file has it, to name the line if a later check refuses it."""

    where: str
    household: Household


def load_households(path: Path) -> list[Entry]:
    """Every household in the file, or HouseholdImportError naming the first bad row."""
    if path.suffix.lower() != ".csv":
        raise HouseholdImportError(path, "", "the register is a .csv file")
    try:
        # -sig: Excel writes a BOM; newline="": keep line ends inside quoted fields as they are
        with path.open(encoding="utf-8-sig", newline="") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise HouseholdImportError(path, "", f"not UTF-8 text ({e.reason})") from e
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    if sorted(header) != sorted(COLUMNS):
        raise HouseholdImportError(path, "line 1", f"header: expected {','.join(COLUMNS)}")
    entries: list[Entry] = []
    first_seen: dict[str, str] = {}
    start = reader.line_num + 1
    for row in reader:
        where, start = f"line {start}", reader.line_num + 1
        if not row:
            continue
        household = _household(path, where, header, row)
        if household.account in first_seen:
            first = first_seen[household.account]
            reason = f"account: {household.account!r} again, first at {first}"
            raise HouseholdImportError(path, where, reason)
        first_seen[household.account] = where
        entries.append(Entry(where, household))
    return entries


def _household(path: Path, where: str, header: list[str], row: list[str]) -> Household:
    if len(row) != len(header):
        raise HouseholdImportError(path, where, f"expected {len(header)} fields, found {len(row)}")
    try:
        return Household.model_validate(dict(zip(header, row, strict=True)))
    except ValidationError as e:
        reasons = "; ".join(f"{'.'.join(map(str, d['loc']))}: {d['msg']}" for d in e.errors())
        raise HouseholdImportError(path, where, reasons) from e
