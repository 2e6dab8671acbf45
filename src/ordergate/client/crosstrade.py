"""The CrossTrade v1 client: every REST operation of ``/v1/api`` as a method named after its
WebSocket rpc in snake case (``PlaceOrder`` -> ``place_order``), sync and async.

Each operation is written once, in ``CrossTradeOperations``, as the ``Call`` it sends; the
sync client answers the decoded body, the async one a coroutine of it. Bodies are the
server's own (``{"orderId": ..., "success": true}``), numbers in them exact ``Decimal``s. A
refusal raises ``CrossTradeError`` with the answer's ``code``; a bulk cancel that cancelled
some orders but not all answers normally, with the others in ``notCancelled``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from datetime import datetime
from typing import Any, TypeVar

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
from ordergate.client.crosstrade_orders import (
    OrderOperations,
    OrderOptions,
    ReplaceOptions,
    flag,
    query,
)
from ordergate.client.errors import crosstrade_error
from ordergate.client.stream import CrossTradeStream

__all__ = [
    "API_PREFIX",
    "AsyncCrossTradeClient",
    "CrossTradeClient",
    "CrossTradeOperations",
    "OrderOptions",
    "ReplaceOptions",
]

API_PREFIX = "/v1/api"
R = TypeVar("R")


class CrossTradeOperations(OrderOperations[R]):
    """Every CrossTrade operation, as the call it sends; ``_call`` sends it."""

    # accounts
    def list_accounts(self) -> R:
        """The accounts the token may use."""
        return self._call(Call("GET", "/accounts"))

    def get_snapshot(self) -> R:
        """Every usable account with its figures."""
        return self._call(Call("GET", "/accounts/snapshot"))

    def get_account(self, account: str) -> R:
        return self._call(Call("GET", self._account(account)))

    def get_watermarks(self, account: str) -> R:
        return self._call(Call("GET", self._account(account, "/watermarks")))

    # positions
    def get_positions(self, account: str) -> R:
        return self._call(Call("GET", self._account(account, "/positions")))

    def get_all_positions(self, *, include_flat: bool | None = None) -> R:
        return self._call(Call("GET", "/positions", query(includeFlat=flag(include_flat))))

    def get_position(self, account: str, instrument: str) -> R:
        path = self._account(account, "/position")
        return self._call(Call("GET", path, {"instrument": instrument}))

    def close_position(
        self,
        account: str,
        instrument: str,
        *,
        quantity: Number | None = None,
        percent: Number | None = None,
    ) -> R:
        body = {"instrument": instrument, **numbers(quantity=quantity, percent=percent)}
        return self._call(Call("POST", self._account(account, "/positions/close"), body=body))

    def flatten(
        self, account: str, instrument: str | None = None, *, market_position: str | None = None
    ) -> R:
        """Close the account's positions (or one instrument's, or only ``"long"`` ones) and
        cancel their orders; what could not be cancelled is in ``notCancelled``."""
        body = without_none(instrument=instrument, marketPosition=market_position)
        return self._call(Call("POST", self._account(account, "/positions/flatten"), body=body))

    def flatten_everything(
        self,
        account: str | None = None,
        instrument: str | None = None,
        *,
        market_position: str | None = None,
    ) -> R:
        """Flatten every account the token may use (narrowed by the arguments given)."""
        body = without_none(account=account, instrument=instrument, marketPosition=market_position)
        return self._call(Call("POST", "/positions/flatten", body=body or {"all": True}))

    def reverse(self, account: str, instrument: str) -> R:
        """Turn the position in ``instrument`` to the same size the other way."""
        body = {"instrument": instrument}
        return self._call(Call("POST", self._account(account, "/positions/reverse"), body=body))

    # executions, market data, alerts
    def get_executions(self, account: str, *, lookback_time: int | None = None) -> R:
        path = self._account(account, "/executions")
        return self._call(Call("GET", path, query(lookbackTime=lookback_time)))

    def get_execution(self, account: str, execution_id: str) -> R:
        path = self._account(account, f"/executions/{segment(execution_id)}")
        return self._call(Call("GET", path))

    def get_quote(self, instrument: str | Sequence[str], account: str | None = None) -> R:
        """Quotes of one instrument (an object) or several (a list); with ``account``, the
        deprecated per-account quote."""
        names = instrument if isinstance(instrument, str) else ",".join(instrument)
        path = "/market/quote" if account is None else self._account(account, "/quote")
        return self._call(Call("GET", path, {"instrument": names}))

    def get_market_info(self, instrument: str) -> R:
        """The instrument's session (open or not, seconds to the close), bounds and ticks."""
        return self._call(Call("GET", "/market/info", {"instrument": instrument}))

    def get_bars(
        self,
        instrument: str,
        *,
        period_type: str | None = None,
        period: int | None = None,
        days_back: int | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        limit: int | None = None,
    ) -> R:
        body = without_none(
            instrument=instrument,
            periodType=period_type,
            period=period,
            daysBack=days_back,
            limit=limit,
            **{"from": None if start is None else start.isoformat()},
            to=None if end is None else end.isoformat(),
        )
        return self._call(Call("POST", "/market/bars", body=body))

    def get_alerts(
        self, *, since: datetime | None = None, outcome: str | None = None, limit: int | None = None
    ) -> R:
        """The caller's webhook Alert History, newest first."""
        params = query(
            since=None if since is None else since.isoformat(), outcome=outcome, limit=limit
        )
        return self._call(Call("GET", "/alerts", params))

    # risk
    def get_monitor(self, account: str) -> R:
        """The account monitor: settings, state, lock."""
        return self._call(Call("GET", self._account(account, "/monitor")))

    def set_monitor(self, account: str, settings: dict[str, Any]) -> R:
        """Change the monitor's settings (camelCase keys, as the server takes them)."""
        return self._call(Call("PUT", self._account(account, "/monitor"), body=settings))

    def reset_monitor(self, account: str) -> R:
        return self._call(Call("POST", self._account(account, "/monitor/reset"), body={}))

    def get_monitor_log(
        self, account: str, *, since: datetime | None = None, limit: int | None = None
    ) -> R:
        params = query(since=None if since is None else since.isoformat(), limit=limit)
        return self._call(Call("GET", self._account(account, "/monitor/log"), params))

    def set_kill_switch(self, enabled: bool, account: str | None = None) -> R:
        body = without_none(enabled=enabled, account=account)
        return self._call(Call("PUT", "/killswitch", body=body))

    def get_kill_switch(self) -> R:
        return self._call(Call("GET", "/killswitch"))

    def cancel_after(self, account: str, timeout: int) -> R:
        """Arm (or renew; 0 disarms) the account's dead man's switch."""
        path = self._account(account, "/orders/cancelafter")
        return self._call(Call("POST", path, body={"timeout": timeout}))

    def endpoints(self) -> R:
        """The server's catalog of routes with their rpc names (needs no token)."""
        return self._call(Call("GET", "/_endpoints"))


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class CrossTradeClient(CrossTradeOperations[Json], SyncClosing):
    """A blocking CrossTrade client: ``CrossTradeClient("http://127.0.0.1:8000", token)``."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._transport = SyncTransport(
            self.base_url + API_PREFIX, crosstrade_error, timeout=timeout, client=http
        )
        self._auth = _headers(token)

    def _call(self, call: Call) -> Json:
        return self._transport.send(call, self._auth)

    def stream(self, **options: Any) -> CrossTradeStream:
        """The ``/ws/stream`` WebSocket (asyncio): see ``CrossTradeStream``."""
        return CrossTradeStream(self.base_url, self.token, **options)


class AsyncCrossTradeClient(CrossTradeOperations[Awaitable[Json]], AsyncClosing):
    """The asyncio CrossTrade client: the same methods, awaited."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._transport = AsyncTransport(
            self.base_url + API_PREFIX, crosstrade_error, timeout=timeout, client=http
        )
        self._auth = _headers(token)

    def _call(self, call: Call) -> Awaitable[Json]:
        return self._transport.send(call, self._auth)

    def stream(self, **options: Any) -> CrossTradeStream:
        """The ``/ws/stream`` WebSocket: see ``CrossTradeStream``."""
        return CrossTradeStream(self.base_url, self.token, **options)
