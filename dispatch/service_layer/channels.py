"""The notifier's port: a channel takes one attempt of a delivery and says how it went. Web Push
and the webhooks (dispatch/adapters/web_push.py, webhooks.py) are its adapters."""

from __future__ import annotations

from typing import Protocol

from models.notice import Delivery, Outcome


class NotificationChannel(Protocol):
    @property
    def name(self) -> str:
        """The channel as the log names it: `push`, or an endpoint's `kind:name`."""
        ...

    async def send(self, delivery: Delivery) -> Outcome:
        """One attempt; never raises for the recipient's or the network's failures."""
        ...
