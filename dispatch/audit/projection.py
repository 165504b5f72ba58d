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
}


def projected_tables() -> list[Table]:
    """The state tables a replay rebuilds, in creation order."""
    return [t for t in Base.metadata.sorted_tables if t.name not in NOT_PROJECTED]
