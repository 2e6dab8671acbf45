"""The CrossTrade operations that place, change and cancel orders, and read them: the half
of ``CrossTradeOperations`` about orders, with the options a placement takes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypedDict, TypeVar, Unpack

from ordergate.client._http import Call, Number, numbers, segment, without_none

__all__ = ["OrderOperations", "OrderOptions", "ReplaceOptions", "flag", "query"]

R = TypeVar("R")


def flag(value: bool | None) -> str | None:
    return None if value is None else str(value).lower()


def query(**fields: Any) -> dict[str, str]:
    return {k: v if isinstance(v, str) else str(v) for k, v in without_none(**fields).items()}


class ReplaceOptions(TypedDict, total=False):
    """The options of an order that replaces another: ``oco_id``, ``strategy``,
    ``require_market_position`` (``"flat,long"``), ``max_positions``, ``gtd_time`` (Gtd)."""

    oco_id: str
    strategy: str
    require_market_position: str
    max_positions: int
    gtd_time: datetime | str


class OrderOptions(ReplaceOptions, total=False):
    """A placement's options: those of ``ReplaceOptions`` and ``order_id``, your own id for
    the order (read, change and cancel it by that id; a retry with it places nothing)."""

    order_id: str


_OPTION_NAMES = {
    "order_id": "orderId",
    "oco_id": "ocoId",
    "strategy": "strategy",
    "require_market_position": "requireMarketPosition",
    "max_positions": "maxPositions",
    "gtd_time": "gtdTime",
}


def _order_fields(
    instrument: str,
    action: str,
    quantity: Number,
    order_type: str,
    time_in_force: str,
    limit_price: Number | None,
    stop_price: Number | None,
    options: ReplaceOptions,
) -> dict[str, Any]:
    """A placement's body: the order, then its options in CrossTrade's names."""
    named = {_OPTION_NAMES[k]: v for k, v in options.items()}
    gtd = named.get("gtdTime")
    if isinstance(gtd, datetime):
        named["gtdTime"] = gtd.isoformat()
    return {
        "instrument": instrument,
        "action": action,
        "orderType": order_type,
        "timeInForce": time_in_force,
        **numbers(quantity=quantity, limitPrice=limit_price, stopPrice=stop_price),
        **without_none(**named),
    }


class OrderOperations(Generic[R]):
    """Placing, changing, cancelling and reading orders, as the calls they send; ``_call``
    sends one. The placing operations take ``OrderOptions`` as keywords."""

    def _call(self, call: Call) -> R:
        raise NotImplementedError

    def _account(self, account: str, rest: str = "") -> str:
        return f"/accounts/{segment(account)}{rest}"

    def _order(self, account: str, order_id: str, rest: str = "") -> str:
        return self._account(account, f"/orders/{segment(order_id)}{rest}")

    def place_order(
        self,
        account: str,
        instrument: str,
        action: str,
        quantity: Number,
        order_type: str,
        time_in_force: str = "Gtc",
        *,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
        **options: Unpack[OrderOptions],
    ) -> R:
        """Place an order: ``{"orderId": ..., "success": true}``."""
        body = _order_fields(
            instrument,
            action,
            quantity,
            order_type,
            time_in_force,
            limit_price,
            stop_price,
            options,
        )
        return self._call(Call("POST", self._account(account, "/orders/place"), body=body))

    def flat_place_order(
        self,
        account: str,
        instrument: str,
        action: str,
        quantity: Number,
        order_type: str,
        time_in_force: str = "Gtc",
        *,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
        **options: Unpack[OrderOptions],
    ) -> R:
        """Flatten the instrument's position and cancel its orders, then place this order."""
        body = _order_fields(
            instrument,
            action,
            quantity,
            order_type,
            time_in_force,
            limit_price,
            stop_price,
            options,
        )
        return self._call(Call("POST", self._account(account, "/orders/flatplace"), body=body))

    def replace_order(
        self,
        account: str,
        order_id: str,
        instrument: str,
        action: str,
        quantity: Number,
        order_type: str,
        time_in_force: str = "Gtc",
        *,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
        **options: Unpack[ReplaceOptions],
    ) -> R:
        """Cancel ``order_id`` and place this order in its stead."""
        body = _order_fields(
            instrument,
            action,
            quantity,
            order_type,
            time_in_force,
            limit_price,
            stop_price,
            options,
        )
        return self._call(Call("POST", self._order(account, order_id, "/replace"), body=body))

    def change_order(
        self,
        account: str,
        order_id: str,
        *,
        quantity: Number | None = None,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
        strategy_id: str | None = None,
    ) -> R:
        body = {
            **numbers(quantity=quantity, limitPrice=limit_price, stopPrice=stop_price),
            **without_none(strategyId=strategy_id),
        }
        return self._call(Call("PUT", self._order(account, order_id, "/change"), body=body))

    def cancel(self, account: str, order_id: str) -> R:
        """Cancel one order (rpc ``Cancel``)."""
        return self._call(Call("POST", self._order(account, order_id, "/cancel"), body={}))

    def cancel_orders(self, account: str, instrument: str | None = None) -> R:
        """Cancel every working order of ``account``, or only ``instrument``'s: the accepted
        ``orderIds`` and, order by order, the ``notCancelled`` with their codes. Raises
        ``CrossTradeError`` (400) when orders matched and none could be cancelled."""
        body = without_none(instrument=instrument)
        return self._call(Call("POST", self._account(account, "/orders/cancel"), body=body))

    def cancel_all_orders(self, account: str | None = None, instrument: str | None = None) -> R:
        """Cancel every working order of every account the token may use (or one's)."""
        body = without_none(account=account, instrument=instrument)
        return self._call(Call("POST", "/orders/cancelall", body=body))

    def cancel_and_bracket(
        self,
        account: str,
        instrument: str,
        action: str,
        quantity: Number,
        *,
        take_profit: Number | None = None,
        stop_loss: Number | None = None,
        time_in_force: str | None = None,
        oco_id: str | None = None,
        strategy: str | None = None,
    ) -> R:
        body = {
            "instrument": instrument,
            "action": action,
            **numbers(quantity=quantity, takeProfit=take_profit, stopLoss=stop_loss),
            **without_none(timeInForce=time_in_force, ocoId=oco_id, strategy=strategy),
        }
        path = self._account(account, "/orders/cancel_and_bracket")
        return self._call(Call("POST", path, body=body))

    def get_orders(self, account: str) -> R:
        """The account's open orders."""
        return self._call(Call("GET", self._account(account, "/orders")))

    def get_order(self, account: str, order_id: str) -> R:
        return self._call(Call("GET", self._order(account, order_id)))

    def get_order_status(self, account: str, order_id: str) -> R:
        return self._call(Call("GET", self._order(account, order_id, "/status")))

    def get_lifecycle(
        self,
        account: str,
        order_id: str,
        *,
        include_fills: bool | None = None,
        include_raw: bool | None = None,
        limit: int | None = None,
    ) -> R:
        params = query(includeFills=flag(include_fills), includeRaw=flag(include_raw), limit=limit)
        return self._call(Call("GET", self._order(account, order_id, "/lifecycle"), params))

    def close_strategy(self, account: str, strategy_id: str) -> R:
        """ATM strategies are not simulated: always ``REJECTED``."""
        path = self._account(account, f"/strategies/{segment(strategy_id)}/close")
        return self._call(Call("POST", path, body={}))

    def reverse_position(
        self,
        account: str,
        instrument: str,
        action: str,
        quantity: Number,
        order_type: str,
        time_in_force: str = "Gtc",
        *,
        limit_price: Number | None = None,
        stop_price: Number | None = None,
        **options: Unpack[OrderOptions],
    ) -> R:
        """Close the position in ``instrument``, then place the order described."""
        body = _order_fields(
            instrument,
            action,
            quantity,
            order_type,
            time_in_force,
            limit_price,
            stop_price,
            options,
        )
        path = self._account(account, "/positions/reverseposition")
        return self._call(Call("POST", path, body=body))
