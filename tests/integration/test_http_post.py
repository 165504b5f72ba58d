"""The notifier's HTTP/1.1 POST against a real server on the loopback: connections kept alive
and reused, chunked and closing answers read, and a connection that dies mid-request fails the
attempt instead of being sent again behind the notifier's back."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from dispatch.adapters.http_post import HttpPoster, PostFailed

Answering = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]


async def serve(answer: Answering) -> tuple[asyncio.Server, str, list[bytes], list[int]]:
    """A server that reads each request whole and lets `answer` reply (False: hang up)."""
    requests: list[bytes] = []
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                requests.append(head + await reader.readexactly(length))
                if not await answer(reader, writer, len(requests)):
                    break
        except asyncio.IncompleteReadError:
            pass
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", requests, connections


async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
    writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok")
    await writer.drain()
    return True


def test_connections_are_kept_alive_and_the_request_is_as_sent() -> None:
    async def run() -> None:
        server, url, requests, connections = await serve(plain)
        poster = HttpPoster()
        answers = [
            await poster.post(f"{url}/push/a?x=1", b"body-%d" % i, {"TTL": "60"}, 5)
            for i in range(3)
        ]
        await poster.close()
        server.close()
        assert [(a.status, a.body) for a in answers] == [(201, b"ok")] * 3
        assert len(connections) == 1
        assert requests[0].startswith(b"POST /push/a?x=1 HTTP/1.1\r\n")
        assert b"\r\nTTL: 60\r\n" in requests[0] and requests[0].endswith(b"\r\n\r\nbody-0")

    asyncio.run(run())


def test_chunked_and_closing_answers_are_read_whole() -> None:
    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        if n == 1:
            writer.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                b'7\r\n{"errco\r\n8\r\nde": 0}\n\r\n0\r\n\r\n'
            )
        else:
            writer.write(b"HTTP/1.1 500 Oops\r\nConnection: close\r\n\r\ngone")
        await writer.drain()
        return n == 1

    async def run() -> None:
        server, url, _, connections = await serve(chunked)
        poster = HttpPoster()
        first = await poster.post(url, b"{}", {}, 5)
        second = await poster.post(url, b"{}", {}, 5)
        third = await poster.post(url, b"{}", {}, 5)
        await poster.close()
        server.close()
        assert (first.status, first.body) == (200, b'{"errcode": 0}\n')
        assert (second.status, second.body) == (500, b"gone")
        assert third.status == 500 and len(connections) == 2  # the closed one not reused

    asyncio.run(run())


def test_a_connection_that_dies_fails_the_attempt_and_sends_nothing_again() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        return False

    async def run() -> None:
        server, url, requests, _ = await serve(hang_up)
        poster = HttpPoster()
        with pytest.raises(PostFailed):
            await poster.post(url, b"once", {}, 5)
        await asyncio.sleep(0.1)
        await poster.close()
        server.close()
        assert len(requests) == 1

    asyncio.run(run())


def test_a_silent_server_times_out_and_bad_urls_are_refused() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        await asyncio.sleep(5)
        return False

    async def run() -> None:
        server, url, _, _ = await serve(silent)
        poster = HttpPoster()
        with pytest.raises(PostFailed, match="TimeoutError"):
            await poster.post(url, b"x", {}, 0.2)
        for bad in ("ftp://127.0.0.1/x", f"{url}/a b"):
            with pytest.raises(PostFailed):
                await poster.post(bad, b"x", {}, 1)
        with pytest.raises(PostFailed, match="line break"):
            await poster.post(url, b"x", {"X-Evil": "a\r\nInjected: 1"}, 1)
        await poster.close()
        server.close()

    asyncio.run(run())
