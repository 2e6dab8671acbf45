"""The admin API client (an admin user's bearer token), sync and async: push quotes into
the simulated market and read it.

The server's admin API is these three routes; venue faults, users, accounts and tokens
are set up with the ``ordergate`` command line, or in a test through the sandbox
(``ordergate.testing``), which owns the server it runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx

from ordergate.client._http import (
    DEFAULT_TIMEOUT,
    AsyncTransport,
    Call,
    Json,
    Number,
    SyncTransport,
    numbers,
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


class AdminClient(AdminOperations[Json]):
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

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncAdminClient(AdminOperations[Awaitable[Json]]):
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

    async def aclose(self) -> None:
        await self._transport.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
