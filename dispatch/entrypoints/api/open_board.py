"""The board's first load: `GET /board/open`, every open incident in one compact read."""

from __future__ import annotations

from functools import partial

import orjson
from fastapi import APIRouter, Response

from dispatch.entrypoints.api.deps import Reader, ServicesDep
from dispatch.service_layer.clocks import policy_of
from dispatch.service_layer.storm import conditions_at
from dispatch.views.estimates import open_estimates
from dispatch.views.open_board import OpenBoard, open_board


def router() -> APIRouter:
    router = APIRouter(tags=["board"])

    @router.get("/board/open", response_model=OpenBoard)
    def open_incidents(services: ServicesDep, _caller: Reader) -> Response:
        """Every open incident as the board draws it, with the log's sequence number then."""
        with services.reads() as session:
            now, routing = services.clock.now(), services.settings.routing
            duty = partial(conditions_at, session, now)  # who routing may send
            found = open_estimates(session, now, routing, policy_of(services), duty)
            board = open_board(session, found)
        # orjson, not the response model's validation: 10,000 rows are read in a blink and
        # validated in a second; the model documents the same shape
        body = orjson.dumps(board, option=orjson.OPT_UTC_Z)
        return Response(body, media_type="application/json", headers={"Cache-Control": "no-store"})

    return router
