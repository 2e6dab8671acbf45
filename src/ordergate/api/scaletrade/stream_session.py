"""One ScaleTrade stream connection: authorization by JWT, the account it streams, the
symbols it subscribed to, and one writer.

Every frame out goes through a bounded outbox that one task writes to the socket, so frames
never interleave and the session's send order is kept. A client that stops reading is
dropped rather than held on to: a send that does not complete within ``SEND_SECONDS`` ends
the connection, and so does an account stream the bus had to drop events of (close 1013).

Authorization ends the connection (close 4401, after an ``authorization`` failure frame) when
the JWT expires (a timer on the server's clock), when its user or account is disabled (the
access watch wakes the check at once) and at a check every ``REAUTH_SECONDS``; a connection
not authorized within ``AUTH_SECONDS`` of opening is closed too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from ordergate.api.bodies import dumps, parse_json
from ordergate.api.scaletrade import stream_frames as frames
from ordergate.api.scaletrade.errors import render
from ordergate.api.scaletrade.stream_events import tick
from ordergate.api.scaletrade.stream_pumps import (
    AccountStream,
    TooSlow,
    pump_ticks,
    resolve_symbols,
    stop_stream,
)
from ordergate.bootstrap import Container
from ordergate.domain.clock import Timer
from ordergate.domain.errors import AuthError, DomainError, InvalidInput
from ordergate.domain.ids import Login
from ordergate.domain.principal import Principal
from ordergate.engine.bus import Subscription

__all__ = ["ACCOUNT_QUEUE", "AUTH_SECONDS", "MAX_FRAME_BYTES", "SEND_SECONDS", "StreamSession"]

log = logging.getLogger(__name__)

MAX_FRAME_BYTES: Final = 16 * 1024
MAX_SYMBOLS: Final = 200
#: Frames waiting for the socket; a full outbox holds back the streams feeding it.
OUTBOX: Final = 1_000
#: Bus envelopes an account stream may fall behind by before the client is dropped.
ACCOUNT_QUEUE: int = 10_000
QUOTE_QUEUE: Final = 1_000
#: Seconds (on the server's clock) a connection may stay open unauthorized.
AUTH_SECONDS: float = 10.0
#: Seconds one frame may take to reach the client before it is dropped as not reading.
SEND_SECONDS: float = 10.0
REAUTH_SECONDS: float = 60.0
#: Seconds the frames still queued at closing get to reach the client.
FLUSH_SECONDS: float = 2.0
UNAUTHORIZED: Final = 4401
_END = None  # queued last: everything before it has been written

Handler = Callable[[dict[str, Any], Principal], Awaitable[None]]


class StreamSession:
    """Serves one accepted WebSocket until either side closes it."""

    def __init__(self, websocket: WebSocket, container: Container) -> None:
        self.ws, self.container = websocket, container
        self.token: str | None = None
        self.principal: Principal | None = None
        self.login: Login | None = None  # the account streamed
        self.symbols: dict[str, None] = {}  # subscribed, in order
        self._account: AccountStream | None = None
        self._selecting = asyncio.Lock()  # the reader and the token check both select
        self._outbox: asyncio.Queue[str | None] = asyncio.Queue(OUTBOX)
        self._stop = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._broken = False  # the socket failed: nothing more can be written to it
        self._streams: dict[str, tuple[asyncio.Task[None], Subscription | None]] = {}
        self._timers: dict[str, Timer] = {}
        handlers = (self._switch, self._subscribe, self._unsubscribe)
        self._events: dict[str, tuple[str, Handler]] = {
            name.casefold(): (name, handler)
            for name, handler in zip(frames.EVENTS, handlers, strict=True)
        }

    # -- lifecycle -------------------------------------------------------------------------

    async def serve(self) -> None:
        clock = self.container.clock
        deadline = clock.now() + timedelta(seconds=AUTH_SECONDS)
        self._timers["auth"] = clock.call_at(deadline, self._not_authorized)
        writer = asyncio.create_task(self._write())
        reader = asyncio.create_task(self._read())
        stopped = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({writer, reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._stop.set()
            for timer in self._timers.values():
                timer.cancel()
            for task in (reader, stopped):
                task.cancel()
            await asyncio.gather(reader, stopped, return_exceptions=True)
            for name in list(self._streams):
                await self._end(name)
            await self._goodbye(writer)

    def close(self, code: int, reason: str) -> None:
        """Close with ``code`` once what is queued is written; nothing more is queued."""
        if self._close is None:
            self._close = (code, reason[:120])  # a close reason holds at most 123 bytes
        self._stop.set()

    def _refuse(self, last: dict[str, Any], message: str) -> None:
        """Send ``last`` (if there is room) and close as unauthorized."""
        if self._close is None:
            self._queue(dumps(last).decode())
        self.close(UNAUTHORIZED, f"Unauthorized: {message}")

    def _lose_authorization(self, message: str) -> None:
        """The JWT no longer holds: say so, and close."""
        self._refuse(frames.failure(frames.AUTHORIZATION, "INVALID_TOKEN", message), message)

    def _not_authorized(self) -> None:
        if self.principal is None:
            message = f"no authorization within {AUTH_SECONDS:g} s"
            self._refuse(frames.error("UNAUTHORIZED", message), message)

    def _expired(self) -> None:
        self._lose_authorization("token expired")

    async def _goodbye(self, writer: asyncio.Task[None]) -> None:
        if self._close is not None and not writer.done() and self._queue(_END):
            await asyncio.wait({writer}, timeout=FLUSH_SECONDS)
            if writer.done() and not self._broken:
                code, reason = self._close
                with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError, TimeoutError):
                    async with asyncio.timeout(FLUSH_SECONDS):
                        await self.ws.close(code, reason)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)

    def _start(self, name: str, work: Coroutine[Any, Any, None], sub: Subscription | None) -> None:
        self._streams[name] = (asyncio.create_task(self._guarded(name, work, sub)), sub)

    async def _end(self, name: str) -> None:
        stream = self._streams.pop(name, None)
        if stream is not None:
            await stop_stream(*stream)

    async def _guarded(
        self, name: str, work: Coroutine[Any, Any, None], sub: Subscription | None
    ) -> None:
        try:
            await work
        except TooSlow as exc:
            log.info("dropping a ScaleTrade stream client %s behind", exc.missed)
            self.close(1013, f"too slow: {exc.missed} events missed; reconnect, reload /trades")
            return
        except Exception:
            log.exception("ScaleTrade stream %s failed", name)
            self.close(1011, f"{name} stream failed")
            return
        if sub is not None and sub.closed and self._streams.get(name, (None, None))[1] is sub:
            self.close(1001, "server shutting down")  # the bus closed it, not we

    # -- writing ---------------------------------------------------------------------------

    def _queue(self, text: str | None) -> bool:
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    async def send(self, frame: Any) -> None:
        """Queue one frame (dropped once the connection is closing); waits while the outbox
        is full."""
        if not self._stop.is_set():
            await self._outbox.put(dumps(frame).decode())

    async def _write(self) -> None:
        while (text := await self._outbox.get()) is not _END:
            try:
                async with asyncio.timeout(SEND_SECONDS):
                    await self.ws.send_text(text)
            except TimeoutError:
                log.info("dropping a ScaleTrade stream client that stopped reading")
                self._broken = True
                self.close(1013, "too slow: the client stopped reading")
                return
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._broken = True
                return

    # -- reading ---------------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("bytes")
            try:
                if raw is None:
                    raw = (message.get("text") or "").encode()
                await self._handle(raw)
            except Exception:  # a bug: say so, keep reading
                log.exception("could not handle a ScaleTrade stream frame")
                await self.send(frames.error("RET_ERROR", "internal error handling the frame"))

    async def _handle(self, raw: bytes) -> None:
        if len(raw) > MAX_FRAME_BYTES:
            message = f"a frame may carry at most {MAX_FRAME_BYTES} bytes"
            await self.send(frames.error("INVALID_DATA", message))
            return
        if raw.strip() == b"ping":
            if not self._stop.is_set():
                await self._outbox.put("pong")
            return
        try:
            frame = parse_json(raw)
        except InvalidInput as exc:
            await self.send(frames.error("INVALID_DATA", exc.message.replace("body", "frame")))
            return
        if not isinstance(frame, dict):
            message = "a frame must be a JSON object (or the text ping)"
            await self.send(frames.error("INVALID_DATA", message))
            return
        if frames.AUTHORIZATION in frame:
            await self._authorize(frame[frames.AUTHORIZATION])
            return
        principal = self.principal
        if principal is None:
            message = 'send {"authorization": "<__token from POST /sign/in>"} first'
            await self.send(frames.error("UNAUTHORIZED", message))
            return
        event = frame.get("event")
        found = self._events.get(event.casefold()) if isinstance(event, str) else None
        if found is None:
            known = ", ".join((frames.AUTHORIZATION, *frames.EVENTS))
            message = f"unknown event {event!r}; one of {known}"
            await self.send(frames.error("INVALID_DATA", message))
            return
        name, handler = found
        try:
            await handler(frame, principal)
        except InvalidInput as exc:
            await self.send(frames.failure(name, "INVALID_DATA", exc.message))

    # -- authorization ---------------------------------------------------------------------

    async def _authorize(self, value: object) -> None:
        try:
            token = frames.bare_token(value)
            expires_at = self.container.jwt.verify(token).expires_at
            principal = await self.container.signin.principal(token)
        except (InvalidInput, AuthError) as exc:
            failure = frames.failure(frames.AUTHORIZATION, "INVALID_TOKEN", exc.message)
            await self.send(failure)
            return
        self._authorized(token, principal, expires_at)
        await self.send(frames.reply(frames.AUTHORIZATION))
        # A client session streams its own login at once (the older protocol has no
        # account.switch); a staff session keeps the login it chose, while it may.
        login = principal.login if principal.login is not None else self.login
        if login is not None:
            await self._select(login, principal)

    def _authorized(self, token: str, principal: Principal, expires_at: datetime) -> None:
        self.token, self.principal = token, principal
        for name in ("auth", "expiry"):
            timer = self._timers.pop(name, None)
            if timer is not None:
                timer.cancel()
        self._timers["expiry"] = self.container.clock.call_at(expires_at, self._expired)
        if "reauth" not in self._streams:
            self._start("reauth", self._reauthenticate(), None)

    async def _reauthenticate(self) -> None:
        access = self.container.access
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(access.changed(), REAUTH_SECONDS)
            token = self.token
            if token is None:
                continue
            try:
                principal = await self.container.signin.principal(token)
            except AuthError as exc:
                self._lose_authorization(exc.message)
                return
            except Exception:  # the database is away: keep the connection, try later
                log.warning("could not re-check a ScaleTrade stream token", exc_info=True)
                continue
            if token == self.token:
                self.principal = principal
                if self.login is not None:
                    await self._select(self.login, principal, quiet=True)

    # -- the account -----------------------------------------------------------------------

    async def _switch(self, frame: dict[str, Any], principal: Principal) -> None:
        login = frames.switch_login(frame)
        if login is None:
            if principal.login is None:
                raise InvalidInput("give active_login: a staff session has no login of its own")
            login = principal.login
        await self._select(Login(login), principal)

    async def _select(self, login: Login, principal: Principal, *, quiet: bool = False) -> None:
        """Stream account ``login`` if ``principal`` may act on it (``quiet``: only checking
        again that it still may, answering only a refusal)."""
        async with self._selecting:
            await self._select_now(login, principal, quiet)

    async def _select_now(self, login: Login, principal: Principal, quiet: bool) -> None:
        engine = self.container.engine
        try:
            account = await engine.account(principal, login)
        except DomainError as exc:
            _, code, message = render(exc)
            await self.send(frames.failure(frames.SWITCH, code, message))
            if login == self.login:  # it may no longer: stop streaming it
                self.login, self._account = None, None
                await self._end("account")
            return
        if self._account is not None and self.login == account.login:
            self._account.principal = principal
            if quiet:
                return
        else:
            await self._end("account")
            sub = self.container.bus.subscribe(
                accounts=(account.login,), kinds=("order", "position"), maxsize=ACCOUNT_QUEUE
            )
            self._account = AccountStream(engine, principal, account.login, self.send)
            self.login = account.login
            self._start("account", self._account.run(sub), sub)
        await self.send(frames.reply(frames.SWITCH, active_login=account.login))
        await self._account.send_balance()

    # -- quotes ----------------------------------------------------------------------------

    async def _subscribe(self, frame: dict[str, Any], principal: Principal) -> None:
        names = frames.symbols(frame, MAX_SYMBOLS, required=True)
        accepted, rejected = await resolve_symbols(self.container.engine, names)
        added = [s for s in accepted if s not in self.symbols]
        if len(self.symbols) + len(added) > MAX_SYMBOLS:
            raise InvalidInput(f"a connection may subscribe to at most {MAX_SYMBOLS} symbols")
        extra = {"rejected": rejected} if rejected else {}
        if not added:
            await self.send(frames.reply("subscribe", data=accepted, **extra))
            return
        self.symbols.update(dict.fromkeys(added))
        sub = self._quotes()
        try:
            # Read with no wait since subscribing: each later quote comes through ``sub``,
            # whose stream starts once these are queued (so none is sent before them).
            market = self.container.market
            current = [s for s in map(market.snapshot, added) if s is not None]
            await self.send(frames.reply("subscribe", data=accepted, **extra))
            for snapshot in current:
                await self.send(tick(snapshot.symbol, snapshot.bid, snapshot.ask, snapshot.at))
        except BaseException:
            sub.close()
            raise
        await self._restart_ticks(sub)

    async def _unsubscribe(self, frame: dict[str, Any], principal: Principal) -> None:
        names = frames.symbols(frame, MAX_SYMBOLS, required=False)
        engine = self.container.engine
        removed, rejected = (
            await resolve_symbols(engine, names) if names else (list(self.symbols), [])
        )
        dropped = [s for s in removed if s in self.symbols]
        for symbol in dropped:
            del self.symbols[symbol]
        if dropped:
            await self._restart_ticks(self._quotes() if self.symbols else None)
        extra = {"rejected": rejected} if rejected else {}
        await self.send(frames.reply("unsubscribe", data=removed, **extra))

    def _quotes(self) -> Subscription:
        return self.container.bus.subscribe(
            symbols=self.symbols, kinds=("quote",), maxsize=QUOTE_QUEUE
        )

    async def _restart_ticks(self, sub: Subscription | None) -> None:
        # The new subscription started before the old ends, so no quote falls between them.
        old = self._streams.pop("ticks", None)
        if sub is not None:
            self._start("ticks", pump_ticks(sub, self.send), sub)
        if old is not None:
            await stop_stream(*old)
