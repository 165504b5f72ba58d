"""Web Push (RFC 8030) as a notification channel: the notice's JSON encrypted for the
subscription (RFC 8291, push_crypto.py) and POSTed to its push service with a VAPID token
(RFC 8292, vapid_keys.py)."""

from __future__ import annotations

import json

from dispatch.adapters.http_post import HttpPoster, PostFailed
from dispatch.adapters.push_crypto import b64url_decode, encrypt
from dispatch.adapters.vapid_keys import VapidKey
from models.clock import Clock
from models.notice import Delivery, Outcome

PUSH = "push"  # the channel's name in the log
GONE = frozenset({404, 410})  # the subscription expired or was withdrawn: forget it
RETRIED = frozenset({408, 429})  # and every 5xx


class WebPushChannel:
    """Pushes to browsers' subscriptions; `address` holds the endpoint and the keys."""

    name = PUSH

    def __init__(
        self,
        client: HttpPoster,
        vapid: VapidKey,
        clock: Clock,
        *,
        ttl_s: int = 3600,
        timeout_s: float = 5.0,
    ) -> None:
        self._client, self._vapid, self._clock = client, vapid, clock
        self._ttl_s, self._timeout_s = ttl_s, timeout_s

    async def send(self, delivery: Delivery) -> Outcome:
        address = delivery.address
        endpoint = address["endpoint"]
        message = json.dumps(delivery.notice.payload(), ensure_ascii=False).encode()
        body = encrypt(message, b64url_decode(address["p256dh"]), b64url_decode(address["auth"]))
        headers = {
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(self._ttl_s),
            "Urgency": "high",  # a task waits: wake the phone
            "Authorization": self._vapid.authorization(endpoint, self._clock.now()),
        }
        try:
            answer = await self._client.post(endpoint, body, headers, self._timeout_s)
        except PostFailed as error:
            return Outcome(False, f"no answer: {error}", retry=True)
        return _outcome(answer.status)


def _outcome(status: int) -> Outcome:
    if 200 <= status < 300:  # 201 Created, RFC 8030 §5
        return Outcome(True, status=status)
    if status in GONE:
        return Outcome(False, f"HTTP {status}: the subscription is gone", status=status, gone=True)
    retry = status >= 500 or status in RETRIED
    return Outcome(False, f"HTTP {status}", status=status, retry=retry)
