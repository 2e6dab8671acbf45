"""Malformed HTTP: a request whose head breaks the HTTP/1.1 grammar is answered in JSON, in the
form of the dialect its path names (the default form where it names none or cannot be read),
with ``Connection: close``, and nothing of it reaches the app; well-formed requests, kept
alive or pipelined, are served as before.

Through a real uvicorn at 127.0.0.1 with the options ``ordergate serve`` uses, behind each of
uvicorn's parsers (httptools, its default here, and h11); the clients are raw sockets. SQLite
only: all of this happens at the HTTP edge, before any use case or query.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol

from ordergate.api.http_guard import guarding
from ordergate.api.limits import MAX_HEADER_BYTES
from ordergate.bootstrap import shutdown
from ordergate.store import SqlStore
from tests.api.crosstrade.conftest import Server, start
from tests.api.crosstrade.wsclient import place_body
from tests.wire import read_answer, request_head, serving

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PLACE = "/v1/api/accounts/Sim101/orders/place"
ORDERS = "/v1/api/accounts/Sim101/orders"
#: Every answer here must come within this.
PROMPT = 2.0

BAD_FIELD = "malformed HTTP request: a header line is invalid"
BAD_LINE = "malformed HTTP request: the request line is invalid"
BAD_LENGTH = "malformed HTTP request: invalid or conflicting Content-Length"
NO_METHOD = "the request method is not implemented"
NOT_1 = "only HTTP/1.x is served"


def crosstrade(message: str) -> dict[str, Any]:
    return {"success": False, "error": message, "code": "HTTP_ERROR"}


def scaletrade(message: str) -> dict[str, Any]:
    return {"error": "RET_ERROR", "message": message}


def default(message: str, code: str = "BAD_REQUEST") -> dict[str, Any]:
    return {"error": code, "message": message}


@pytest.fixture
async def server(db_url: str, store: SqlStore) -> AsyncIterator[Server]:
    server = await start(db_url)
    yield server
    await server.client.aclose()
    await shutdown(server.container)


@pytest.fixture(params=["httptools", "h11"])
def parser(request: pytest.FixtureRequest) -> dict[str, Any]:
    """uvicorn's options over ``ordergate serve``'s for each parser behind the guard."""
    if request.param == "h11":
        return {"http": guarding(H11Protocol, max_head_bytes=MAX_HEADER_BYTES)}
    return {}


def head(request_line: str, *fields: str) -> bytes:
    return (request_line + "\r\n" + "".join(f + "\r\n" for f in fields) + "\r\n").encode()


async def refused(port: int, *parts: bytes) -> tuple[int, dict[str, str], Any]:
    """The answer to ``parts`` written one after another on a new connection, which the
    server must then close."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        async with asyncio.timeout(PROMPT):
            for part in parts:
                writer.write(part)
                await writer.drain()
            answer = await read_answer(reader)
            assert await reader.read() == b""  # nothing more, and the connection closed
    finally:
        writer.close()
    return answer


def assert_refusal(answer: tuple[int, dict[str, str], Any], status: int, body: Any) -> None:
    got_status, headers, got_body = answer
    assert (got_status, got_body) == (status, body)
    assert headers["content-type"].startswith("application/json")
    assert headers["connection"] == "close"


async def open_orders(server: Server) -> int:
    answer = await server.client.get(ORDERS, headers=server.auth())
    assert answer.status_code == 200, answer.text
    return len(answer.json()["orders"])


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (PLACE, crosstrade(BAD_FIELD)),
        ("/v1/api/accounts", crosstrade(BAD_FIELD)),
        ("/trade/open", scaletrade(BAD_FIELD)),
        ("/sign/in", scaletrade(BAD_FIELD)),
        ("/healthz", default(BAD_FIELD)),
        ("/no/such/path?x=1", default(BAD_FIELD)),
    ],
)
async def test_a_control_character_in_a_header_is_refused_in_the_form_of_the_paths_dialect(
    server: Server, parser: dict[str, Any], path: str, expected: dict[str, Any]
) -> None:
    raw = head(f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "X-Note: a\x01b")
    async with serving(server, **parser) as port:
        assert_refusal(await refused(port, raw), 400, expected)


async def test_a_header_line_without_a_colon_is_refused(
    server: Server, parser: dict[str, Any]
) -> None:
    raw = head("GET /v1/api/accounts HTTP/1.1", "Host: 127.0.0.1", "Authorization Bearer x")
    async with serving(server, **parser) as port:
        assert_refusal(await refused(port, raw), 400, crosstrade(BAD_FIELD))


@pytest.mark.parametrize(
    ("request_line", "expected"),
    [
        ("GET /v1/api/accounts HTTP/1.1 extra", crosstrade(BAD_LINE)),
        ("GET  /trades HTTP/1.1", default(BAD_LINE)),  # two spaces: the path is not read
        ("GET /v1/api/acc\x01ounts HTTP/1.1", default(BAD_LINE)),
        ("GET /v1/api/accounts\tHTTP/1.1", default(BAD_LINE)),
        ("GET /tr\u00e9des HTTP/1.1", default(BAD_LINE)),
        ("GET /healthz", default(BAD_LINE)),
        ("GET /healthz HTTP/1.x", default(BAD_LINE)),
        ("G(T /healthz HTTP/1.1", default(BAD_LINE)),  # "(" is not a token character
    ],
)
async def test_a_malformed_request_line_is_refused(
    server: Server, parser: dict[str, Any], request_line: str, expected: dict[str, Any]
) -> None:
    async with serving(server, **parser) as port:
        answer = await refused(port, head(request_line, "Host: 127.0.0.1"))
    assert_refusal(answer, 400, expected)


@pytest.mark.parametrize(
    ("request_line", "status", "expected"),
    [
        ("get /healthz HTTP/1.1", 501, default(NO_METHOD, "NOT_IMPLEMENTED")),
        ("BREW /trades HTTP/1.1", 501, scaletrade(NO_METHOD)),
        ("CONNECT /v1/api HTTP/1.1", 501, crosstrade(NO_METHOD)),
        ("GET /healthz HTTP/2.0", 505, default(NOT_1, "HTTP_VERSION_NOT_SUPPORTED")),
        ("PRI * HTTP/2.0", 505, default(NOT_1, "HTTP_VERSION_NOT_SUPPORTED")),
    ],
)
async def test_a_method_no_route_has_is_501_and_a_version_other_than_1_x_505(
    server: Server, parser: dict[str, Any], request_line: str, status: int, expected: Any
) -> None:
    async with serving(server, **parser) as port:
        answer = await refused(port, head(request_line, "Host: 127.0.0.1"))
    assert_refusal(answer, status, expected)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\r\n folded\r\n\r\n", BAD_FIELD),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\nX-B: b\r\n\r\n", BAD_FIELD),
        (b"GET /healthz HTTP/1.1\nHost: x\n\n", BAD_LINE),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x7f\r\n\r\n", BAD_FIELD),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n", BAD_FIELD),
        (b"GET /healthz HTTP/1.1\r\nHost : x\r\n\r\n", BAD_FIELD),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n", BAD_FIELD),
        (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\nx", BAD_LENGTH),
        (b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", BAD_LENGTH),
        (
            b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
            BAD_LENGTH,
        ),
        (
            b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            BAD_LENGTH,
        ),
    ],
    ids=[
        "obs-fold",
        "bare-lf-in-a-field",
        "bare-lf-line-ends",
        "del",
        "nul",
        "space-before-colon",
        "empty-field-name",
        "length-list",
        "negative-length",
        "two-lengths",
        "length-and-chunked",
    ],
)
async def test_other_malformed_heads_are_refused_with_400(
    server: Server, parser: dict[str, Any], raw: bytes, message: str
) -> None:
    async with serving(server, **parser) as port:
        assert_refusal(await refused(port, raw), 400, default(message))


async def test_a_head_over_the_limit_is_refused_with_431(
    server: Server, parser: dict[str, Any]
) -> None:
    raw = head("GET /trades HTTP/1.1", "Host: x", "X-Pad: " + "a" * MAX_HEADER_BYTES)
    expected = scaletrade(f"the request head may be at most {MAX_HEADER_BYTES} bytes")
    async with serving(server, **parser) as port:
        assert_refusal(await refused(port, raw), 431, expected)
        # and one that never ends is refused once it passes the limit
        endless = [b"GET /trades HTTP/1.1\r\nX-Pad: ", *[b"a" * 1024] * 16]
        assert_refusal(await refused(port, *endless), 431, expected)


async def test_a_head_arriving_in_pieces_is_refused_at_its_first_bad_byte(
    server: Server, parser: dict[str, Any]
) -> None:
    async with serving(server, **parser) as port:
        # the head never ends: the answer comes from the pieces so far
        parts = [b"GET /sign/in HTTP/1.1\r", b"\nHost: x\r\nX-A: a", b"b\x01"]
        assert_refusal(await refused(port, *parts), 400, scaletrade(BAD_FIELD))
        parts = [b"GET /sign/in HTTP/1.1\r\nHost: x\r\nX-A", b"b\r\n"]
        assert_refusal(await refused(port, *parts), 400, scaletrade(BAD_FIELD))
        parts = [b"GET /sign/in HTTP/1.1\r\nHost: x\r\n", b"X-A: a\r", b"b\r\n"]
        assert_refusal(await refused(port, *parts), 400, scaletrade(BAD_FIELD))
        assert_refusal(await refused(port, b"GET /sign/in\n"), 400, default(BAD_LINE))


async def test_well_formed_requests_are_served_on_a_kept_alive_connection(
    server: Server, parser: dict[str, Any]
) -> None:
    async with serving(server, **parser) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(PROMPT):
                for _ in range(3):
                    writer.write(head("GET /healthz HTTP/1.1", "Host: x", "X-Note: a\tb \x80"))
                    status, headers, _ = await read_answer(reader)
                    assert status == 200
                    assert "connection" not in headers
                # a head and a body arriving in pieces are put together
                body = json.dumps(place_body()).encode()
                whole = request_head("POST", PLACE, len(body), **server.auth()) + body
                for i in range(0, len(whole), 7):
                    writer.write(whole[i : i + 7])
                    await writer.drain()
                status, _, answer = await read_answer(reader)
                assert (status, answer["success"]) == (200, True)
                # a malformed request after them is refused and ends the connection
                writer.write(head("GET /v1/api/accounts HTTP/1.1", "Host: x", "X: \x02"))
                status, headers, answer = await read_answer(reader)
                assert (status, answer) == (400, crosstrade(BAD_FIELD))
                assert await reader.read() == b""
        finally:
            writer.close()


async def test_requests_pipelined_after_a_good_one_are_served(
    server: Server, parser: dict[str, Any]
) -> None:
    body = json.dumps(place_body()).encode()
    place = request_head("POST", PLACE, len(body), **server.auth()) + body
    health = head("GET /healthz HTTP/1.1", "Host: x")
    before = await open_orders(server)
    async with serving(server, **parser) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(PROMPT):
                writer.write(place + health + place + health)
                answers = [await read_answer(reader) for _ in range(4)]
        finally:
            writer.close()
    assert [status for status, _, _ in answers] == [200, 200, 200, 200]
    assert answers[0][2]["success"] is answers[2][2]["success"] is True
    assert answers[0][2]["orderId"] != answers[2][2]["orderId"]
    assert await open_orders(server) == before + 2


async def test_a_chunked_body_is_passed_on_unchecked(
    server: Server, parser: dict[str, Any]
) -> None:
    body = json.dumps(place_body()).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    fields = [f"{k}: {v}" for k, v in server.auth().items()]
    raw = head(f"POST {PLACE} HTTP/1.1", "Host: x", "Transfer-Encoding: chunked", *fields)
    before = await open_orders(server)
    async with serving(server, **parser) as port:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            async with asyncio.timeout(PROMPT):
                writer.write(raw + chunked)
                status, _, answer = await read_answer(reader)
        finally:
            writer.close()
    assert (status, answer["success"]) == (200, True)
    assert await open_orders(server) == before + 1


async def test_nothing_of_a_malformed_request_reaches_the_app(
    server: Server, parser: dict[str, Any]
) -> None:
    body = json.dumps(place_body()).encode()
    before = await open_orders(server)
    async with serving(server, **parser) as port:
        for bad in ("a\x01b", "a\r\n b", "a\x7f"):
            raw = request_head("POST", PLACE, len(body), **server.auth(), X_Note=bad) + body
            assert_refusal(await refused(port, raw), 400, crosstrade(BAD_FIELD))
        # nor does a well-formed request pipelined behind a malformed one
        good = request_head("POST", PLACE, len(body), **server.auth()) + body
        bad = request_head("POST", PLACE, len(body), **server.auth(), X_Note="\x00") + body
        assert_refusal(await refused(port, bad + good), 400, crosstrade(BAD_FIELD))
    assert await open_orders(server) == before
