"""A check of each request's head against the HTTP/1.1 grammar before uvicorn parses it, so
that a malformed request is answered in JSON, in the form of the dialect its path names,
instead of with the server's own ``text/plain`` "Invalid HTTP request received.".

uvicorn parses HTTP in its protocol class and answers what its parser refuses before any ASGI
app runs; its ``http`` option takes a protocol class, which is how this sits in front.
``HttpGuard`` wraps (it does not extend) the protocol uvicorn would have used: well-formed
bytes go on to it unchanged, and a head that breaks RFC 9112/9110 never does; the guard
answers it itself and closes the connection. It refuses with 400 a bad request line (a method
that is not a token, whitespace or a control character in the target, a version other than
``HTTP/d.d``) or field line (no colon, a control character other than HTAB, obs-fold, a bare
LF) and a bad or conflicting Content-Length; with 431 a head over ``max_head_bytes``; with 501
a method no route has; with 505 a version other than 1.x.

Only heads are checked: after one the guard passes its Content-Length bytes of body on
unread, and it stops checking a connection whose framing it does not follow (a chunked body,
an upgrade). A head split across reads is held back until it is whole, its lines checked as
they complete. A malformed head pipelined behind requests not yet answered closes the
connection at once, as uvicorn's own refusal does: those answers may be lost.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar, cast
from urllib.parse import unquote, urlsplit

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import Response
from uvicorn import Config
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from ordergate.api.errors import ErrorRegistry

__all__ = ["HttpGuard", "guarding"]

log = logging.getLogger(__name__)

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
#: The methods some route could take; the others are answered 501 whatever the parser knows.
_METHODS = rb"GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|TRACE"
_REQUEST = rb"(?:" + _METHODS + rb") [!-~]+ HTTP/1\.[0-9]"
_FIELD = _TOKEN + rb":[\t -~\x80-\xff]*"

_HEAD = re.compile(_REQUEST + rb"\r\n(?:" + _FIELD + rb"\r\n)*\r\n")
_REQUEST_LINE = re.compile(_REQUEST)
_FIELD_LINE = re.compile(_FIELD)
_FIRST_LINES = re.compile(_REQUEST + rb"\r\n(?:" + _FIELD + rb"\r\n)*")
_MORE_LINES = re.compile(rb"(?:" + _FIELD + rb"\r\n)+")
#: The unfinished last line of a head still arriving.
_TAIL = re.compile(rb"[\t -~\x80-\xff]*\r?")
_ANY_REQUEST_LINE = re.compile(_TOKEN + rb" [!-~]+ HTTP/([0-9])\.[0-9]")
_TARGET = re.compile(rb"[!-~]+ ([!-~]+)[ \r]")
_FRAMING = re.compile(
    rb"\r\n(content-length|transfer-encoding|upgrade):[ \t]*([^\r]*)", re.IGNORECASE
)


@dataclass(frozen=True, slots=True)
class _Refusal:
    status: int
    detail: str


_BAD_REQUEST_LINE = _Refusal(400, "malformed HTTP request: the request line is invalid")
_BAD_FIELD_LINE = _Refusal(400, "malformed HTTP request: a header line is invalid")
_BAD_LENGTH = _Refusal(400, "malformed HTTP request: invalid or conflicting Content-Length")
_NO_SUCH_METHOD = _Refusal(501, "the request method is not implemented")
_NOT_HTTP_1 = _Refusal(505, "only HTTP/1.x is served")
_CLOSE = {"Connection": "close"}


class HttpGuard(asyncio.Protocol):
    """uvicorn's HTTP protocol ``inner`` behind a check of each request's head; built for
    uvicorn's ``http`` option by ``guarding``."""

    inner: ClassVar[Callable[..., asyncio.Protocol]] = AutoHTTPProtocol
    max_head_bytes: ClassVar[int] = 16 * 1024

    def __init__(self, **options: Any) -> None:
        # uvicorn builds a protocol per connection with keyword arguments (its config, the
        # server's state...): the wrapped one gets them as they are.
        self.wrapped = type(self).inner(**options)
        self.options = options
        self.transport: asyncio.WriteTransport | None = None
        self.passing = False  # no longer checking: everything goes on unread
        self.refused = False
        self.held = b""  # the start of a head still arriving
        self.held_lines = 0  # how much of it is complete lines already checked
        self.body_left = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.WriteTransport, transport)
        self.wrapped.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.wrapped.connection_lost(exc)

    def eof_received(self) -> bool | None:
        return self.wrapped.eof_received()

    def pause_writing(self) -> None:
        self.wrapped.pause_writing()

    def resume_writing(self) -> None:
        self.wrapped.resume_writing()

    def data_received(self, data: bytes) -> None:
        if self.passing:
            self.wrapped.data_received(data)
            return
        if self.refused:
            return
        fresh = len(self.held)
        if fresh:
            data, self.held = self.held + data, b""
        good, refusal = self._check(data, fresh)
        if good:
            self.wrapped.data_received(data if good == len(data) else data[:good])
        if refusal is not None:
            self._refuse(data, good, refusal)
        elif good < len(data):
            self.held = data[good:]

    def _check(self, data: bytes, fresh: int) -> tuple[int, _Refusal | None]:
        """How much of ``data`` may go on (whole heads and bodies), and the refusal of what
        follows, if any; bytes from ``fresh`` on are new, those before it were held."""
        pos, size = 0, len(data)
        while pos < size:
            if self.body_left:
                step = min(self.body_left, size - pos)
                self.body_left -= step
                pos += step
                continue
            if data.startswith(b"\r\n", pos):  # an empty line before a request is ignored
                pos += 2
                continue
            end = data.find(b"\r\n\r\n", max(pos, fresh - 3), pos + self.max_head_bytes)
            if end < 0:
                return pos, self._unfinished(data, pos, fresh)
            end += 4
            self.held_lines = 0
            if not _HEAD.fullmatch(data, pos, end):
                return pos, _diagnose(data[pos:end])
            length = _body_length(data, pos, end)
            if isinstance(length, _Refusal):
                return pos, length
            if length is None:
                self.passing = True
                return size, None
            self.body_left = length
            pos = end
        return size, None

    def _unfinished(self, data: bytes, pos: int, fresh: int) -> _Refusal | None:
        """Why the start of a head, ``data[pos:]``, cannot become a valid one, if it cannot;
        only what was not checked before is."""
        if len(data) - pos >= self.max_head_bytes:
            return _Refusal(431, f"the request head may be at most {self.max_head_bytes} bytes")
        checked = pos + self.held_lines
        last = data.rfind(b"\r\n", checked)
        if last >= 0:
            lines_end = last + 2
            lines = _MORE_LINES if self.held_lines else _FIRST_LINES
            if not lines.fullmatch(data, checked, lines_end):
                return _diagnose(data[pos:])
            self.held_lines = lines_end - pos
            checked = lines_end
        if not _TAIL.fullmatch(data, max(checked, fresh - 1)):
            return _diagnose(data[pos:])
        return None

    def _refuse(self, data: bytes, pos: int, refusal: _Refusal) -> None:
        self.refused = True
        log.warning("refused an HTTP request with %d: %s", refusal.status, refusal.detail)
        exc = HTTPException(refusal.status, refusal.detail, _CLOSE)
        response = self._registry().http_error_at(_path(data, pos) or "", exc)
        state = self.options.get("server_state")
        if self.transport is not None:
            self.transport.write(_wire(response, getattr(state, "default_headers", [])))
            self.transport.close()

    def _registry(self) -> ErrorRegistry:
        """The app's error registry (an empty one, the default form everywhere, if the app
        has none)."""
        config = self.options.get("config")
        app = config.app if isinstance(config, Config) else None
        registry = getattr(app.state, "errors", None) if isinstance(app, Starlette) else None
        return registry if isinstance(registry, ErrorRegistry) else ErrorRegistry()


def guarding(
    inner: Callable[..., asyncio.Protocol] = AutoHTTPProtocol, *, max_head_bytes: int
) -> type[HttpGuard]:
    """An ``HttpGuard`` class for uvicorn's ``http`` option: uvicorn's protocol ``inner``
    (``AutoHTTPProtocol``, ``H11Protocol``...) behind the check, heads over
    ``max_head_bytes`` refused."""
    protocol, limit = inner, max_head_bytes

    class Guard(HttpGuard):
        inner = protocol
        max_head_bytes = limit

    return Guard


def _body_length(data: bytes, start: int, end: int) -> int | _Refusal | None:
    """The length of the body after a valid head; None if the guard cannot follow what comes
    after it (a chunked body, an upgrade)."""
    lengths: set[bytes] = set()
    coded = upgrade = False
    for field in _FRAMING.finditer(data, start, end):
        name = field[1].lower()
        if name == b"content-length":
            lengths.add(field[2].rstrip(b" \t"))
        elif name == b"transfer-encoding":
            coded = True
        else:
            upgrade = True
    if len(lengths) > 1 or (lengths and coded):  # two lengths, or one and a transfer coding
        return _BAD_LENGTH
    if coded or upgrade:
        return None
    length = lengths.pop() if lengths else b"0"
    return int(length) if length.isdigit() else _BAD_LENGTH


def _diagnose(head: bytes) -> _Refusal:
    """What is wrong with a head (whole or still arriving) that is not a valid one."""
    lines = head.split(b"\r\n")[:-1]  # the last is unfinished, or the empty one after the end
    if lines and not _REQUEST_LINE.fullmatch(lines[0]):
        version = _ANY_REQUEST_LINE.fullmatch(lines[0])
        if version is None:
            return _BAD_REQUEST_LINE
        return _NOT_HTTP_1 if version[1] != b"1" else _NO_SUCH_METHOD
    if any(line and not _FIELD_LINE.fullmatch(line) for line in lines[1:]):
        return _BAD_FIELD_LINE
    return _BAD_FIELD_LINE if lines else _BAD_REQUEST_LINE  # it is the unfinished line


def _path(data: bytes, start: int) -> str | None:
    """The path of the request whose head starts at ``start``, if it can be read."""
    target = _TARGET.match(data, start)
    if target is None:
        return None
    try:
        path = urlsplit(target[1].decode("ascii")).path
    except ValueError:
        return None
    return unquote(path) if path.startswith("/") else None


def _wire(response: Response, default_headers: list[tuple[bytes, bytes]]) -> bytes:
    """``response`` as HTTP/1.1 bytes, with the server's default headers (date, server)."""
    status = response.status_code
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode())]
    lines += [b"%s: %s\r\n" % field for field in [*default_headers, *response.raw_headers]]
    if all(name != b"connection" for name, _ in response.raw_headers):
        lines.append(b"connection: close\r\n")
    return b"".join([*lines, b"\r\n", response.body])
