"""The two event streams, kept open: ``CrossTradeStream`` (``/ws/stream``) and
``ScaleTradeStream`` (the WebSocket at ``/``), on asyncio.

A dropped connection is opened again (with a growing pause, up to ``max_reconnects`` tries in
a row) and what the stream was set to is sent again: the CrossTrade subscriptions and P&L
stream, the ScaleTrade authorization (a fresh session when the old one ran out), login and
symbols. Events sent while it was down are lost, so after each reopening the stream yields a
marker frame, ``{"type": "reconnected"}`` (CrossTrade) or ``{"event": "reconnected"}``
(ScaleTrade), for the bot to read its state again (``get_orders``, ``trades``). A refused
handshake or a close for a disabled user or revoked token ends the stream with the
dialect's ``ApiError``; running out of tries with ``TransportError``.

    async with client.stream() as stream:
        await stream.subscribe(["ES"])
        update = await stream.wait_for(lambda f: f.get("type") == "orderUpdate")
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, ClassVar, Self

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from ordergate.client._http import ErrorMaker, Json, dumps, loads
from ordergate.client.errors import (
    OrdergateError,
    TransportError,
    crosstrade_error,
    scaletrade_error,
)

__all__ = ["CrossTradeStream", "ScaleTradeStream", "websocket_url"]

#: Close codes after which opening the connection again would be refused the same way.
_FINAL_CLOSES = frozenset({1008, 4401})
_END = object()


def websocket_url(base_url: str, path: str) -> str:
    """The ws:// (or wss://) URL of ``path`` on the server at ``base_url``."""
    base = base_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + path
    return "ws://" + base.removeprefix("http://") + path


def _decode(message: str | bytes | bytearray) -> Json:
    try:
        return loads(message if isinstance(message, str) else bytes(message))
    except ValueError:  # ScaleTrade's bare-text "pong"
        return message if isinstance(message, str) else message.decode(errors="replace")


class _Stream:
    """One WebSocket kept open; the dialects say what to send on each opening (``_hello``)
    and what an answer belongs to (``_dispatch``)."""

    _marker: ClassVar[dict[str, str]] = {}

    def __init__(
        self,
        url: str,
        error: ErrorMaker,
        *,
        headers: dict[str, str] | None = None,
        max_reconnects: int = 20,
        backoff: tuple[float, float] = (0.05, 2.0),
        open_timeout: float = 10.0,
    ) -> None:
        self.url = url
        #: how many times the connection was opened again
        self.reconnects = 0
        self._error = error
        self._headers = headers or {}
        self._max_reconnects = max_reconnects
        self._backoff = backoff
        self._open_timeout = open_timeout
        self._frames: asyncio.Queue[Any] = asyncio.Queue()
        self._ws: ClientConnection | None = None
        self._open = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._closing = False

    async def _hello(self) -> list[Any]:
        return []

    def _dispatch(self, frame: Json) -> None:
        self._frames.put_nowait(frame)

    def _dropped(self) -> None:
        """The connection went down: what waited on it cannot be answered."""

    async def __aenter__(self) -> Self:
        await self._connect()
        self._reader = asyncio.create_task(self._read(), name=f"stream {self.url}")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection; iteration ends."""
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._ws is not None:
            await self._ws.close()
        self._frames.put_nowait(_END)

    async def _connect(self) -> None:
        try:
            ws = await connect(
                self.url, additional_headers=self._headers, open_timeout=self._open_timeout
            )
        except InvalidStatus as exc:
            body = bytes(exc.response.body or b"")
            try:
                decoded = loads(body) if body else None
            except ValueError:
                decoded = body.decode(errors="replace")
            raise self._error(exc.response.status_code, decoded) from exc
        except (OSError, TimeoutError, WebSocketException) as exc:
            raise TransportError(f"cannot open {self.url}: {exc!r}") from exc
        for frame in await self._hello():
            await ws.send(frame if isinstance(frame, str) else dumps(frame).decode())
        self._ws = ws
        self._open.set()

    async def _read(self) -> None:
        try:
            while (ws := self._ws) is not None:
                with contextlib.suppress(ConnectionClosed):
                    async for message in ws:
                        self._dispatch(_decode(message))
                self._open.clear()
                self._dropped()
                if ws.close_code in _FINAL_CLOSES:
                    reason = ws.close_reason or "the server ended the session"
                    self._frames.put_nowait(self._error(401, {"error": reason}))
                    return
                await self._reopen()
                self._frames.put_nowait(dict(self._marker))
        except OrdergateError as exc:
            self._frames.put_nowait(exc)

    async def _reopen(self) -> None:
        low, high = self._backoff
        for attempt in range(self._max_reconnects):
            await asyncio.sleep(min(high, low * 2**attempt))
            try:
                await self._connect()
            except TransportError:
                continue
            self.reconnects += 1
            return
        raise TransportError(f"{self.url}: lost, and not reopened in {self._max_reconnects} tries")

    async def send(self, frame: Any) -> None:
        """Send one frame (a dict as JSON, a str as it is), once the connection is open."""
        await asyncio.wait_for(self._open.wait(), self._open_timeout)
        ws = self._ws
        if ws is None:
            raise TransportError(f"{self.url}: the stream is not open")
        try:
            await ws.send(frame if isinstance(frame, str) else dumps(frame).decode())
        except ConnectionClosed as exc:
            raise TransportError(f"{self.url}: the connection dropped while sending") from exc

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Json:
        item = await self._frames.get()
        if item is _END:
            self._frames.put_nowait(_END)
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        return item

    async def next_frame(self, timeout: float = 10.0) -> Json:
        """The next frame; ``TimeoutError`` if none comes within ``timeout`` seconds."""
        return await asyncio.wait_for(anext(self), timeout)

    async def wait_for(self, predicate: Callable[[Json], bool], timeout: float = 10.0) -> Json:
        """The first frame from now on that ``predicate`` accepts (the others are dropped);
        ``TimeoutError`` after ``timeout`` seconds."""

        async def first() -> Json:
            async for frame in self:
                if predicate(frame):
                    return frame
            raise TransportError(f"{self.url}: the stream ended")

        return await asyncio.wait_for(first(), timeout)


class CrossTradeStream(_Stream):
    """``/ws/stream``: ``orderUpdate``, ``executionUpdate``, ``positionUpdate`` and
    ``alertUpdate`` frames of every account the token may use, ``marketData`` of the
    subscribed instruments, ``pnlUpdate`` when asked, and every operation as an ``rpc``."""

    _marker: ClassVar[dict[str, str]] = {"type": "reconnected"}

    def __init__(self, base_url: str, token: str, **options: Any) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        url = websocket_url(base_url, "/ws/stream")
        super().__init__(url, crosstrade_error, headers=headers, **options)
        self.instruments: list[str] = []
        self._pnl: dict[str, Any] | None = None
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Json]] = {}

    async def _hello(self) -> list[Any]:
        frames: list[Any] = []
        if self.instruments:
            frames.append({"action": "subscribe", "instruments": list(self.instruments)})
        if self._pnl is not None:
            frames.append(self._pnl)
        return frames

    def _dispatch(self, frame: Json) -> None:
        key = frame.get("id") if isinstance(frame, dict) else None
        waiting = self._pending.pop(key, None) if isinstance(key, str) else None
        if waiting is None:
            self._frames.put_nowait(frame)
        elif waiting.done():
            return
        elif "data" in frame:
            waiting.set_result(frame["data"])
        else:
            waiting.set_exception(crosstrade_error(int(frame.get("status", 400)), frame))

    def _dropped(self) -> None:
        pending, self._pending = self._pending, {}
        for waiting in pending.values():
            if not waiting.done():
                waiting.set_exception(TransportError("the connection dropped before the answer"))

    async def subscribe(self, instruments: Sequence[str]) -> None:
        """Receive ``marketData`` of ``instruments`` (kept across reconnects)."""
        self.instruments += [i for i in instruments if i not in self.instruments]
        await self.send({"action": "subscribe", "instruments": list(instruments)})

    async def unsubscribe(self, instruments: Sequence[str] | None = None) -> None:
        """Stop ``instruments``' market data (all without)."""
        gone = set(self.instruments if instruments is None else instruments)
        self.instruments = [i for i in self.instruments if i not in gone]
        frame: dict[str, Any] = {"action": "unsubscribe"}
        if instruments is not None:
            frame["instruments"] = list(instruments)
        await self.send(frame)

    async def stream_pnl(
        self, enabled: bool = True, interval_ms: int = 1000, accounts: Sequence[str] | None = None
    ) -> None:
        """Receive ``pnlUpdate`` frames every ``interval_ms`` (kept across reconnects)."""
        frame: dict[str, Any] = {"action": "streamPnl", "enabled": enabled, "interval": interval_ms}
        if accounts is not None:
            frame["accounts"] = list(accounts)
        self._pnl = frame if enabled else None
        await self.send(frame)

    async def rpc(
        self, api: str, args: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> Json:
        """Run the operation ``api`` (``"GetOrders"``...) over the socket: the REST body;
        ``CrossTradeError`` for a refusal, ``TransportError`` if the connection drops first."""
        key = f"sdk-{next(self._ids)}"
        answer: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[key] = answer
        try:
            await self.send({"action": "rpc", "id": key, "api": api, "args": args or {}})
            return await asyncio.wait_for(answer, timeout)
        finally:
            self._pending.pop(key, None)


class ScaleTradeStream(_Stream):
    """The ScaleTrade stream: ``t`` quotes of the subscribed symbols; ``b`` figures, ``o``
    trade records and ``n`` notifications of the streamed login (arrays), and replies
    (objects). ``token`` gives a valid session JWT (signing in again when it ran out)."""

    _marker: ClassVar[dict[str, str]] = {"event": "reconnected"}

    def __init__(
        self,
        base_url: str,
        token: Callable[[], Awaitable[str]],
        *,
        login: int | None = None,
        **options: Any,
    ) -> None:
        super().__init__(websocket_url(base_url, "/"), scaletrade_error, **options)
        self.symbols: list[str] = []
        self.login = login
        self._token = token

    async def _hello(self) -> list[Any]:
        frames: list[Any] = [{"authorization": await self._token()}]
        if self.login is not None:
            frames.append({"event": "account.switch", "active_login": self.login})
        if self.symbols:
            frames.append({"event": "subscribe", "data": list(self.symbols)})
        return frames

    async def switch(self, login: int) -> None:
        """Stream ``login`` (a manager's or admin's session; kept across reconnects)."""
        self.login = login
        await self.send({"event": "account.switch", "active_login": login})

    async def subscribe(self, symbols: Sequence[str]) -> None:
        """Receive ``t`` quotes of ``symbols`` (kept across reconnects)."""
        self.symbols += [s for s in symbols if s not in self.symbols]
        await self.send({"event": "subscribe", "data": list(symbols)})

    async def unsubscribe(self, symbols: Sequence[str] | None = None) -> None:
        gone = set(self.symbols if symbols is None else symbols)
        self.symbols = [s for s in self.symbols if s not in gone]
        frame: dict[str, Any] = {"event": "unsubscribe"}
        if symbols is not None:
            frame["data"] = list(symbols)
        await self.send(frame)
