"""The hardship register as the call-taker's form and `everycall households list` read it: a
household by its account number or its address, or the register of a division."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from dispatch.adapters.orm import HouseholdRow
from dispatch.views.places import address_key


class HouseholdView(BaseModel):
    account: str = Field(description="户号: the electricity account number")
    address: str
    division: str
    hardship: bool = Field(description="on the hardship register (困难户)")
    note: str
    updated_at: AwareDatetime


def find_households(
    session: Session, account: str | None = None, address: str | None = None, limit: int = 20
) -> list[HouseholdView]:
    """Households with this account number and (or) at this address, by account; the
    register's first `limit` without either."""
    query = select(HouseholdRow).order_by(HouseholdRow.account).limit(limit)
    if account is not None:
        query = query.where(HouseholdRow.account == account.strip())
    if address is not None:
        query = query.where(HouseholdRow.address_key == address_key(address))
    return [_view(row) for row in session.scalars(query)]


def list_households(
    session: Session, division: str | None = None, hardship_only: bool = False
) -> list[HouseholdView]:
    """The register, by division and account."""
    query = select(HouseholdRow).order_by(HouseholdRow.division, HouseholdRow.account)
    if division is not None:
        query = query.where(HouseholdRow.division == division)
    if hardship_only:
        query = query.where(HouseholdRow.hardship.is_(True))
    return [_view(row) for row in session.scalars(query)]


def _view(row: HouseholdRow) -> HouseholdView:
    return HouseholdView(
        account=row.account,
        address=row.address,
        division=row.division,
        hardship=row.hardship,
        note=row.note,
        updated_at=row.updated_at,
    )
