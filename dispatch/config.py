"""Every setting of everycall, read from the environment by the composition root only, and
where the policy files are."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.policy import RoutingPolicy

DEFAULT_SLA_POLICY_PATH = Path(__file__).resolve().parents[1] / "config" / "sla.toml"
DEFAULT_RESPONSE_PLANS_PATH = Path(__file__).resolve().parents[1] / "config" / "response_plans.toml"
DEFAULT_STORM_POLICY_PATH = Path(__file__).resolve().parents[1] / "config" / "storm.toml"
WEB_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"  # `make web` builds it


class Settings(BaseSettings):
    """Defaults give the embedded set-up: a SQLite file and a broker started on demand."""

    # nested settings by double underscore, e.g. EVERYCALL_ROUTING__FIX_MAX_AGE_MIN=20
    model_config = SettingsConfigDict(
        env_prefix="EVERYCALL_", extra="ignore", env_nested_delimiter="__"
    )

    database_url: str = Field(
        default="sqlite:///everycall.db",
        description="SQLAlchemy URL, e.g. postgresql+psycopg://user@host/db",
    )
    kafka_bootstrap_servers: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "KAFKA_BOOTSTRAP_SERVERS", "EVERYCALL_KAFKA_BOOTSTRAP_SERVERS"
        ),
        description="host:port[,host:port]; unset starts the embedded broker",
    )
    consumer_group: str = Field(default="everycall-dispatcher", min_length=1)
    batch_max_records: int = Field(default=2000, ge=1, le=50_000)
    batch_wait_ms: int = Field(default=50, ge=0, le=10_000, description="longest poll for a batch")
    max_poll_interval_ms: int = Field(default=10_000, ge=1_000)
    consumer_session_timeout_ms: int | None = Field(
        default=None,
        ge=1_000,
        description="how long the group waits for a dispatcher gone silent (crashed) before its "
        "partitions move on; unset: max(6 s, max_poll_interval_ms)",
    )
    producer_name: str = Field(default="everycall-dispatcher", max_length=64)
    prefect_home: str = Field(default=".prefect", description="used when PREFECT_HOME is unset")
    routing: RoutingPolicy = Field(
        default_factory=RoutingPolicy, description="the routing policy's knobs (models/policy.py)"
    )
    api_host: str = Field(default="127.0.0.1", description="where `everycall api|serve` listen")
    api_port: int = Field(default=8000, ge=0, le=65_535)
    api_body_limit_bytes: int = Field(
        default=64 * 1024, ge=1_024, description="larger request bodies are refused with 413"
    )
    api_rate_per_s: float = Field(
        default=20.0, gt=0, description="requests a second per token on average (then 429)"
    )
    api_rate_burst: int = Field(default=100, ge=1, description="requests a token may burst")
    redis_url: str | None = Field(
        default=None,
        description="redis://host:port/db: the API processes keep their rate limits there; "
        "unset: in the database, shared by every API process on it",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65_535,
        description="`everycall dispatcher` serves Prometheus metrics on this port when set",
    )
    api_token_pepper: str = Field(
        default="", description="secret mixed into stored token hashes (HMAC-SHA256 key)"
    )
    relay_interval_s: float = Field(
        default=0.1, gt=0, le=60, description="how often the outbox relay looks for work"
    )
    watchdog_interval_s: float = Field(
        default=5.0, gt=0, le=3_600, description="how often the SLA watchdog runs"
    )
    data_dir: str = Field(
        default=".", description="where everycall keeps files it makes itself (the VAPID key)"
    )
    vapid_private_key: SecretStr | None = Field(
        default=None,
        description="the Web Push signing key (VAPID, RFC 8292): base64url of the raw P-256 "
        "private key, or PEM; unset: made once and kept in data_dir/vapid-private-key.pem",
    )
    vapid_subject: str = Field(
        default="mailto:dispatch@everycall.invalid",
        pattern=r"^(mailto:|https://)",
        description="the contact push services may write to about our pushes",
    )
    notify_config_path: str | None = Field(
        default=None,
        description="webhook endpoints (SMS gateways, group bots) and members' phones, TOML "
        "(docs/notifications.md); unset: Web Push only",
    )
    notifier_poll_s: float = Field(
        default=0.05, gt=0, le=60, description="how often the notifier looks for new events"
    )
    sla_policy_path: str | None = Field(
        default=None, description="SLA targets (TOML); unset: config/sla.toml beside the code"
    )
    response_plans_path: str | None = Field(
        default=None,
        description="teams per incident by kind and priority (TOML); unset: "
        "config/response_plans.toml beside the code",
    )
    storm_policy_path: str | None = Field(
        default=None,
        description="storm mode's policy (TOML); unset: config/storm.toml beside the code",
    )
    storm_radius_m: float = Field(
        default=200.0, ge=0, description="a report this close to an open one of its kind is merged"
    )
    storm_window_min: float = Field(
        default=30.0, ge=0, description="...if that one was reported at most this long before"
    )
    fault_after_db_commit: int | None = Field(
        default=None,
        ge=1,
        description="tests only (dispatch/faults.py): the dispatcher exits with 137 right after "
        "the database commit of its n-th batch, before committing that batch's offsets",
    )
    fault_start_gate: str | None = Field(
        default=None,
        description="tests only (dispatch/faults.py): the dispatcher waits, ready but not yet "
        "in its consumer group, until this file exists (a standby for the next kill)",
    )


def sla_policy_path(settings: Settings) -> str | None:
    """The SLA policy file in force: the configured one, else config/sla.toml beside the code,
    else None (the built-in targets of models/sla.py)."""
    path = settings.sla_policy_path
    if path is None and DEFAULT_SLA_POLICY_PATH.exists():
        path = str(DEFAULT_SLA_POLICY_PATH)
    return path


def response_plans_path(settings: Settings) -> str | None:
    """The response plans in force: the configured file, else config/response_plans.toml
    beside the code, else None (the built-in plans of models/response_plans.py)."""
    path = settings.response_plans_path
    if path is None and DEFAULT_RESPONSE_PLANS_PATH.exists():
        path = str(DEFAULT_RESPONSE_PLANS_PATH)
    return path


def storm_policy_path(settings: Settings) -> str | None:
    """Storm mode's policy file in force: the configured one, else config/storm.toml beside the
    code, else None (the built-in policy of models/storm_policy.py)."""
    path = settings.storm_policy_path
    if path is None and DEFAULT_STORM_POLICY_PATH.exists():
        path = str(DEFAULT_STORM_POLICY_PATH)
    return path
