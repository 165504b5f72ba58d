"""The call-taker's look-ups before a report: where an address is (offline), and which open
incidents of the same kind are already near the place."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from dispatch.entrypoints.api.deps import Reader, ServicesDep
from dispatch.views.nearby import NearbyIncidents, open_incidents_near
from dispatch.views.places import Place, resolve_place
from models.incident import IncidentKind

DEFAULT_RADIUS_KM = 2.0  # a street or two in a town: where a second call is the same fault
MAX_RADIUS_KM = 20.0  # beyond this a "same fault" warning says nothing useful


def router() -> APIRouter:
    # Included before the incidents' router: /incidents/nearby is not /incidents/{incident_id}.
    router = APIRouter(tags=["call-taker"])

    @router.get(
        "/places/resolve",
        responses={422: {"description": "no address, or one longer than 500 characters"}},
    )
    def resolve(
        _caller: Reader,
        address: Annotated[str, Query(min_length=1, max_length=500, description="as said")],
    ) -> Place:
        """An address's Hubei division, district and approximate position, or why none."""
        return resolve_place(address)

    @router.get(
        "/incidents/nearby",
        responses={
            422: {"description": "an unknown kind, a place off the globe, radius over 20 km"}
        },
    )
    def nearby(
        services: ServicesDep,
        _caller: Reader,
        kind: IncidentKind,
        latitude: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
        longitude: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
        radius_km: Annotated[
            float, Query(gt=0, le=MAX_RADIUS_KM, allow_inf_nan=False)
        ] = DEFAULT_RADIUS_KM,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> NearbyIncidents:
        """Open incidents of the kind within the radius, newest first, with their distance."""
        with services.reads() as session:
            return open_incidents_near(session, kind.value, latitude, longitude, radius_km, limit)

    return router
