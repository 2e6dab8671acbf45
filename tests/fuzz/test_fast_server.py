"""``ordergate serve``'s HTTP protocol (api/fastserver.py) answers a fast route whose body
has all arrived without the app's outer layers, and answers it as they would.

Each request goes to two servers on the same container: one with the protocol
``ordergate serve`` uses, one with uvicorn's own httptools protocol (every request the whole
way). Their answers must be the same, byte for byte but the date (and an order's id where
one is placed). A spy on the app's outer entry counts which requests took the whole way.
SQLite only: this is the HTTP edge; what the routes do is tested elsewhere.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
import uvicorn
from uvicorn.server import ServerState

from ordergate.api.app import create_app
from ordergate.api.fastroutes import FastRoutedAPI
from ordergate.api.fastserver import FastHttpProtocol
from ordergate.api.limits import uvicorn_options
from tests.api.crosstrade.conftest import Server
from tests.wire import request_head, serving

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

PLACE = "/v1/api/accounts/Sim101/orders/place"
ORDER = {
    "instrument": "ES 12-26",
    "action": "Buy",
    "quantity": 1,
    "orderType": "Limit",
    "limitPrice": 5990.25,
    "timeInForce": "Gtc",
}
_ORDER_ID = re.compile(rb'"orderId":"[0-9a-f]{32}"')
#: The answers' date header, which differs by the second.
_DATE = re.compile(rb"\r\ndate: [^\r]*", re.IGNORECASE)


def post(path: str, body: Any, **headers: str) -> bytes:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return request_head("POST", path, len(raw), **headers) + raw


class Spy:
    """How many requests reached the app's outer entry (``FastRoutedAPI.__call__``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        whole = FastRoutedAPI.__call__

        async def counted(app: FastRoutedAPI, *args: Any) -> None:
            self.calls += 1
            await whole(app, *args)

        monkeypatch.setattr(FastRoutedAPI, "__call__", counted)


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> Spy:
    return Spy(monkeypatch)


@pytest.fixture
async def ports(ct: Server) -> AsyncIterator[tuple[int, int]]:
    """Ports of the server as ``ordergate serve`` runs it and of the one with uvicorn's
    own protocol, on the same container."""
    assert uvicorn_options(ct.container.settings)["http"].__name__ == "FastHttpProtocol"
    async with serving(ct) as fast, serving(ct, http="httptools") as whole:
        yield fast, whole


async def exchange(port: int, *parts: bytes, answers: int = 1, pause: float = 0) -> list[bytes]:
    """Send ``parts`` on one connection (``pause`` seconds apart), then read ``answers``
    answers: each its raw head and body, the date left out."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i, part in enumerate(parts):
            if i and pause:
                await asyncio.sleep(pause)
            writer.write(part)
            await writer.drain()
        out = []
        for _ in range(answers):
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(re.search(rb"content-length: (\d+)", head, re.I)[1])  # type: ignore[index]
                out.append(_DATE.sub(b"", head) + await reader.readexactly(length))
        return out
    finally:
        writer.close()


async def test_fast_routes_are_answered_directly_and_as_the_whole_way_answers_them(
    ct: Server, ports: tuple[int, int], spy: Spy
) -> None:
    fast, whole = ports
    token = ct.auth()["Authorization"]
    requests = [
        post(PLACE, ORDER, Authorization=token),  # placed
        post(PLACE, b"{not json", Authorization=token),  # the dialect's 400
        post(PLACE, {**ORDER, "quantity": "lots"}, Authorization=token),
        post(PLACE, ORDER),  # no token: 401
        post(PLACE, ORDER, Authorization="Bearer nonsense"),
        post("/v1/api/accounts/Other/orders/place", ORDER, Authorization=token),
        post(f"/v1/api/accounts/Sim101/orders/{'0' * 32}/cancel", b"", Authorization=token),
        post("/trade/open/pending", {"login": 1001, "cmd": 2}, Authorization="not-a-jwt"),
        request_head("DELETE", "/trade/cancel", 2) + b"{}",
    ]
    for request in requests:
        spy.calls = 0
        [directly] = await exchange(fast, request)
        assert spy.calls == 0, request  # not the whole way
        [the_whole_way] = await exchange(whole, request)
        assert spy.calls == 1, request
        assert _ORDER_ID.sub(b"ID", directly) == _ORDER_ID.sub(b"ID", the_whole_way), request
    placed = await ct.client.get("/v1/api/accounts/Sim101/orders", headers=ct.auth())
    assert len(placed.json()["orders"]) == 2  # one placement each way, nothing else


async def test_requests_answered_together_come_back_in_order(
    ct: Server, ports: tuple[int, int], spy: Spy
) -> None:
    token = ct.auth()["Authorization"]
    pipelined = post(PLACE, ORDER, Authorization=token) + post(PLACE, b"[", Authorization=token)
    pipelined += request_head("GET", "/healthz", 0)
    answers = await exchange(ports[0], pipelined, answers=3)
    assert [a[9:12] for a in answers] == [b"200", b"400", b"200"]
    assert b'"orderId"' in answers[0]
    assert b'"success":false' in answers[1]
    assert spy.calls == 1  # only /healthz, which is no fast route


@pytest.mark.parametrize(
    "headers",
    [{"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-Proto": "https"}],
    ids=["for", "proto"],
)
async def test_a_request_with_forwarded_headers_goes_the_whole_way(
    ct: Server, ports: tuple[int, int], spy: Spy, headers: dict[str, str]
) -> None:
    request = post(PLACE, ORDER, Authorization=ct.auth()["Authorization"], **headers)
    [answer] = await exchange(ports[0], request)
    assert answer.startswith(b"HTTP/1.1 200")
    assert spy.calls == 1


async def test_a_body_that_comes_after_its_head_goes_the_whole_way(
    ct: Server, ports: tuple[int, int], spy: Spy
) -> None:
    body = orjson.dumps(ORDER)
    head = request_head("POST", PLACE, len(body), Authorization=ct.auth()["Authorization"])
    [answer] = await exchange(ports[0], head, body[:10], body[10:], pause=0.1)
    assert answer.startswith(b"HTTP/1.1 200")
    assert b'"orderId"' in answer
    assert spy.calls == 1  # through the body limit, which waits for the rest


async def test_a_body_over_the_limit_that_has_all_arrived_goes_the_whole_way(
    ct: Server, ports: tuple[int, int], spy: Spy
) -> None:
    limit = ct.container.settings.max_body_bytes
    body = orjson.dumps({**ORDER, "strategy": "x" * limit})
    request = post(PLACE, body, Authorization=ct.auth()["Authorization"])
    fast, whole = ports
    [directly] = await exchange(fast, request)
    [the_whole_way] = await exchange(whole, request)
    assert directly.startswith(b"HTTP/1.1 413")
    assert directly == the_whole_way
    assert spy.calls == 2


async def test_a_bug_is_the_catch_all_500_either_way_and_the_connection_is_closed(
    ct: Server, ports: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(ct.container.engine, "place", broken)
    request = post(PLACE, ORDER, Authorization=ct.auth()["Authorization"])
    answers = []
    for port in ports:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        async with asyncio.timeout(10):
            answers.append(_DATE.sub(b"", await reader.read()))  # to the end: closed
        writer.close()
    assert answers[0].startswith(b"HTTP/1.1 500")
    assert answers[0] == answers[1]
    assert b"a bug" not in answers[0]


class RecordingTransport(asyncio.Transport):
    """A connection's transport that records what is written to it, and how."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def test_an_answer_made_directly_goes_to_the_socket_in_one_write(ct: Server) -> None:
    options = uvicorn_options(ct.container.settings)
    config = uvicorn.Config(create_app(container=ct.container), lifespan="off", **options)
    config.load()
    token = ct.auth()["Authorization"]
    for request, writes in (
        (post(PLACE, ORDER, Authorization=token), 1),  # directly: head and body together
        (post(PLACE, b"[", Authorization=token), 1),  # the dialect's 400, directly too
        (request_head("GET", "/healthz", 0), 2),  # the whole way: as uvicorn writes it
    ):
        state = ServerState()
        protocol = FastHttpProtocol(config=config, server_state=state, app_state={})
        transport = RecordingTransport()
        protocol.connection_made(transport)
        protocol.data_received(request)
        async with asyncio.timeout(10):
            while not state.total_requests:  # counted when the answer is complete
                await asyncio.sleep(0.001)
        assert len(transport.writes) == writes, transport.writes
        head, _, body = b"".join(transport.writes).partition(b"\r\n\r\n")
        assert int(re.search(rb"content-length: (\d+)", head, re.I)[1]) == len(body)  # type: ignore[index]
        assert not transport.closed
        protocol.connection_lost(None)


async def test_an_http_1_0_request_is_answered_whole_and_its_connection_closed(
    ct: Server, ports: tuple[int, int], spy: Spy
) -> None:
    request = post(PLACE, ORDER, Authorization=ct.auth()["Authorization"])
    request = request.replace(b" HTTP/1.1\r\n", b" HTTP/1.0\r\n", 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", ports[0])
    writer.write(request)
    async with asyncio.timeout(10):
        answer = await reader.read()  # to the end: the server closes after one answer
    writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert int(re.search(rb"content-length: (\d+)", head, re.I)[1]) == len(body)  # type: ignore[index]
    assert b'"orderId"' in body
    assert spy.calls == 0  # directly
