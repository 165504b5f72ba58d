"""The hardship register kept from its file: each household added or brought up to date by its
account number, inside the caller's transaction, so a refused file changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.household_files import Entry, HouseholdImportError
from dispatch.adapters.orm import HouseholdRow
from dispatch.views.places import PlaceStatus, address_key, resolve_place
from models.household import Household

_CHUNK = 500  # accounts per IN (...) read: under every backend's parameter limit


@dataclass(frozen=True)
class Imported:
    added: int
    updated: int


def import_households(
    session: Session, path: Path, entries: Sequence[Entry], at: datetime
) -> Imported:
    """Add the file's new households and update the known ones; the others stay as they were.
    A household whose address names another division than its own refuses the file."""
    for entry in entries:
        _check_division(path, entry)
    accounts = [e.household.account for e in entries]
    known: dict[str, HouseholdRow] = {}
    for start in range(0, len(accounts), _CHUNK):
        chunk = accounts[start : start + _CHUNK]
        query = select(HouseholdRow).where(HouseholdRow.account.in_(chunk))
        known.update((row.account, row) for row in session.scalars(query))
    for entry in entries:
        row = known.get(entry.household.account) or HouseholdRow(account=entry.household.account)
        _fill(row, entry.household, at)
        session.add(row)
    return Imported(added=len(entries) - len(known), updated=len(known))


def _check_division(path: Path, entry: Entry) -> None:
    place = resolve_place(entry.household.address)
    if place.status is PlaceStatus.OUTSIDE_HUBEI:
        reason = f"address: outside Hubei ({place.province})"
        raise HouseholdImportError(path, entry.where, reason)
    if place.status is PlaceStatus.RESOLVED and place.division != entry.household.division:
        reason = (
            f"division: the address is in {place.division} ({place.division_name}), "
            f"not {entry.household.division}"
        )
        raise HouseholdImportError(path, entry.where, reason)


def _fill(row: HouseholdRow, household: Household, at: datetime) -> None:
    row.address = household.address
    row.address_key = address_key(household.address)
    row.division = household.division
    row.hardship = household.hardship
    row.note = household.note
    row.updated_at = at
