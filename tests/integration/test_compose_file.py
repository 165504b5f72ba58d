"""The production compose file is valid, and its scaled services can be scaled.

`docker compose up --scale dispatcher=3 --scale api=2` needs the scaled services to have no
fixed container name and no fixed host port (two replicas cannot both hold one). The file is
checked by Debian's docker-compose (`make test` installs it), which needs no Docker engine.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "docker-compose.yml"
SCALED = ("api", "dispatcher")


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The file as docker-compose reads it: anchors merged, variables filled in."""
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is missing: `make debian-packages` installs it"
    checked = subprocess.run(
        [tool, "-f", str(COMPOSE_FILE), "config"], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr
    document: dict[str, Any] = yaml.safe_load(checked.stdout)
    return document


@pytest.mark.parametrize("service", SCALED)
def test_a_scaled_service_has_no_container_name_and_no_host_port(
    resolved: dict[str, Any], service: str
) -> None:
    spec = resolved["services"][service]
    assert "container_name" not in spec
    assert not spec.get("ports"), f"{service} publishes host ports: {spec['ports']}"


def test_the_gateway_publishes_the_api_and_proxies_to_every_replica(
    resolved: dict[str, Any],
) -> None:
    gateway = resolved["services"]["gateway"]
    assert [str(p.get("published")) for p in gateway["ports"]] == ["8000"]
    config = (COMPOSE_FILE.parent / "deploy" / "nginx.conf").read_text()
    assert "resolver 127.0.0.11" in config  # re-resolves "api": new replicas are found
    assert "proxy_pass $api" in config


def test_every_everycall_service_waits_for_the_schema_migration(
    resolved: dict[str, Any],
) -> None:
    for service in ("api", "dispatcher", "watchdog"):
        waits = resolved["services"][service]["depends_on"]
        assert waits["migrate"]["condition"] == "service_completed_successfully"


def test_every_api_replica_shares_the_rate_limits_in_redis_and_trusts_only_the_gateway(
    resolved: dict[str, Any],
) -> None:
    api = resolved["services"]["api"]
    assert api["environment"]["EVERYCALL_REDIS_URL"] == "redis://redis:6379/0"
    assert api["environment"]["EVERYCALL_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert api["depends_on"]["redis"]["condition"] == "service_healthy"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert api["environment"]["FORWARDED_ALLOW_IPS"] == "*"
    assert not api.get("ports"), "a replica reachable beside the gateway must not trust *"
    assert not resolved["services"]["redis"].get("ports")
