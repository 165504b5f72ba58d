"""The folds of the weather-alert stream (events/schemas/alerts.py). folds.py registers them
with the others (this module does not import it: no cycle)."""

from __future__ import annotations

from collections.abc import Callable

from dispatch.service_layer.state import Event, State

Projector = Callable[[State, Event], None]


def alert_logged(board: State, event: Event) -> None:
    """No row changes: an alert's effect on storm mode is its own storm.declared event, and
    the board reads alerts and proposals from the log (GET /alerts), so a replay folds these
    as known events that leave the state as it was."""


ALERT_PROJECTORS: dict[str, Projector] = {
    "alert.received": alert_logged,
    "storm.proposed": alert_logged,
}
