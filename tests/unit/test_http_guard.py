"""The HTTP guard in front of uvicorn's parser, with a recording protocol in the parser's place
and a transport that keeps what is written: which bytes go on, and when it answers itself.
(tests/api/test_malformed_http.py has the same through a real uvicorn.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ordergate.api.http_guard import HttpGuard, guarding


class Recorder(asyncio.Protocol):
    """What reaches the protocol behind the guard."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.received: list[bytes] = []
        self.transport: asyncio.BaseTransport | None = None
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True


class Wire(asyncio.Transport):
    """A transport that keeps what is written to it."""

    def __init__(self) -> None:
        super().__init__()
        self.written = b""
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed


def connected() -> tuple[HttpGuard, Recorder, Wire]:
    guard = guarding(Recorder, max_head_bytes=1024)(config=None, server_state=None)
    wire = Wire()
    guard.connection_made(wire)
    behind = guard.wrapped
    assert isinstance(behind, Recorder)
    assert behind.transport is wire
    return guard, behind, wire


def post(path: str, body: bytes, *fields: bytes) -> bytes:
    lines = [b"POST %s HTTP/1.1" % path.encode(), b"Host: x", b"Content-Length: %d" % len(body)]
    return b"\r\n".join([*lines, *fields]) + b"\r\n\r\n" + body


GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


def answer(wire: Wire) -> tuple[bytes, Any]:
    head, _, body = wire.written.partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], json.loads(body)


def test_the_protocol_behind_gets_uvicorns_arguments() -> None:
    guard = guarding(Recorder, max_head_bytes=1024)(config=None, server_state="state")
    assert isinstance(guard.wrapped, Recorder)
    assert guard.wrapped.options == {"config": None, "server_state": "state"}


def test_well_formed_requests_go_on_unchanged_in_the_reads_they_came_in() -> None:
    guard, behind, wire = connected()
    # Bodies are not read: a control character or an empty line in one is the body's.
    data = post("/a", b"\x01\r\n\r\nGET / HTTP/9") + GET + post("/b", b"{}") + GET
    guard.data_received(data)
    guard.data_received(GET)
    assert behind.received == [data, GET]
    assert behind.received[0] is data
    assert wire.written == b""


def test_a_head_split_across_reads_is_held_until_it_is_whole() -> None:
    guard, behind, _ = connected()
    whole = post("/a", b"0123456789") + GET
    for i in range(0, len(whole), 5):
        guard.data_received(whole[i : i + 5])
    assert b"".join(behind.received) == whole
    # nothing of a head went on before all of it had come
    assert all(not part.startswith(b"POST") or b"\r\n\r\n" in part for part in behind.received)


def test_a_malformed_head_never_reaches_the_protocol_behind() -> None:
    guard, behind, wire = connected()
    good = post("/a", b"{}")
    bad = post("/v1/api/x", b"{}", b"X-Note: \x01")
    guard.data_received(good + bad + GET)
    guard.data_received(GET)  # after the refusal, nothing more is read
    assert behind.received == [good]
    assert wire.closed
    status, body = answer(wire)
    assert status == b"HTTP/1.1 400 Bad Request"
    assert body == {
        "error": "BAD_REQUEST",
        "message": "malformed HTTP request: a header line is invalid",
    }
    assert b"\r\nconnection: close\r\n" in wire.written


def test_a_head_still_arriving_is_refused_at_its_first_bad_line() -> None:
    guard, behind, wire = connected()
    guard.data_received(b"GET /a HTTP/1.1\r\nHost: x\r\n")
    assert not wire.written
    guard.data_received(b"Bad line\r\n")
    assert answer(wire)[0] == b"HTTP/1.1 400 Bad Request"
    assert behind.received == []


def test_a_head_over_the_limit_is_refused_with_431() -> None:
    guard, behind, wire = connected()
    guard.data_received(b"GET /a HTTP/1.1\r\nX-Pad: " + b"a" * 900)
    assert not wire.written
    guard.data_received(b"a" * 200)
    assert answer(wire)[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert behind.received == []


def test_after_a_chunked_body_the_connection_is_passed_on_unchecked() -> None:
    guard, behind, wire = connected()
    chunked = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n"
    guard.data_received(chunked)
    guard.data_received(b"GET /\x01 HTTP/1.1\r\n\r\n")  # uvicorn's own parser's to refuse
    assert behind.received == [chunked, b"GET /\x01 HTTP/1.1\r\n\r\n"]
    assert wire.written == b""


def test_the_end_of_the_connection_reaches_the_protocol_behind() -> None:
    guard, behind, _ = connected()
    guard.connection_lost(None)
    assert behind.lost
