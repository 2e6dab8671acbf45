"""One authenticated CrossTrade WebSocket connection: reads frames, runs each ``rpc`` as its
own task, keeps the market data, P&L, account and alert streams, and writes every frame
through one lock so that frames never interleave.

Closing: the streams stop at once; requests in flight are allowed to finish (a use case cut
between its commit and its venue call would leave an order the venue never saw), their
answers dropped, and cancelled only after ``DRAIN_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from functools import partial
from typing import Any, Final

from fastapi import HTTPException
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.websockets import WebSocket, WebSocketDisconnect

from ordergate.api.crosstrade.alert_feed import AlertSubscription
from ordergate.api.crosstrade.alerts import pump_alerts
from ordergate.api.crosstrade.context import check_rate
from ordergate.api.crosstrade.errors import Unsuccessful, render_domain
from ordergate.api.crosstrade.ops import OPERATIONS, Ctx, Operation, validate
from ordergate.api.crosstrade.ratelimit import RateLimiter
from ordergate.api.crosstrade.wire import dumps, epoch_ms, parse_json
from ordergate.api.crosstrade.ws_streams import (
    market_data,
    pump_account_events,
    pump_pnl,
    pump_quotes,
)
from ordergate.api.errors import validation_summary
from ordergate.domain.accounts import Account
from ordergate.domain.commands import CancelOrder
from ordergate.domain.errors import AccountNotFound, AuthError, DomainError, InvalidInput
from ordergate.engine.bus import Subscription

__all__ = ["MAX_FRAME_BYTES", "MAX_IN_FLIGHT", "Session"]

log = logging.getLogger(__name__)

MAX_FRAME_BYTES: Final = 64 * 1024
MAX_IN_FLIGHT: Final = 100
MAX_INSTRUMENTS: Final = 200
MAX_PNL_ACCOUNTS: Final = 100
#: How often an open connection's token is checked again (revoked); a user disabled anywhere
#: is noticed by the access watch, which wakes the check at once.
REAUTH_SECONDS: float = 60.0
DRAIN_SECONDS: float = 10.0
ACCOUNT_QUEUE: Final = 10_000
QUOTE_QUEUE: Final = 1_000

Frame = dict[str, Any]
#: What a stream reads: a bus subscription, or the user's alerts
_Source = Subscription | AlertSubscription
#: A stream's work: called once, when its task first runs.
_Work = Callable[[], Coroutine[Any, Any, None]]


class _Frame(BaseModel):
    model_config = ConfigDict(extra="ignore")


class SubscribeFrame(_Frame):
    instruments: list[str] = Field(default=[], max_length=MAX_INSTRUMENTS)


class StreamPnlFrame(_Frame):
    enabled: bool = True
    interval: int = Field(default=1000, ge=250, le=60_000, description="milliseconds")
    accounts: list[str] | None = Field(default=None, max_length=MAX_PNL_ACCOUNTS)


def error_frame(rid: Any, status: int, message: str, code: str, **extra: Any) -> Frame:
    """The error form of every answer: ``id`` echoed (null when unknown), the dialect's
    ``error`` text and ``code``, and the HTTP status the same failure has over REST."""
    return {"id": rid, "success": False, "error": message, "code": code, "status": status, **extra}


def invalid_frame(rid: Any, detail: str) -> Frame:
    return error_frame(rid, 400, "Invalid request", "INVALID_REQUEST", detail=detail)


def error_of(rid: Any, exc: Exception, account: Any) -> Frame:
    """``exc`` as an error frame, with the text REST gives for it."""
    if isinstance(exc, RequestValidationError):
        return invalid_frame(rid, validation_summary(exc))
    if isinstance(exc, Unsuccessful):
        return {"id": rid, **exc.body, "status": exc.status}
    if isinstance(exc, DomainError):
        status, body = render_domain(exc, account if isinstance(account, str) else None)
        return {"id": rid, **body, "status": status}
    if isinstance(exc, HTTPException):
        if exc.status_code == 429:
            retry = int((exc.headers or {}).get("Retry-After", "1"))
            return error_frame(rid, 429, "Rate limit exceeded", "RATE_LIMITED", retryAfter=retry)
        return error_frame(rid, exc.status_code, str(exc.detail), "HTTP_ERROR")
    log.error("unhandled error answering a WebSocket request", exc_info=exc)
    return error_frame(rid, 500, "internal server error", "INTERNAL_ERROR")


def _echoable(rid: str | int | None) -> bool:
    # Every answer echoes the id, and JSON encoding (orjson) stops at 64-bit integers.
    return not isinstance(rid, int) or -(2**63) <= rid < 2**63


#: The operations whose answers name orders they placed (cancel-on-disconnect tracks them).
_PLACING = frozenset(
    {"PlaceOrder", "FlatPlaceOrder", "ReplaceOrder", "ReversePosition", "CancelAndBracket"}
)


def _flag(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1")


def _order_ids(data: dict[str, Any]) -> list[str]:
    found = [data.get(k) for k in ("orderId", "takeProfitOrderId", "stopLossOrderId")]
    return [i for i in found if isinstance(i, str)]


def find_operation(api: str) -> Operation | None:
    """The operation named ``api`` (exactly, else ignoring case)."""
    found = OPERATIONS.get(api)
    if found is None:
        key = api.casefold()
        found = next((op for name, op in OPERATIONS.items() if name.casefold() == key), None)
    return found


class Session:
    """Serves one accepted WebSocket for ``ctx.principal`` until either side closes it."""

    def __init__(
        self,
        websocket: WebSocket,
        ctx: Ctx,
        token: str,
        accounts: list[Account],
        limiter: RateLimiter,
    ) -> None:
        self.ws, self.ctx, self._token = websocket, ctx, token
        self.accounts = accounts
        self._limiter = limiter
        self._lock = asyncio.Lock()
        self._open = True
        self._stop = asyncio.Event()
        self._close: tuple[int, str] | None = None
        self._rpcs: set[asyncio.Task[None]] = set()
        self._streams: dict[str, tuple[asyncio.Task[None], _Source | None]] = {}
        self.instruments: dict[str, None] = {}  # subscribed, in order
        #: cancel the orders placed through this connection if it drops without a close
        self.cancel_on_disconnect = False
        self._placed: dict[str, str] = {}  # order id -> account, placed through this socket
        self._dropped = False
        self._actions: dict[str, Callable[[Any, Frame], Awaitable[None]]] = {
            "rpc": self._rpc,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "streampnl": self._stream_pnl,
            "ping": self._ping,
            "cancelondisconnect": self._cancel_on_disconnect,
        }

    # -- lifecycle -------------------------------------------------------------------------

    async def serve(self) -> None:
        self.cancel_on_disconnect = _flag(self.ws.query_params.get("cancelOnDisconnect"))
        if self.accounts:
            names: dict[int, str] = {a.login: a.name for a in self.accounts}
            sub = self.ctx.container.bus.subscribe(
                accounts=names,
                kinds=("order", "fill", "position", "monitor"),
                maxsize=ACCOUNT_QUEUE,
            )
            self._start(
                "orders", partial(pump_account_events, sub, self.send, self.ctx, names), sub
            )
        user = self.ctx.principal.user_id
        if user is not None:
            alerts = self.ctx.container.alerts.subscribe(user)
            self._start("alerts", partial(pump_alerts, alerts, self.send), alerts)
        self._start("auth", self._reauthenticate, None)
        reader = asyncio.create_task(self._read())
        stopped = asyncio.create_task(self._stop.wait())
        try:
            await asyncio.wait({reader, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._open = False
            for task in (reader, stopped):
                task.cancel()
            for name in list(self._streams):
                await self._end(name)
            await self._drain()
            if self._dropped and self.cancel_on_disconnect:
                await self._cancel_placed()
            await self._say_goodbye()

    def close(self, code: int, reason: str) -> None:
        """Close the connection with ``code`` (from a stream or the token check)."""
        if self._close is None:
            self._close = (code, reason)
        self._stop.set()

    async def _say_goodbye(self) -> None:
        if self._close is None:
            return
        code, reason = self._close
        async with self._lock:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
                await self.ws.close(code, reason)

    async def _drain(self) -> None:
        if not self._rpcs:
            return
        _, late = await asyncio.wait(set(self._rpcs), timeout=DRAIN_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)

    def _start(self, name: str, work: _Work, sub: _Source | None) -> None:
        """Run ``work()`` as stream ``name``. The coroutine is made when the task first runs:
        a stream replaced before that (two subscribe frames back to back) leaves none behind
        unawaited."""
        self._streams[name] = (asyncio.create_task(self._guarded(name, work, sub)), sub)

    async def _end(self, name: str) -> None:
        stream = self._streams.pop(name, None)
        if stream is not None:
            await self._stop_stream(*stream)

    @staticmethod
    async def _stop_stream(task: asyncio.Task[None], sub: _Source | None) -> None:
        if sub is not None:
            sub.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _guarded(self, name: str, work: _Work, sub: _Source | None) -> None:
        try:
            await work()
        except Exception:
            log.exception("WebSocket stream %s failed", name)
            self.close(1011, f"{name} stream failed")
            return
        if sub is not None and sub.closed and self._streams.get(name, (None, None))[1] is sub:
            self.close(1001, "server shutting down")  # the bus closed it, not we

    async def send(self, frame: Frame) -> None:
        """Send one frame (dropped once the connection is closing)."""
        await self.send_text(dumps(frame).decode())

    async def send_text(self, text: str) -> None:
        async with self._lock:
            if not self._open:
                return
            try:
                await self.ws.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                self._open = False
                self._stop.set()

    async def _reauthenticate(self) -> None:
        access = self.ctx.container.access
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(access.changed(), REAUTH_SECONDS)
            try:
                await self.ctx.container.users.authenticate_token(self._token)
            except AuthError as exc:
                self.close(4401, f"Unauthorized: {exc.message}")
                return
            except Exception:  # the database is away: keep the connection, try later
                log.warning("could not re-check a WebSocket token", exc_info=True)

    # -- reading ---------------------------------------------------------------------------

    async def _read(self) -> None:
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                # 1000 and 1001 are a clean close; anything else (1006: the connection
                # went without a close frame) is a drop.
                self._dropped = message.get("code", 1000) not in (1000, 1001)
                return
            raw = message.get("bytes")
            if raw is None:
                raw = (message.get("text") or "").encode()
            try:
                await self._handle(raw)
            except Exception as exc:  # a bug: answer it, keep reading
                await self.send(error_of(None, exc, None))

    async def _handle(self, raw: bytes) -> None:
        if len(raw) > MAX_FRAME_BYTES:
            message = f"a frame may carry at most {MAX_FRAME_BYTES} bytes"
            await self.send(error_frame(None, 413, message, "FRAME_TOO_LARGE"))
            return
        try:
            frame = parse_json(raw)
        except InvalidInput as exc:
            detail = exc.message.replace("the body", "the frame")
            await self.send(invalid_frame(None, detail))
            return
        if not isinstance(frame, dict):
            await self.send(invalid_frame(None, "a frame must be a JSON object"))
            return
        rid = frame.get("id")
        if isinstance(rid, bool) or not isinstance(rid, str | int | None) or not _echoable(rid):
            await self.send(invalid_frame(None, "id must be a string or a 64-bit integer"))
            return
        action = frame.get("action")
        handler = self._actions.get(action.casefold()) if isinstance(action, str) else None
        if handler is None:
            message = (
                f"unknown action {action!r}; use rpc, subscribe, unsubscribe, streamPnl, ping,"
                " cancelOnDisconnect"
            )
            await self.send(error_frame(rid, 400, message, "UNKNOWN_ACTION"))
            return
        try:
            await handler(rid, frame)
        except (DomainError, RequestValidationError) as exc:
            await self.send(error_of(rid, exc, None))

    # -- actions ---------------------------------------------------------------------------

    async def _rpc(self, rid: Any, frame: Frame) -> None:
        api = frame.get("api")
        if not isinstance(api, str):
            await self.send(invalid_frame(rid, "api must name an operation, e.g. PlaceOrder"))
            return
        op = find_operation(api)
        if op is None:
            hint = difflib.get_close_matches(api, list(OPERATIONS), 1)
            extra = {"did_you_mean": hint[0]} if hint else {}
            await self.send(error_frame(rid, 404, f"Unknown api '{api}'", "UNKNOWN_API", **extra))
            return
        if len(self._rpcs) >= MAX_IN_FLIGHT:
            message = f"too many requests in flight on this connection (at most {MAX_IN_FLIGHT})"
            await self.send(error_frame(rid, 429, message, "TOO_MANY_IN_FLIGHT"))
            return
        try:
            check_rate(self._limiter, self.ctx.principal)
        except HTTPException as exc:
            await self.send(error_of(rid, exc, None))
            return
        args = frame.get("args")
        task = asyncio.create_task(self._call(rid, op, {} if args is None else args))
        self._rpcs.add(task)
        task.add_done_callback(self._rpcs.discard)

    async def _call(self, rid: Any, op: Operation, raw: Any) -> None:
        account = raw.get("account") if isinstance(raw, dict) else None
        try:
            args = validate(op.args, raw, "args")
            data = await op.handler(self.ctx, args)
            if op.name in _PLACING and isinstance(account, str):
                for order_id in _order_ids(data):
                    self._placed[order_id] = account
            text = dumps({"id": rid, "data": data}).decode()
        except Exception as exc:
            text = dumps(error_of(rid, exc, account)).decode()
        await self.send_text(text)

    async def _cancel_on_disconnect(self, rid: Any, frame: Frame) -> None:
        enabled = frame.get("enabled")
        if not isinstance(enabled, bool):
            raise InvalidInput("enabled must be true or false")
        self.cancel_on_disconnect = enabled
        await self.send({"id": rid, "data": {"cancelOnDisconnect": enabled}})

    async def _cancel_placed(self) -> None:
        """The connection dropped: cancel what was placed through it and still works."""
        cancelled = 0
        for order_id, account in self._placed.items():
            with contextlib.suppress(DomainError):  # filled or gone meanwhile
                order = await self.ctx.order_id(account, order_id)
                await self.ctx.engine.cancel(
                    self.ctx.principal, CancelOrder(account=account, order=order)
                )
                cancelled += 1
        log.info("connection dropped: cancel-on-disconnect cancelled %d orders", cancelled)

    async def _subscribe(self, rid: Any, frame: Frame) -> None:
        wanted = await self._symbols(validate(SubscribeFrame, frame, "frame"))
        if not wanted:
            raise InvalidInput("give the instruments to subscribe to")
        added = [s for s in wanted if s not in self.instruments]
        if len(self.instruments) + len(added) > MAX_INSTRUMENTS:
            raise InvalidInput(f"a connection may subscribe to at most {MAX_INSTRUMENTS}")
        if added:
            self.instruments.update(dict.fromkeys(added))
            await self._restart_quotes()
        await self._subscriptions(rid)
        snapshot = market_data(self.ctx.container, wanted)
        if snapshot is not None:
            await self.send(snapshot)

    async def _unsubscribe(self, rid: Any, frame: Frame) -> None:
        dropped = await self._symbols(validate(SubscribeFrame, frame, "frame"))
        before = len(self.instruments)
        for symbol in dropped or list(self.instruments):  # none named: all
            self.instruments.pop(symbol, None)
        if len(self.instruments) != before:
            await self._restart_quotes()
        await self._subscriptions(rid)

    async def _symbols(self, frame: SubscribeFrame) -> list[str]:
        return list(dict.fromkeys([await self.ctx.symbol(raw) for raw in frame.instruments]))

    async def _subscriptions(self, rid: Any) -> None:
        reply: Frame = {"type": "subscriptions", "instruments": list(self.instruments)}
        await self.send(reply if rid is None else {**reply, "id": rid})

    async def _restart_quotes(self) -> None:
        # The new subscription starts before the old ends, so no quote falls between them.
        old = self._streams.pop("quotes", None)
        if self.instruments:
            container = self.ctx.container
            sub = container.bus.subscribe(
                symbols=self.instruments, kinds=("quote",), maxsize=QUOTE_QUEUE
            )
            self._start("quotes", partial(pump_quotes, sub, self.send, container), sub)
        if old is not None:
            await self._stop_stream(*old)

    async def _stream_pnl(self, rid: Any, frame: Frame) -> None:
        request = validate(StreamPnlFrame, frame, "frame")
        chosen = self.accounts
        if request.accounts is not None:
            by_key = {a.key: a for a in self.accounts}
            missing = [n for n in request.accounts if n.casefold() not in by_key]
            if missing:
                unknown = AccountNotFound(f"account {missing[0]} not found")
                await self.send(error_of(rid, unknown, missing[0]))
                return
            chosen = list({n.casefold(): by_key[n.casefold()] for n in request.accounts}.values())
        elif len(chosen) > MAX_PNL_ACCOUNTS:
            raise InvalidInput(f"name at most {MAX_PNL_ACCOUNTS} accounts to stream P&L of")
        await self._end("pnl")
        reply: Frame = {
            "type": "pnlStream",
            "enabled": request.enabled,
            "interval": request.interval,
            "accounts": [a.name for a in chosen],
        }
        await self.send(reply if rid is None else {**reply, "id": rid})
        if request.enabled:
            work = partial(pump_pnl, self.send, self.ctx, chosen, request.interval / 1000)
            self._start("pnl", work, None)

    async def _ping(self, rid: Any, frame: Frame) -> None:
        reply: Frame = {"type": "pong", "epoch": epoch_ms(self.ctx.container.clock.now())}
        await self.send(reply if rid is None else {**reply, "id": rid})
