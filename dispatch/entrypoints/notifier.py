"""The notifier as a worker: its channels built from the settings (Web Push signed with the
VAPID key, the configured webhooks) around one set of kept-alive connections, run beside the API by
`everycall serve` or alone by `everycall notifier`."""

from __future__ import annotations

from collections.abc import Callable

from dispatch.adapters.http_post import HttpPoster
from dispatch.adapters.notify_config import NotifyConfig, load_notify_config
from dispatch.adapters.vapid_keys import VapidKey, load_vapid_key
from dispatch.adapters.web_push import WebPushChannel
from dispatch.adapters.webhooks import WebhookChannel
from dispatch.service_layer.channels import NotificationChannel
from dispatch.service_layer.notifier import Notifier
from dispatch.service_layer.services import Services
from models.clock import Clock

CONNECTIONS = 64  # attempts in flight at once, over all channels


def build_channels(
    client: HttpPoster, config: NotifyConfig, vapid: VapidKey, clock: Clock
) -> dict[str, NotificationChannel]:
    """Every channel the configuration names, by the name the log gives it."""
    push = WebPushChannel(
        client, vapid, clock, ttl_s=config.push_ttl_s, timeout_s=config.push_timeout_s
    )
    channels: dict[str, NotificationChannel] = {push.name: push}
    for endpoint in config.webhooks:
        channel = WebhookChannel(client, endpoint, clock)
        channels[channel.name] = channel
    return channels


async def notifier_loop(services: Services, stop: Callable[[], bool]) -> None:
    """Follow the log and notify until `stop()`."""
    config = load_notify_config(services.settings)
    vapid = load_vapid_key(services.settings)
    client = HttpPoster()
    try:
        channels = build_channels(client, config, vapid, services.clock)
        await Notifier(services, config, channels, concurrency=CONNECTIONS).run(stop)
    finally:
        await client.close()
