"""The API's middleware: request bodies over the size limit refused (413), URLs holding a NUL
or a lone surrogate refused (400), a query parameter given twice refused (422), and strict JSON
at the edge: a body that Python's json reads
but JSON forbids is refused naming the field, and an error that echoes a request's input always
renders as strict JSON.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi import HTTPException, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ECHO_DEPTH = 16  # an echoed input nested deeper is cut: rendering it could exhaust the stack
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_NOT_UNICODE = "a lone surrogate or bytes that are not UTF-8: JSON text is Unicode in UTF-8"
_OVER = "a number beyond the float range (it would read as infinity)"
_TOO_LONG = "an integer with more digits than can be read"


class BodySizeLimit:
    """Refuses request bodies larger than `limit()` bytes with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: Callable[[], int]) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit()
        declared = dict(scope["headers"]).get(b"content-length", b"").lstrip(b"0")
        # longer than the limit's digits is over it: int() refuses past 4,300 digits
        if declared.isdigit() and (len(declared) > len(str(limit)) or int(declared) > limit):
            await JSONResponse({"detail": _too_large(limit)}, 413)(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:  # a chunked body that claimed no length
                raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, _too_large(limit))
            return message

        await self.app(scope, counting_receive, send)


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


class NoNulInUrl:
    """Refuses a URL with a NUL character (400): PostgreSQL cannot compare text with one, so
    an id or filter holding it would fail in the database instead of finding nothing. Nor can
    it hold a lone surrogate, which a server may leave in a path whose bytes are not UTF-8."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                path = scope["path"].encode()
            except UnicodeEncodeError:
                await _bad_url("path", "not UTF-8 (a lone surrogate)")(scope, receive, send)
                return
            for part, text in (("path", path), ("query", scope["query_string"])):
                if b"\x00" in text or b"%00" in text:
                    await _bad_url(part, "NUL character")(scope, receive, send)
                    return
        await self.app(scope, receive, send)


class OneValuePerQueryName:
    """Refuses (422, naming it) a query parameter given more than once: every parameter of the
    API takes one value, and the framework would silently keep the last."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["query_string"]:
            query = scope["query_string"].decode("latin-1")
            names = [name for name, _ in parse_qsl(query, keep_blank_values=True)]
            repeated = sorted({name for name in names if names.count(name) > 1})
            if repeated:
                detail = [
                    {"type": "value_error", "loc": ["query", name], "msg": "given more than once"}
                    for name in repeated
                ]
                await JSONResponse({"detail": detail}, 422)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _bad_url(part: str, msg: str) -> Response:
    return JSONResponse({"detail": [{"type": "value_error", "loc": [part], "msg": msg}]}, 400)


class StrictJsonBody:
    """Refuses (422, naming where) a JSON body holding NaN or an infinite number, an integer
    too long to read, a lone surrogate, bytes that are not UTF-8, or nesting past the stack.

    The body is checked as the app reads it, so the refusal reaches FastAPI's own handlers;
    a route that reads no body checks nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _says_json(scope["headers"]):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checking_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and (errors := refusals(b"".join(chunks))):
                    raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, errors)
            return message

        await self.app(scope, checking_receive, send)


def _says_json(headers: list[tuple[bytes, bytes]]) -> bool:
    # Wider than FastAPI's test (application/json or +json), so no body it parses goes unchecked.
    for name, value in headers:
        if name == b"content-type":
            return b"json" in value.split(b";", 1)[0].lower()
    return False


@dataclass(frozen=True)
class _Refused:
    """Stands in the parsed document for a number JSON cannot carry, so the walk finds where."""

    type: str
    msg: str
    literal: str


def refusals(body: bytes) -> list[dict[str, Any]]:
    """What in `body` strict JSON forbids, as 422 error details (empty when it is fine)."""
    if not body:  # no body at all: the route's own default or "field required" answers
        return []
    try:  # utf-8-sig drops a leading byte order mark, as json.loads does for bytes
        text, suspect = body.decode("utf-8-sig"), _ESCAPED_SURROGATE.search(body) is not None
    except UnicodeDecodeError:
        # Bad bytes inside a string become lone surrogates, so the walk names the field.
        text, suspect = body.decode("utf-8-sig", "surrogateescape"), True
    refused: list[_Refused] = []

    def refuse(kind: str, msg: str, literal: str) -> _Refused:
        refused.append(_Refused(kind, msg, literal))
        return refused[-1]

    def constant(literal: str) -> _Refused:
        return refuse("json_invalid", "NaN and Infinity are not JSON numbers", literal)

    def number(literal: str) -> float | _Refused:
        value = float(literal)  # a literal past the float range reads as infinity
        return value if math.isfinite(value) else refuse("finite_number", _OVER, literal)

    def integer(literal: str) -> int | _Refused:
        try:
            return int(literal)
        except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
            return refuse("int_parsing_size", _TOO_LONG, literal[:20] + "…")

    try:
        document = json.loads(text, parse_constant=constant, parse_float=number, parse_int=integer)
    except json.JSONDecodeError as error:  # shaped like FastAPI's own
        return [_error("json_invalid", (error.pos,), "JSON decode error", {}, error.msg)]
    except RecursionError:
        return [_error("json_invalid", (), "JSON nested too deeply", {})]
    return list(_walk(document)) if refused or suspect else []


def _walk(document: Any) -> Iterator[dict[str, Any]]:
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), document)]
    while stack:  # a loop, not recursion: the document may nest as deep as json allows
        loc, value = stack.pop()
        if isinstance(value, _Refused):
            yield _error(value.type, loc, value.msg, value.literal)
        elif isinstance(value, str) and _SURROGATE.search(value):
            yield _error("string_unicode", loc, _NOT_UNICODE, value)
        elif isinstance(value, dict):
            for key in value:
                if _SURROGATE.search(key):
                    yield _error("string_unicode", (*loc, key), f"key: {_NOT_UNICODE}", key)
            stack.extend(((*loc, k), v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend(((*loc, i), v) for i, v in reversed(list(enumerate(value))))


def _error(
    kind: str, loc: tuple[str | int, ...], msg: str, given: Any, why: str | None = None
) -> dict[str, Any]:
    error = {"type": kind, "loc": printable(["body", *loc]), "msg": msg, "input": printable(given)}
    return error if why is None else error | {"ctx": {"error": why}}


def printable(value: Any, depth: int = 0) -> Any:
    """`value` with what strict JSON cannot render spelled out: NaN and infinities as their
    names, bytes and lone surrogates as backslash escapes, nesting past ECHO_DEPTH as '…'."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode()
    if isinstance(value, (dict, list, tuple)) and depth >= ECHO_DEPTH:
        return "…"
    if isinstance(value, dict):
        return {printable(k, depth + 1): printable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [printable(v, depth + 1) for v in value]
    return value


async def request_validation_error(request: Request, error: Exception) -> Response:
    """FastAPI's 422, with the echoed input made printable (its own fails on NaN or bad bytes)."""
    assert isinstance(error, RequestValidationError)
    detail = jsonable_encoder(printable(error.errors()))
    return JSONResponse({"detail": detail}, status.HTTP_422_UNPROCESSABLE_CONTENT)
