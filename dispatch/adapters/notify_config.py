"""The notifier's configuration (TOML, `EVERYCALL_NOTIFY_CONFIG_PATH`): webhook endpoints for
SMS gateways and group bots, the phone numbers of members who get texts, and the retry policy.
A secret is given in the file (`secret`) or, better, named by the environment variable that
holds it (`secret_env`). docs/notifications.md shows a whole file."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from dispatch.config import Settings
from models.notice import NOTIFIED_EVENTS

EndpointKind = Literal["sms", "wecom", "dingtalk", "json"]


class WebhookEndpoint(BaseModel):
    """One outbound endpoint: an SMS gateway, a WeChat Work or DingTalk group bot, or any
    receiver of the notice as JSON. Every body is signed (webhooks.py)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    kind: EndpointKind
    url: str = Field(pattern=r"^https?://", max_length=2000)
    secret: SecretStr = Field(description="HMAC-SHA256 key of the signature header")
    events: tuple[str, ...] = NOTIFIED_EVENTS
    teams: tuple[str, ...] = Field(default=(), description="only these teams' notices (all)")
    regions: tuple[str, ...] = Field(default=(), description="only these regions' (all)")
    max_attempts: int = Field(default=5, ge=1, le=20)
    timeout_s: float = Field(default=5.0, gt=0, le=60)

    @field_validator("events")
    @classmethod
    def _known_events(cls, events: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(events) - set(NOTIFIED_EVENTS))
        if unknown:
            raise ValueError(f"not notified: {unknown}; choose from {list(NOTIFIED_EVENTS)}")
        return events

    @property
    def channel(self) -> str:
        """The channel the log names: the kind and the name, e.g. `sms:gateway`."""
        return f"{self.kind}:{self.name}"

    def wants(self, event_type: str, team_id: str | None, region: str) -> bool:
        if event_type not in self.events:
            return False
        if self.teams and team_id not in self.teams:
            return False
        return not self.regions or region in self.regions


class NotifyConfig(BaseModel):
    """Everything the notifier is configured with; empty: Web Push only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    webhooks: tuple[WebhookEndpoint, ...] = ()
    phones: dict[str, str] = Field(
        default_factory=dict, description="username -> phone number, for the SMS gateway"
    )
    retry_base_s: float = Field(default=1.0, gt=0, le=600, description="the first retry's wait")
    retry_max_s: float = Field(default=60.0, gt=0, le=3600, description="the longest wait")
    push_max_attempts: int = Field(default=3, ge=1, le=20)
    push_ttl_s: int = Field(default=3600, ge=0, le=28 * 24 * 3600)
    push_timeout_s: float = Field(default=5.0, gt=0, le=60)
    reply_max_age_s: int = Field(
        default=300, ge=10, le=3600, description="an inbound reply signed longer ago is refused"
    )

    @model_validator(mode="after")
    def _one_name_each_and_one_gateway(self) -> NotifyConfig:
        names = [w.name for w in self.webhooks]
        if len(names) != len(set(names)):
            raise ValueError("two webhooks share a name")
        if sum(1 for w in self.webhooks if w.kind == "sms") > 1:
            raise ValueError("one SMS gateway at most: its replies come back to /webhooks/sms")
        return self

    @property
    def sms(self) -> WebhookEndpoint | None:
        return next((w for w in self.webhooks if w.kind == "sms"), None)

    def phone_of(self, username: str) -> str | None:
        phone = self.phones.get(username)
        return normal_phone(phone) if phone else None


def load_notify_config(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> NotifyConfig:
    """The configured file, or nothing (Web Push only)."""
    path = settings.notify_config_path
    if not path:
        return NotifyConfig()
    with Path(path).open("rb") as source:
        document = tomllib.load(source)
    environ = os.environ if environ is None else environ
    document["webhooks"] = [_with_secret(w, environ) for w in document.get("webhooks", [])]
    return NotifyConfig.model_validate(document)


def _with_secret(endpoint: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    named = endpoint.pop("secret_env", None)
    if named is None:
        return endpoint
    if not environ.get(named):
        raise ValueError(f"webhook {endpoint.get('name')!r}: environment variable {named} is unset")
    return {**endpoint, "secret": environ[named]}


def normal_phone(phone: str) -> str:
    """One spelling of a phone number: digits with a leading +, China's +86 added to a bare
    mobile number (13800000000 and +86 138-0000-0000 are one phone)."""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 11 and digits.startswith("1"):
        digits = "86" + digits
    return f"+{digits}"


def phone_recipient(endpoint: WebhookEndpoint, phone: str) -> str:
    """How the log names a phone: a keyed hash (a phone number's space is small enough to
    hash exhaustively, so a plain hash would not hide it)."""
    key = endpoint.secret.get_secret_value().encode()
    digest = hmac.new(key, normal_phone(phone).encode(), hashlib.sha256).hexdigest()
    return f"sms:{digest[:20]}"
