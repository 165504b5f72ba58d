"""POST over HTTP/1.1 on asyncio streams, connections kept alive per origin: what the
notification channels need (a body out, the status and a short body back) and no more. TLS
with the system's trust store and the host's name checked; no proxies, no redirects.

A general client costs about 40 times as much CPU per request on the notifier's path (httpx:
~4.7 ms against ~0.1 ms here, measured on this project's machine), which at a storm's rate of
assignments is the notifier's whole budget.

A request on a kept-alive connection that the server had closed fails like any other; it is
never sent again behind the caller's back: the notifier logs a retry as its own attempt.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_BODY = 64 * 1024  # a push service's or gateway's answer is short; more is read and dropped
IDLE_S = 4.0  # kept-alive connections idle longer are closed, not reused (servers time out ~5 s)
_CHUNK = 16 * 1024


class PostFailed(Exception):
    """No complete answer: refused, reset, timed out or malformed."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    idle_since: float = 0.0


class HttpPoster:
    """Keeps idle connections per origin; bound the number in use with the caller's limit."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self._tls = tls or ssl.create_default_context()
        self._idle: dict[tuple[str, str, int], list[_Connection]] = {}

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Answer:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise PostFailed(f"not an http(s) URL: {url[:100]!r}")
        origin = (
            parts.scheme,
            parts.hostname,
            parts.port or (443 if parts.scheme == "https" else 80),
        )
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if any(c <= " " or c == "\x7f" for c in target):
            raise PostFailed("the URL's path holds spaces or control characters")
        host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
        request = _request(host, target, body, headers)
        connection = None
        try:
            async with asyncio.timeout(timeout_s):
                connection = await self._connection(origin)
                connection.writer.write(request)
                await connection.writer.drain()
                answer, keep = await _read_answer(connection.reader)
        except (OSError, EOFError, ValueError, TimeoutError, asyncio.IncompleteReadError) as error:
            if connection is not None:
                connection.writer.close()
            raise PostFailed(f"{type(error).__name__}: {error}"[:200]) from error
        if keep:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(origin, []).append(connection)
        else:
            connection.writer.close()
        return answer

    async def _connection(self, origin: tuple[str, str, int]) -> _Connection:
        idle = self._idle.get(origin, [])
        while idle:
            connection = idle.pop()
            if time.monotonic() - connection.idle_since < IDLE_S and not connection.reader.at_eof():
                return connection
            connection.writer.close()
        scheme, hostname, port = origin
        tls = self._tls if scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            hostname, port, ssl=tls, server_hostname=hostname if tls else None
        )
        return _Connection(reader, writer)

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.writer.close()
        self._idle.clear()


def _request(host: str, target: str, body: bytes, headers: dict[str, str]) -> bytes:
    lines = [f"POST {target} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    for name, value in headers.items():
        if "\r" in value or "\n" in value or "\r" in name or "\n" in name:
            raise PostFailed(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _read_answer(reader: asyncio.StreamReader) -> tuple[Answer, bool]:
    """The answer, and whether the connection may carry another request."""
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    if not version.startswith("HTTP/1."):
        raise ValueError(f"not an HTTP/1 answer: {status_line[:80]!r}")
    headers = {}
    for line in header_lines:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    code = int(status)
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    if code in (204, 304) or 100 <= code < 200:
        return Answer(code, headers, b""), keep
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return Answer(code, headers, await _chunked(reader)), keep
    if "content-length" in headers:
        return Answer(code, headers, await _exactly(reader, int(headers["content-length"]))), keep
    return Answer(code, headers, (await reader.read(MAX_BODY))), False  # to the close


async def _exactly(reader: asyncio.StreamReader, length: int) -> bytes:
    kept = bytearray()
    while length > 0:
        part = await reader.readexactly(min(length, _CHUNK))
        length -= len(part)
        if len(kept) < MAX_BODY:
            kept += part[: MAX_BODY - len(kept)]
    return bytes(kept)


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    kept = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers, then the end
                pass
            return bytes(kept)
        part = await _exactly(reader, size)
        if len(kept) < MAX_BODY:
            kept += part[: MAX_BODY - len(kept)]
        await reader.readexactly(2)
