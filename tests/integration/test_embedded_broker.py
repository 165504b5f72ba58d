"""The embedded broker is never confused with a process it did not start.

Its port is picked free and then bound by the broker process; another process can take it in
between (another test's broker or API under pytest-xdist). The broker is ready only when the
socket listening on its port is its own child's.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from events.broker import EmbeddedBroker, PortTaken, free_port, listener_owner
from events.kafka import ensure_topics


@pytest.fixture
def squatter() -> Iterator[int]:
    """A port that another listener holds: the race's losing side, made certain."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


def test_a_broker_whose_picked_port_was_taken_starts_on_another_and_listens_itself(
    squatter: int,
) -> None:
    broker = EmbeddedBroker()
    broker.port = squatter  # as if another process bound the picked port first
    with broker:
        assert broker.port != squatter
        assert broker.pid is not None and listener_owner(broker.pid, broker.port) is True
        ensure_topics(broker.bootstrap_servers)  # and it speaks Kafka there


def test_a_broker_asked_for_a_port_another_process_holds_refuses_to_start(
    squatter: int,
) -> None:
    with pytest.raises(PortTaken, match=str(squatter)):
        EmbeddedBroker(squatter).start()


def test_listener_owner_tells_this_process_from_another(squatter: int) -> None:
    assert listener_owner(os.getpid(), squatter) is True
    with EmbeddedBroker() as broker:
        assert listener_owner(os.getpid(), broker.port) is False
        assert broker.pid is not None and listener_owner(broker.pid, squatter) is False


def test_picked_ports_never_repeat_and_lie_below_the_ephemeral_range() -> None:
    """Outbound connections and `bind(0)` draw from the ephemeral range: a port picked there
    could be taken before its server binds it, and two picks in a row could be the same."""
    floor = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    picked = [free_port() for _ in range(200)]
    assert len(set(picked)) == len(picked)
    assert all(1024 < port < floor for port in picked)


def test_a_port_held_by_a_listener_is_not_picked() -> None:
    taken = free_port() + 1  # the next candidate, as a rule
    with socket.socket() as held:
        with contextlib.suppress(OSError):  # another process's listener holds it already
            held.bind(("127.0.0.1", taken))
            held.listen()
        assert taken not in [free_port() for _ in range(5)]
