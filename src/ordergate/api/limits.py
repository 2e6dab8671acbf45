"""What the server refuses to spend on a hostile client: request bodies larger than a limit
or arriving too slowly, oversized WebSocket frames, idle connections, and tokens in its logs.

``BodyLimit`` is a pure ASGI middleware, so nothing is buffered before it decides: a declared
``Content-Length`` over the limit is answered 413 before a byte of the body is read; a body
without one (chunked) is counted as it streams and refused the moment it passes the limit;
a body that has not fully arrived within ``body_timeout`` seconds is answered 408. Both
answers are in the form of the dialect serving the path (the error registry) and close the
connection. ``uvicorn_options`` holds the server's own limits, which ``ordergate serve`` uses.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from ordergate.api.errors import ErrorRegistry
from ordergate.api.http_guard import guarding
from ordergate.settings import Settings

__all__ = [
    "KEEP_ALIVE_SECONDS",
    "MAX_HEADER_BYTES",
    "BodyLimit",
    "RedactTokens",
    "body_timed_out",
    "body_too_large",
    "redact_server_logs",
    "uvicorn_options",
]

#: An idle keep-alive connection is closed after this many seconds.
KEEP_ALIVE_SECONDS = 5
#: The request line and headers together (a larger head is answered 431).
MAX_HEADER_BYTES = 16 * 1024
_CLOSE = {"Connection": "close"}


def body_too_large(limit: int) -> HTTPException:
    return HTTPException(413, f"the request body may be at most {limit} bytes", _CLOSE)


def body_timed_out(seconds: float) -> HTTPException:
    return HTTPException(408, f"the request body did not arrive within {seconds:g} s", _CLOSE)


def _framing(scope: Scope) -> tuple[int | None, bool]:
    """The declared Content-Length, and whether the request has a body to wait for (in
    HTTP/1.1 only a non-zero Content-Length or a Transfer-Encoding announces one)."""
    length: int | None = None
    has_body = False
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None  # the server refuses it; if not, the count below still holds
            has_body = has_body or length != 0
        elif name == b"transfer-encoding":
            has_body = True
    return length, has_body


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` or slower than ``body_timeout`` seconds."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, body_timeout: float, registry: ErrorRegistry
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.body_timeout = body_timeout
        self.registry = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared, has_body = _framing(scope)
        if declared is not None and declared > self.max_bytes:
            response = self.registry.http_error(Request(scope), body_too_large(self.max_bytes))
            await response(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        received = 0
        waiting = has_body  # without a body the one message is the empty one: no timer

        async def limited() -> Message:
            # Raised here, the HTTPException reaches the app's handler for it (FastAPI passes
            # HTTPExceptions from body reading through), which answers in the dialect's form.
            nonlocal received, waiting
            if not waiting:
                message = await receive()
            else:
                message = await _before(loop, deadline, receive, self.body_timeout)
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise body_too_large(self.max_bytes)
                waiting = waiting and message.get("more_body", False)
            return message

        await self.app(scope, limited, send)


async def _before(
    loop: asyncio.AbstractEventLoop, deadline: float, receive: Receive, seconds: float
) -> Message:
    """``receive()``, or 408 if it has not answered by ``deadline``: a timer that cancels the
    waiting task, as ``asyncio.timeout_at`` does, at a fraction of its cost per message (it
    ran for every request body under load)."""
    task = asyncio.current_task()
    if task is None:  # not in a task: nothing to cancel (ASGI servers always run one)
        return await receive()
    expired: list[bool] = []

    def expire() -> None:
        expired.append(True)
        task.cancel()

    timer = loop.call_at(deadline, expire)
    try:
        return await receive()
    except asyncio.CancelledError:
        if expired and task.uncancel() == 0:
            raise body_timed_out(seconds) from None
        raise
    finally:
        timer.cancel()


class RedactTokens(logging.Filter):
    """Blank secrets in log lines: token values in logged URLs (uvicorn logs every path with
    its query string, and a browser's WebSocket may carry its token as ``?token=``), and the
    credential headers and ``bearer.<token>`` subprotocol of a WebSocket handshake, which
    the WebSocket library logs header by header at debug level. API tokens and JWTs are
    recognised by their form wherever else they might appear."""

    _SECRETS = (
        (re.compile(r"(?i)([?&](?:token|access_token|password)=)[^&\s\"']+"), r"\1***"),
        (
            re.compile(r"(?i)\b((?:proxy-)?authorization|(?:set-)?cookie)(\s*[:=]\s*)[^\r\n]+"),
            r"\1\2***",
        ),
        (re.compile(r"(?i)\bbearer\.[^\s,;'\"]+"), "bearer.***"),
        (re.compile(r"\bog_[A-Za-z0-9_-]{16,}"), "og_***"),
        (re.compile(r"\beyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"), "<jwt>"),
    )

    def filter(self, record: logging.LogRecord) -> bool:
        message = redacted = record.getMessage()
        for pattern, replacement in self._SECRETS:
            redacted = pattern.sub(replacement, redacted)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for ``ordergate serve``; the HTTP protocol is uvicorn's default
    (httptools where it is installed) behind ``http_guard``, which answers a malformed
    request in JSON. Its limits: WebSocket messages no larger than a request body (larger
    ones close the connection with 1009), idle keep-alive connections closed after
    ``KEEP_ALIVE_SECONDS``, the head of a request at most ``MAX_HEADER_BYTES``.
    No access log above level info: uvicorn builds each line's arguments (the client, the
    quoted path) before its logger drops it, work spent on every request."""
    return {
        "http": guarding(AutoHTTPProtocol, max_head_bytes=MAX_HEADER_BYTES),
        "access_log": settings.log_level in ("info", "debug"),
        "ws_max_size": settings.max_body_bytes,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }


#: The loggers that may see a request's secrets: uvicorn's, and the WebSocket library's
#: (uvicorn hands it "uvicorn.error"; its own names serve where it logs by itself).
_SERVER_LOGGERS = ("uvicorn.access", "uvicorn.error", "websockets.server", "websockets.protocol")


def redact_server_logs() -> None:
    """Keep secrets out of the HTTP and WebSocket server's lines (once per process)."""
    for name in _SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
