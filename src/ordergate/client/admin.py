"""The admin API client (an admin user's bearer token), sync and async: the simulated
market (``push_quote``, ``push_quotes``, ``market``, ``bars``), the venue's faults
(``faults``, ``set_faults``, ``clear_faults``), tokens, users and accounts (``tokens``,
``revoke_token``, ``users``, ``disable_user``...), and ``reset`` to a fresh demo.

Each call is written once, in ``AdminOperations``; the sync client answers the decoded
body, the async one a coroutine of it. Bodies are the server's own (``{"users": [...]}``),
decimals in them strings as the admin API sends them. A refusal raises ``AdminError`` with
the answer's ``error`` as ``code``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

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
    segment,
    without_none,
)
from ordergate.client.errors import admin_error

__all__ = ["AdminClient", "AdminOperations", "AsyncAdminClient", "quote"]

R = TypeVar("R")


def quote(
    symbol: str,
    bid: Number,
    ask: Number,
    *,
    bid_size: Number | None = None,
    ask_size: Number | None = None,
    last: Number | None = None,
    last_size: Number | None = None,
) -> dict[str, Any]:
    """One quote as ``push_quotes`` takes it."""
    sizes = numbers(bid_size=bid_size, ask_size=ask_size, last=last, last_size=last_size)
    return {"symbol": symbol, **numbers(bid=bid, ask=ask), **sizes}


class AdminOperations(Generic[R]):
    """Every admin call, as the call it sends; ``_call`` sends it."""

    def _call(self, call: Call) -> R:
        raise NotImplementedError

    def push_quote(
        self,
        symbol: str,
        bid: Number,
        ask: Number,
        *,
        bid_size: Number | None = None,
        ask_size: Number | None = None,
        last: Number | None = None,
        last_size: Number | None = None,
    ) -> R:
        """Push one quote (resting orders it crosses fill): the snapshots after it."""
        body = quote(
            symbol, bid, ask, bid_size=bid_size, ask_size=ask_size, last=last, last_size=last_size
        )
        return self._call(Call("POST", "/admin/quotes", body=body))

    def push_quotes(self, quotes: Sequence[Mapping[str, Any]]) -> R:
        """Push quotes (``quote(...)`` each), all taken or none: a snapshot after each."""
        return self._call(Call("POST", "/admin/quotes", body=[dict(q) for q in quotes]))

    def market(self) -> R:
        """The snapshot of every quoted instrument."""
        return self._call(Call("GET", "/admin/market"))

    def bars(
        self,
        symbol: str,
        *,
        period: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> R:
        """``period``-minute bars of ``symbol`` in [start, end), oldest first."""
        params = without_none(
            symbol=symbol,
            period=None if period is None else str(period),
            start=None if start is None else start.isoformat(),
            end=None if end is None else end.isoformat(),
            limit=None if limit is None else str(limit),
        )
        return self._call(Call("GET", "/admin/bars", params))

    # the venue's faults
    def faults(self) -> R:
        """The venue-wide rules (``venue``), the instruments' own (``symbols``), ``sessions``."""
        return self._call(Call("GET", "/admin/faults"))

    def set_faults(
        self,
        symbol: str | None = None,
        *,
        ack_delay_ms: int | None = None,
        fill_delay_ms: int | None = None,
        cancel_delay_ms: int | None = None,
        cancel_refusal_pct: int | None = None,
        partial_fills: bool | None = None,
        market_closed: bool | None = None,
    ) -> R:
        """Make the venue misbehave, for ``symbol`` or for every instrument: acknowledge,
        fill or cancel after a delay (ms on the server's clock), refuse
        ``cancel_refusal_pct`` percent of cancels, fill no more than a quote's size, or close
        the market (orders and cancels refused ``MARKET_CLOSED``). Arguments left out keep
        their setting. The rules after it."""
        body = without_none(
            symbol=symbol,
            ack_delay_ms=ack_delay_ms,
            fill_delay_ms=fill_delay_ms,
            cancel_delay_ms=cancel_delay_ms,
            cancel_refusal_pct=cancel_refusal_pct,
            partial_fills=partial_fills,
            market_closed=market_closed,
        )
        return self._call(Call("PUT", "/admin/faults", body=body))

    def clear_faults(self, symbol: str | None = None) -> R:
        """Drop ``symbol``'s own rules (it follows the venue-wide ones again); without it,
        every rule back to the server's settings. The rules after it."""
        return self._call(Call("DELETE", "/admin/faults", without_none(symbol=symbol)))

    # tokens, users, accounts
    def tokens(self, *, user: str | None = None, revoked: bool = False) -> R:
        """The live API tokens, oldest first (``revoked``: revoked ones too; ``user``: one
        user's), with their ids, never their values."""
        params = without_none(user=user, revoked="true" if revoked else None)
        return self._call(Call("GET", "/admin/tokens", params))

    def revoke_token(self, token_id: int) -> R:
        """Revoke the token ``token_id`` (as ``tokens`` lists it): refused at once."""
        return self._call(Call("POST", f"/admin/tokens/{int(token_id)}/revoke"))

    def users(self) -> R:
        """Every user by name: role, groups, ScaleTrade staff login, enabled."""
        return self._call(Call("GET", "/admin/users"))

    def disable_user(self, name: str) -> R:
        """Its tokens, sessions, sign-in and open WebSockets stop."""
        return self._call(Call("POST", f"/admin/users/{segment(name)}/disable"))

    def enable_user(self, name: str) -> R:
        return self._call(Call("POST", f"/admin/users/{segment(name)}/enable"))

    def accounts(self) -> R:
        """Every account by login, with its owner's name."""
        return self._call(Call("GET", "/admin/accounts"))

    def disable_account(self, account: str | int) -> R:
        """The account (a name or a login) signs in no more and takes no new orders."""
        return self._call(Call("POST", f"/admin/accounts/{segment(account)}/disable"))

    def enable_account(self, account: str | int) -> R:
        return self._call(Call("POST", f"/admin/accounts/{segment(account)}/enable"))

    def reset(self) -> R:
        """Empty the database and seed the demo again (a server that ``ordergate serve``
        runs; 409 otherwise): what was added, and new tokens. This client's token is gone
        with the rest: carry on with the answer's ``admin_token``."""
        return self._call(Call("POST", "/admin/reset", {"confirm": "true"}))


class AdminClient(AdminOperations[Json], SyncClosing):
    """A blocking admin client: ``AdminClient(base_url, admin_token)``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = SyncTransport(self.base_url, admin_error, timeout=timeout, client=http)
        self._auth = {"Authorization": f"Bearer {token}"}

    def _call(self, call: Call) -> Json:
        return self._transport.send(call, self._auth)


class AsyncAdminClient(AdminOperations[Awaitable[Json]], AsyncClosing):
    """The asyncio admin client: the same methods, awaited."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._transport = AsyncTransport(self.base_url, admin_error, timeout=timeout, client=http)
        self._auth = {"Authorization": f"Bearer {token}"}

    def _call(self, call: Call) -> Awaitable[Json]:
        return self._transport.send(call, self._auth)
