"""The tables a replay rebuilds from the event log alone, and the state tables it leaves out.

The rows themselves are folded by dispatch/service_layer/folds.py, the same folds the live
write side applies, into a board (dispatch/service_layer/state.py); bulk_write.py writes a
board to an empty database.
"""

from __future__ import annotations

from sqlalchemy import Table

from dispatch.adapters.orm import Base

# State tables that are not projections of the log: operational plumbing, with the reason.
NOT_PROJECTED: dict[str, str] = {
    "outbox": "messages waiting for Kafka; deleted once published",
    "dead_letters": "records that never became events (kept with the reason, not logged)",
    "api_tokens": "credentials: never logged, so never replayed",
    "users": "people's accounts and password hashes: credentials, never logged",
    "web_sessions": "signed-in browsers: credentials, never logged",
    "idempotency_keys": "request deduplication for the HTTP API, not dispatch state",
    "rate_limit_buckets": "the API's rate limits per token or address, not dispatch state",
    "push_subscriptions": "browsers' push endpoints and keys: a session's secrets, never logged",
    "log_cursors": "how far the notifier has read the log: its own position, not dispatch state",
    "notification_deliveries": "the notifier's unfinished work; its attempts are logged as events",
    "sms_references": "which task an outbound SMS was about, for its reply: a lookup",
    "sms_replies": "inbound SMS message ids already applied: deduplication, the moves are logged",
    "households": "the hardship register: reference data imported from its file, never logged",
}


def projected_tables() -> list[Table]:
    """The state tables a replay rebuilds, in creation order."""
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_PROJECTED]
