"""A websocket client for the CrossTrade /ws/stream tests, and the REST calls they compare
with."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from ordergate.api.app import create_app
from tests.api.crosstrade.conftest import Server, free_port

D = Decimal
TIMEOUT = 10


def loads(raw: str | bytes) -> Any:
    return json.loads(raw, parse_float=Decimal)


class Client:
    """A websocket client that keeps the frames it read but was not waiting for."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.unread: list[dict[str, Any]] = []
        self._ids = 0

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def read(self) -> dict[str, Any]:
        if self.unread:
            return self.unread.pop(0)
        async with asyncio.timeout(TIMEOUT):
            frame = loads(await self.ws.recv())
        assert isinstance(frame, dict)
        return frame

    async def until(self, match: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first frame (read before or now) that ``match``es; the others stay unread."""
        for i, frame in enumerate(self.unread):
            if match(frame):
                return self.unread.pop(i)
        skipped = []
        try:
            while True:
                async with asyncio.timeout(TIMEOUT):
                    frame = loads(await self.ws.recv())
                if match(frame):
                    return frame
                skipped.append(frame)
        finally:
            self.unread.extend(skipped)

    async def answer(self, rid: Any) -> dict[str, Any]:
        return await self.until(lambda f: "type" not in f and f.get("id") == rid)

    async def of_type(self, kind: str) -> dict[str, Any]:
        return await self.until(lambda f: f.get("type") == kind)

    async def call(self, api: str, args: Any = None, rid: Any = None) -> dict[str, Any]:
        if rid is None:
            self._ids += 1
            rid = f"req-{self._ids}"
        frame: dict[str, Any] = {"action": "rpc", "id": rid, "api": api}
        if args is not None:
            frame["args"] = args
        await self.send(frame)
        return await self.answer(rid)

    async def ping(self) -> None:
        """Round trip: every frame the server sent before the pong is then unread."""
        await self.send({"action": "ping", "id": "sync"})
        await self.until(lambda f: f.get("type") == "pong")


def ws_url(base: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + "/ws/stream" + query


@asynccontextmanager
async def session(base: str, token: str | None, **kw: Any) -> AsyncIterator[Client]:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    kw.setdefault("additional_headers", headers)
    async with connect(ws_url(base, kw.pop("query", "")), proxy=None, **kw) as ws:
        yield Client(ws)


@asynccontextmanager
async def serving(server: Server) -> AsyncIterator[str]:
    """``server`` on a real uvicorn (as the ``live`` fixture, for servers built here)."""
    config = uvicorn.Config(
        create_app(container=server.container),
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        lifespan="off",
    )
    running = uvicorn.Server(config)
    task = asyncio.create_task(running.serve())
    while not running.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        running.should_exit = True
        await task


def place_body(symbol: str = "ES 12-26", price: str = "5990", **kw: Any) -> dict[str, Any]:
    body = {
        "instrument": symbol,
        "action": "BUY",
        "quantity": 1,
        "orderType": "LIMIT",
        "limitPrice": price,
        "timeInForce": "GTC",
    }
    body.update(kw)
    return body


async def place(ct: Server, account: str = "Sim101", token: str | None = None, **kw: Any) -> str:
    response = await ct.client.post(
        f"/v1/api/accounts/{account}/orders/place", headers=ct.auth(token), json=place_body(**kw)
    )
    assert response.status_code == 200, response.text
    return str(response.json()["orderId"])


async def rest(ct: Server, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    response = await ct.client.request(method, f"/v1/api{path}", headers=ct.auth(), **kw)
    return response.status_code, loads(response.content)


async def order_state(ct: Server, order_id: str, account: str = "Sim101", token=None) -> str:
    response = await ct.client.get(
        f"/v1/api/accounts/{account}/orders/{order_id}", headers=ct.auth(token)
    )
    return str(response.json()["orderState"])


def assert_same_body(ws: Any, rest_body: Any) -> None:
    """``ws`` equals ``rest_body`` exactly: the same keys in the same order, the same values
    and JSON types (numbers are numbers on both sides)."""
    assert ws == rest_body
    if isinstance(ws, dict):
        assert list(ws) == list(rest_body)
