"""A client of the ScaleTrade stream (``ws://host:port``, no path) for the tests: it keeps the
frames it read but was not waiting for, so that a test waits for the one it expects."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

__all__ = ["TIMEOUT", "StreamClient", "closed_by_the_server", "stream", "stream_url"]

#: Seconds to wait for a frame: generous, so that a busy machine does not fail a test.
TIMEOUT = 10

Frame = Any  # a reply (dict), an event array (list) or the text "pong"


def _loads(raw: str | bytes) -> Frame:
    if raw == "pong":
        return raw
    return json.loads(raw, parse_float=Decimal)


class StreamClient:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.unread: list[Frame] = []

    async def send(self, frame: Any) -> None:
        await self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    async def until(self, match: Callable[[Frame], bool]) -> Frame:
        """The first frame (read before or now) that ``match``es; the others stay unread."""
        for i, frame in enumerate(self.unread):
            if match(frame):
                return self.unread.pop(i)
        skipped = []
        try:
            while True:
                async with asyncio.timeout(TIMEOUT):
                    frame = _loads(await self.ws.recv())
                if match(frame):
                    return frame
                skipped.append(frame)
        finally:
            self.unread.extend(skipped)

    async def reply(self, event: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.until(
            lambda f: isinstance(f, dict) and f.get("event") == event
        )
        return found

    async def event(self, kind: str, match: Callable[[list[Any]], bool] | None = None) -> list[Any]:
        """The next ``kind`` event array (``t``, ``b``, ``o``, ``n``) that ``match``es."""
        found: list[Any] = await self.until(
            lambda f: isinstance(f, list) and f[0] == kind and (match is None or match(f))
        )
        return found

    async def ask(self, frame: Any, event: str) -> dict[str, Any]:
        await self.send(frame)
        return await self.reply(event)

    async def sync(self) -> list[Frame]:
        """Round trip: every frame the server queued before the pong; they are also left
        unread."""
        await self.send("ping")
        await self.until(lambda f: f == "pong")
        return list(self.unread)

    async def authorize(self, token: str) -> dict[str, Any]:
        return await self.ask({"authorization": token}, "authorization")


def stream_url(base: str, path: str = "") -> str:
    """The stream's URL on the server at ``base`` (http://host:port): the bare address."""
    return base.replace("http://", "ws://") + path


@asynccontextmanager
async def stream(
    base: str, token: str | None = None, path: str = ""
) -> AsyncIterator[StreamClient]:
    """A connection to the stream, authorized with ``token`` if given; what the server sent
    on authorizing (a client session's ``account.switch`` reply and first ``b``) is read, so
    that the test starts from a clean slate."""
    async with connect(stream_url(base, path), proxy=None) as ws:
        client = StreamClient(ws)
        if token is not None:
            answer = await client.authorize(token)
            assert answer == {"event": "authorization", "success": True}, answer
            await client.sync()
            client.unread.clear()
        yield client


async def closed_by_the_server(client: StreamClient) -> list[Frame]:
    """Read until the server closes the connection: the frames it sent before."""
    frames = list(client.unread)
    client.unread.clear()
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                frames.append(_loads(await client.ws.recv()))
    except ConnectionClosed:
        pass
    return frames
