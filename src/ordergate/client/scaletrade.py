"""The ScaleTrade client, sync and async: sign-in and its renewal, every trade call, the
reads and the event stream.

The client signs in with its login and password on first use and keeps the session JWT; it
signs in again shortly before the session's lifetime runs out (measured from the token's own
``iat``/``exp``, so a server clock that differs from ours does not matter) and once more
when a call is refused 401 all the same. Volumes are hundredths of a lot, ``cmd`` MT4 codes
(``BUY``... below), prices exact ``Decimal``s. Each call takes ``login`` (default: the
client's own, as a client session acts on its own login). A refusal raises
``ScaleTradeError`` with the body's code (``RET_TRADE_ORDER_LOCKED``...); a group cancel or
close that did some and not others answers normally (207) with its ``failures``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections.abc import Awaitable, Sequence
from typing import Any, Generic, Literal, TypeVar

import httpx

from ordergate.client._http import (
    DEFAULT_TIMEOUT,
    AsyncClosing,
    AsyncTransport,
    Call,
    Json,
    Number,
    SyncClosing,
    SyncTransport,
    numbers,
    without_none,
)
from ordergate.client.errors import ApiError, scaletrade_error
from ordergate.client.stream import ScaleTradeStream

__all__ = [
    "BUY",
    "BUY_LIMIT",
    "BUY_STOP",
    "BUY_STOP_LIMIT",
    "SELL",
    "SELL_LIMIT",
    "SELL_STOP",
    "SELL_STOP_LIMIT",
    "AsyncScaleTradeClient",
    "ScaleTradeClient",
    "ScaleTradeOperations",
]

BUY, SELL, BUY_LIMIT, SELL_LIMIT, BUY_STOP, SELL_STOP = 0, 1, 2, 3, 4, 5
BUY_STOP_LIMIT, SELL_STOP_LIMIT = 10, 11
#: Sign in again this many seconds before the session would run out.
_RENEW_MARGIN_S = 60.0
R = TypeVar("R")


def _lifetime(jwt: str) -> float | None:
    """The seconds a session JWT lives (``exp - iat``), read without verifying it."""
    try:
        payload = jwt.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"] - claims["iat"])
    except (IndexError, KeyError, TypeError, ValueError, binascii.Error):
        return None


class _Session:
    """The JWT of a sign-in and when, on our own monotonic clock, to renew it."""

    def __init__(self) -> None:
        self.jwt: str | None = None
        self._renew_at = 0.0

    def take(self, profile: Json) -> None:
        self.jwt = str(profile["__token"])
        life = _lifetime(self.jwt)
        renew_in = float("inf") if life is None else max(life - _RENEW_MARGIN_S, life / 2)
        self._renew_at = time.monotonic() + renew_in

    def usable(self) -> bool:
        return self.jwt is not None and time.monotonic() < self._renew_at

    def headers(self) -> dict[str, str]:
        return {"Authorization": self.jwt or ""}


def _expired(exc: ApiError) -> bool:
    return exc.status == 401


class ScaleTradeOperations(Generic[R]):
    """Every ScaleTrade call but the sign-in, as the call it sends; ``_call`` sends it."""

    login: int

    def _call(self, call: Call) -> R:
        raise NotImplementedError

    def _login(self, login: int | None) -> int:
        return self.login if login is None else login

    def open_trade(
        self,
        symbol: str,
        cmd: int,
        volume: int,
        *,
        sl: Number | None = None,
        tp: Number | None = None,
        comment: str | None = None,
        login: int | None = None,
    ) -> R:
        """A market order (``BUY``, ``SELL``): the acknowledgement ``{accepted, order, ...}``."""
        body = {
            "login": self._login(login),
            "cmd": cmd,
            "volume": volume,
            "symbol": symbol,
            **numbers(sl=sl, tp=tp),
            **without_none(comment=comment),
        }
        return self._call(Call("POST", "/trade/open", body=body))

    def open_pending(
        self,
        symbol: str,
        cmd: int,
        volume: int,
        open_price: Number,
        *,
        trigger_price: Number | None = None,
        sl: Number | None = None,
        tp: Number | None = None,
        expiration: int | None = None,
        comment: str | None = None,
        login: int | None = None,
    ) -> R:
        """A pending order (``BUY_LIMIT`` ... ``SELL_STOP_LIMIT``); ``expiration`` in Unix
        seconds."""
        body = {
            "login": self._login(login),
            "cmd": cmd,
            "volume": volume,
            "symbol": symbol,
            **numbers(open_price=open_price, trigger_price=trigger_price, sl=sl, tp=tp),
            **without_none(expiration=expiration, comment=comment),
        }
        return self._call(Call("POST", "/trade/open/pending", body=body))

    def modify_open(
        self,
        order: int,
        *,
        sl: Number | None = None,
        tp: Number | None = None,
        login: int | None = None,
    ) -> R:
        """Change an open trade's stop-loss and take-profit (0 removes one)."""
        body = {"order": order, **without_none(login=login), **numbers(sl=sl, tp=tp)}
        return self._call(Call("PUT", "/trade/modify/open", body=body))

    def modify_pending(
        self,
        order: int,
        *,
        open_price: Number | None = None,
        trigger_price: Number | None = None,
        sl: Number | None = None,
        tp: Number | None = None,
        expiration: int | None = None,
        login: int | None = None,
    ) -> R:
        prices = numbers(open_price=open_price, trigger_price=trigger_price, sl=sl, tp=tp)
        body = {"order": order, **without_none(login=login, expiration=expiration), **prices}
        return self._call(Call("PUT", "/trade/modify/pending", body=body))

    def close_trade(
        self,
        order: int,
        *,
        volume: int | None = None,
        comment: str | None = None,
        login: int | None = None,
    ) -> R:
        """Close an open trade, or ``volume`` of it."""
        body = {"order": order, **without_none(login=login, volume=volume, comment=comment)}
        return self._call(Call("DELETE", "/trade/close", body=body))

    def close_group(
        self,
        login: int | None = None,
        symbol: str | None = None,
        *,
        which: Literal[0, 1, -1] = 0,
        comment: str | None = None,
    ) -> R:
        """Close every open trade of ``login`` (or one symbol's): ``which`` 0 all, 1 the
        profitable ones, -1 the losing ones."""
        body = {
            "login": self._login(login),
            "type": which,
            **without_none(symbol=symbol, comment=comment),
        }
        return self._call(Call("DELETE", "/trade/close/group", body=body))

    def cancel_pending(self, order: int, *, login: int | None = None) -> R:
        """Cancel one pending order."""
        body = {"order": order, **without_none(login=login)}
        return self._call(Call("DELETE", "/trade/cancel", body=body))

    def cancel_group(self, login: int | None = None, symbol: str | None = None) -> R:
        """Cancel every pending order of ``login`` (or one symbol's): ``rows``, ``matched``,
        ``cancelled``, ``failed`` and, when some could not be cancelled (207), ``failures``.
        Raises ``ScaleTradeError`` 404 when nothing matched, 409 when none was cancelled."""
        body = {"login": self._login(login), **without_none(symbol=symbol)}
        return self._call(Call("DELETE", "/trade/cancel/group", body=body))

    def trades(
        self,
        login: int | None = None,
        *,
        trade_type: int | None = None,
        limit: int | None = None,
        offset: int | None = None,
        where: Sequence[Sequence[Any]] | None = None,
        where_not: Sequence[Sequence[Any]] | None = None,
        where_in: Sequence[Sequence[Any]] | None = None,
        where_not_in: Sequence[Sequence[Any]] | None = None,
        where_between: Sequence[Sequence[Any]] | None = None,
        where_not_between: Sequence[Sequence[Any]] | None = None,
        order_by: Sequence[Sequence[str]] | None = None,
    ) -> R:
        """The login's trades as a table (``structure``, ``rows``, totals): ``trade_type`` 1
        open, 2 closed, 3 pending, 0 all; filters as ScaleTrade sends them."""
        body = without_none(
            login=self._login(login),
            tradeType=trade_type,
            limit=limit,
            offset=offset,
            where=where,
            whereNot=where_not,
            whereIn=where_in,
            whereNotIn=where_not_in,
            whereBetween=where_between,
            whereNotBetween=where_not_between,
            orderBy=order_by,
        )
        return self._call(Call("GET", "/trades", body=body, has_body=True))

    def market(self, login: int | None = None) -> R:
        """Every symbol's specification and quote."""
        return self._call(Call("GET", "/market", {"login": str(self._login(login))}))

    def market_symbol(self, symbol: str, login: int | None = None) -> R:
        params = {"login": str(self._login(login)), "symbol": symbol}
        return self._call(Call("GET", "/market/symbol", params))

    def account_me(self, login: int | None = None) -> R:
        """The account's profile and figures."""
        return self._call(Call("GET", "/account/me", {"login": str(self._login(login))}))

    def account_balance(self, login: int | None = None) -> R:
        return self._call(Call("GET", "/account/balance", {"login": str(self._login(login))}))

    def balances_list(self, logins: Sequence[int]) -> R:
        params = {"logins": json.dumps(list(logins))}
        return self._call(Call("GET", "/balances/list", params))


def _sign_in_call(login: int, password: str) -> Call:
    return Call("POST", "/sign/in", body={"login": login, "password": password})


class ScaleTradeClient(ScaleTradeOperations[Json], SyncClosing):
    """A blocking ScaleTrade client: ``ScaleTradeClient(base_url, 1001, "Sim101pass")``."""

    def __init__(
        self,
        base_url: str,
        login: int,
        password: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.login = login
        self._password = password
        self._session = _Session()
        self._transport = SyncTransport(
            self.base_url, scaletrade_error, timeout=timeout, client=http
        )

    def sign_in(self) -> Json:
        """Sign in (again): the profile, whose ``__token`` the client now uses."""
        profile = self._transport.send(_sign_in_call(self.login, self._password))
        self._session.take(profile)
        return profile

    def token(self) -> str:
        """A session JWT that is not about to run out (signing in for one if needed)."""
        if not self._session.usable():
            self.sign_in()
        return self._session.jwt or ""

    def _call(self, call: Call) -> Json:
        self.token()
        try:
            return self._transport.send(call, self._session.headers())
        except ApiError as exc:
            if not _expired(exc):
                raise
        self.sign_in()
        return self._transport.send(call, self._session.headers())

    def stream(self, *, login: int | None = None, **options: Any) -> ScaleTradeStream:
        """The event stream (asyncio): see ``ScaleTradeStream``."""

        async def token() -> str:
            return await asyncio.to_thread(self.token)

        return ScaleTradeStream(self.base_url, token, login=login, **options)


class AsyncScaleTradeClient(ScaleTradeOperations[Awaitable[Json]], AsyncClosing):
    """The asyncio ScaleTrade client: the same methods, awaited."""

    def __init__(
        self,
        base_url: str,
        login: int,
        password: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.login = login
        self._password = password
        self._session = _Session()
        self._transport = AsyncTransport(
            self.base_url, scaletrade_error, timeout=timeout, client=http
        )

    async def sign_in(self) -> Json:
        profile = await self._transport.send(_sign_in_call(self.login, self._password))
        self._session.take(profile)
        return profile

    async def token(self) -> str:
        if not self._session.usable():
            await self.sign_in()
        return self._session.jwt or ""

    def _call(self, call: Call) -> Awaitable[Json]:
        return self._send(call)

    async def _send(self, call: Call) -> Json:
        await self.token()
        try:
            return await self._transport.send(call, self._session.headers())
        except ApiError as exc:
            if not _expired(exc):
                raise
        await self.sign_in()
        return await self._transport.send(call, self._session.headers())

    def stream(self, *, login: int | None = None, **options: Any) -> ScaleTradeStream:
        """The event stream: see ``ScaleTradeStream``."""
        return ScaleTradeStream(self.base_url, self.token, login=login, **options)
