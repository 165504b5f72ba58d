"""Outbound webhooks: a notice POSTed to an SMS gateway, a WeChat Work or DingTalk group bot,
or any JSON receiver. Every body is signed: `X-Everycall-Signature: sha256=<hex>`, the
HMAC-SHA256 of `<X-Everycall-Timestamp>.<body>` under the endpoint's secret (the inbound SMS
webhook is checked the same way). DingTalk's bots also get their own signature in the URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote_plus

from dispatch.adapters.http_post import Answer, HttpPoster, PostFailed
from dispatch.adapters.notify_config import WebhookEndpoint
from models.clock import Clock
from models.notice import Delivery, Outcome

TIMESTAMP_HEADER = "X-Everycall-Timestamp"
SIGNATURE_HEADER = "X-Everycall-Signature"
RETRIED_STATUSES = frozenset({408, 425, 429})  # and every 5xx


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return (
        "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    )


def signature_matches(secret: bytes, timestamp: str, body: bytes, sent: str) -> bool:
    return hmac.compare_digest(signature(secret, timestamp, body), sent)


def body_of(endpoint: WebhookEndpoint, delivery: Delivery) -> dict[str, Any]:
    """What the endpoint's kind expects: a text for an SMS gateway or a bot, the notice for
    a JSON receiver."""
    notice = delivery.notice
    if endpoint.kind == "sms":
        reference = delivery.reference or ""
        return {
            "to": delivery.address["phone"],
            "text": notice.sms_text(reference),
            "reference": reference,
            "incident_id": notice.incident_id,
            "type": notice.type,
        }
    if endpoint.kind in ("wecom", "dingtalk"):
        return {"msgtype": "text", "text": {"content": f"{notice.title}\n{notice.body}"}}
    return {**notice.payload(), "delivery_id": delivery.delivery_id}


class WebhookChannel:
    """One configured endpoint, as a notification channel."""

    def __init__(self, client: HttpPoster, endpoint: WebhookEndpoint, clock: Clock) -> None:
        self._client, self._endpoint, self._clock = client, endpoint, clock
        self.name = endpoint.channel

    async def send(self, delivery: Delivery) -> Outcome:
        endpoint = self._endpoint
        body = json.dumps(body_of(endpoint, delivery), ensure_ascii=False).encode()
        now = self._clock.now()
        timestamp = str(int(now.timestamp()))
        secret = endpoint.secret.get_secret_value().encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            "X-Everycall-Delivery": delivery.delivery_id,
            "X-Everycall-Attempt": str(delivery.attempt),
        }
        url = endpoint.url
        if endpoint.kind == "dingtalk":
            url = _dingtalk_signed(url, secret, int(now.timestamp() * 1000))
        try:
            answer = await self._client.post(url, body, headers, endpoint.timeout_s)
        except PostFailed as error:
            return Outcome(False, f"no answer: {error}", retry=True)
        return _outcome(endpoint, answer)


def _dingtalk_signed(url: str, secret: bytes, millis: int) -> str:
    """DingTalk's own check of a group bot's caller: timestamp and sign in the query."""
    mac = hmac.new(secret, f"{millis}\n".encode() + secret, hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(mac).decode())
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={millis}&sign={sign}"


def _outcome(endpoint: WebhookEndpoint, answer: Answer) -> Outcome:
    status = answer.status
    if status >= 500 or status in RETRIED_STATUSES:
        return Outcome(False, f"HTTP {status}", status=status, retry=True)
    if not 200 <= status < 300:
        return Outcome(False, f"HTTP {status}", status=status)
    if endpoint.kind in ("wecom", "dingtalk"):
        refused = _bot_refusal(answer)
        if refused:  # the bots answer 200 with an error code (45009: too many messages)
            return Outcome(False, refused, status=status, retry=True)
    return Outcome(True, status=status)


def _bot_refusal(answer: Answer) -> str:
    try:
        document = json.loads(answer.body)
    except ValueError:
        return ""
    code = document.get("errcode", 0) if isinstance(document, dict) else 0
    return f"errcode {code}: {str(document.get('errmsg', ''))[:200]}" if code else ""
