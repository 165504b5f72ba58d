"""The hardship register for the call-taker's form: is the caller's household on it?"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.entrypoints.api.deps import Reader, ServicesDep
from dispatch.views.households import HouseholdView, find_households


def router() -> APIRouter:
    router = APIRouter(tags=["call-taker"])

    @router.get(
        "/households",
        responses={422: {"description": "an account number of other characters, a long address"}},
    )
    def households(
        services: ServicesDep,
        _caller: Reader,
        account: Annotated[
            str | None,
            Query(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z-]+$", description="户号"),
        ] = None,
        address: Annotated[str | None, Query(min_length=1, max_length=500)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[HouseholdView]:
        """Households on the register with this account number and (or) at this address."""
        with services.reads() as session:
            return find_households(session, account=account, address=address, limit=limit)

    return router
