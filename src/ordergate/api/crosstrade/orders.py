"""Orders: list, get, place, cancel one and cancel by account and instrument (the seed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field, field_validator
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import (
    CancelOrdersAnswer,
    CrossTradeError,
    OrderAnswer,
    OrderIdAnswer,
    OrdersAnswer,
    OrderStatusAnswer,
)
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import (
    ACCOUNT_ERRORS,
    AccountPath,
    OrderIdPath,
    example,
    reply,
    request_body,
    responses,
)
from ordergate.api.crosstrade.errors import Unsuccessful, order_gone
from ordergate.api.crosstrade.ops import (
    CLIENT_ID_PATTERN,
    AccountName,
    Args,
    Ctx,
    OrderIdText,
    PositiveDecimal,
    body_args,
    operation,
    query_args,
    run,
)
from ordergate.api.crosstrade.views import cancel_answer, not_cancelled, order_out
from ordergate.api.crosstrade.wire import (
    ACTION_PATTERN,
    ORDER_STATE,
    order_type_pattern,
    parse_action,
    parse_order_type,
    parse_tif,
    tif_pattern,
)
from ordergate.api.openapi import SPACE, DocumentedRoute, absent, any_case, given, when
from ordergate.domain.commands import CancelOrder, CancelOrders, PlaceOrder
from ordergate.domain.errors import (
    AlreadyPendingCancel,
    InvalidInput,
    OrderNotCancellable,
    OrderNotFound,
)
from ordergate.domain.orders import OrderType, TimeInForce
from ordergate.engine import queries

__all__ = ["router"]

router = APIRouter(tags=["orders"], route_class=DocumentedRoute)


class CancelOrdersArgs(Args):
    account: AccountName
    instrument: str | None = Field(
        default=None, min_length=1, max_length=32, description="Only this instrument's orders"
    )


@operation("CancelOrders", CancelOrdersArgs)
async def cancel_orders(ctx: Ctx, args: CancelOrdersArgs) -> dict[str, Any]:
    symbol = None if args.instrument is None else await ctx.symbol(args.instrument)
    report = await ctx.engine.cancel_orders(
        ctx.principal, CancelOrders(account=args.account, symbol=symbol)
    )
    body = {"orderIds": [a.order_id for a in report.accepted]}
    return cancel_answer(body, report.cancelled, not_cancelled(report.failures))


class OrderArgs(Args):
    account: AccountName
    orderId: OrderIdText


@operation("Cancel", OrderArgs)
async def cancel_order(ctx: Ctx, args: OrderArgs) -> dict[str, Any]:
    order_id = await ctx.order_id(args.account, args.orderId)
    try:
        order = await ctx.engine.cancel(
            ctx.principal, CancelOrder(account=args.account, order=order_id)
        )
    except AlreadyPendingCancel:
        raise
    except (OrderNotFound, OrderNotCancellable):
        raise order_gone(args.orderId) from None
    return {"orderId": order.id, "success": True}


_LIMITED = order_type_pattern(OrderType.LIMIT, OrderType.STOP_LIMIT)
_STOPPED = order_type_pattern(OrderType.STOP, OrderType.STOP_LIMIT)
_GTD = tif_pattern(TimeInForce.GTD)


_POSITION_WORDS = ("flat", "long", "short")
_WORD = any_case(*_POSITION_WORDS)[1:-1]  # unanchored: one of the words, any case
_POSITIONS_PATTERN = f"^[{SPACE}]*{_WORD}[{SPACE}]*(?:,[{SPACE}]*{_WORD}[{SPACE}]*)*$"


def _positions(raw: str | None) -> frozenset[str] | None:
    if raw is None:
        return None
    return frozenset(w.strip().casefold() for w in raw.split(","))


def _positions_text(raw: str | None) -> str | None:
    """``requireMarketPosition`` checked: any case, spaces around the words allowed."""
    if raw is not None and not frozenset(_POSITION_WORDS).issuperset(_positions(raw) or ()):
        raise ValueError("requireMarketPosition is a comma-separated list of flat, long, short")
    return raw


class PlaceArgs(Args):
    # What the order's type and time in force need, as the domain checks them: a limit
    # price for a limit, a stop price for a stop, gtdTime for (and only for) a Gtd order,
    # which a market order cannot be.
    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                when("orderType", {"pattern": _LIMITED}, given("limitPrice")),
                when("orderType", {"pattern": _STOPPED}, given("stopPrice")),
                when(
                    "orderType",
                    {"pattern": order_type_pattern(OrderType.MARKET)},
                    {"properties": {"timeInForce": {"not": {"pattern": _GTD}}}},
                ),
                when("timeInForce", {"pattern": _GTD}, given("gtdTime"), absent("gtdTime")),
            ]
        }
    )

    account: AccountName
    instrument: str = Field(min_length=1, max_length=32, examples=["ES 12-26"])
    action: str = Field(
        examples=["Buy"],
        description="Buy or Sell (any case)",
        json_schema_extra={"pattern": ACTION_PATTERN},
    )
    quantity: PositiveDecimal = Field(examples=[1])
    orderType: str = Field(
        examples=["Limit"],
        description="Market, Limit, StopMarket, StopLimit",
        json_schema_extra={"pattern": order_type_pattern()},
    )
    timeInForce: str = Field(
        examples=["Gtc"],
        description="Day, Gtc or Gtd",
        json_schema_extra={"pattern": tif_pattern()},
    )
    limitPrice: PositiveDecimal | None = None
    stopPrice: PositiveDecimal | None = None
    ocoId: str | None = Field(default=None, max_length=64)
    strategy: str | None = Field(default=None, max_length=64, description="A tag of yours")
    orderId: str | None = Field(
        default=None,
        description="Your own id for the order (1-64 of A-Z a-z 0-9 _ . : -): the order can "
        "be read, changed and cancelled by it for its whole life, and a placement retried "
        "with the same orderId on the same account places nothing and answers the order "
        "the first one placed. The answer echoes it.",
        pattern=CLIENT_ID_PATTERN,
    )
    requireMarketPosition: str | None = Field(
        default=None,
        description="Comma-separated flat, long, short (any case): the account's position "
        "in the instrument must be one of them, else 400 POSITION_REQUIREMENT_NOT_MET and "
        "nothing is placed. Checked in the engine's one writer, so two orders cannot both "
        "pass on one position.",
        json_schema_extra={"pattern": _POSITIONS_PATTERN},
    )
    _require = field_validator("requireMarketPosition")(_positions_text)
    maxPositions: int | None = Field(
        default=None,
        ge=1,
        description="Refuse (400 MAX_POSITIONS_REACHED) an order that would open a position "
        "(its instrument is flat) while the account holds this many; never checked when "
        "the instrument already has a position.",
    )
    gtdTime: str | None = Field(
        default=None,
        description="Expiry of a Gtd order (ISO 8601, with its time zone), in the future",
        json_schema_extra={"format": "date-time"},
    )


async def place_command(ctx: Ctx, args: PlaceArgs) -> PlaceOrder:
    kind = parse_order_type(args.orderType)
    expires = None
    if args.gtdTime is not None:
        try:
            expires = datetime.fromisoformat(args.gtdTime.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput("gtdTime must be an ISO 8601 time") from None
        if expires.tzinfo is None:
            raise InvalidInput("gtdTime must carry a time zone (e.g. Z)")
    # NT8 ignores a price that an order type does not use; so do we, rather than refuse it.
    return PlaceOrder(
        account=args.account,
        symbol=await ctx.symbol(args.instrument),
        side=parse_action(args.action),
        type=kind,
        quantity=args.quantity,
        limit_price=args.limitPrice if kind in (OrderType.LIMIT, OrderType.STOP_LIMIT) else None,
        stop_price=args.stopPrice if kind in (OrderType.STOP, OrderType.STOP_LIMIT) else None,
        tif=parse_tif(args.timeInForce),
        expires_at=expires,
        oco=args.ocoId,
        tag=args.strategy,
        client_id=args.orderId,
        require_position=_positions(args.requireMarketPosition),
        max_positions=args.maxPositions,
    )


@operation("PlaceOrder", PlaceArgs)
async def place_order(ctx: Ctx, args: PlaceArgs) -> dict[str, Any]:
    order = await ctx.engine.place(ctx.principal, await place_command(ctx, args))
    # The caller's own id is the handle it holds: echoed (GET shows both).
    return {"orderId": order.client_id or order.id, "success": True}


class AccountArgs(Args):
    account: AccountName


@operation("GetOrders", AccountArgs)
async def list_orders(ctx: Ctx, args: AccountArgs) -> dict[str, Any]:
    account, orders = await queries.find_open_orders(ctx.engine, ctx.principal, args.account)
    return {"orders": [order_out(o, account.name) for o in orders], "success": True}


@operation("GetOrder", OrderArgs)
async def get_order(ctx: Ctx, args: OrderArgs) -> dict[str, Any]:
    order_id = await ctx.order_id(args.account, args.orderId)
    account, order = await queries.find_order(ctx.engine, ctx.principal, args.account, order_id)
    return {**order_out(order, account.name), "success": True}


@operation("GetOrderStatus", OrderArgs)
async def get_order_status(ctx: Ctx, args: OrderArgs) -> dict[str, Any]:
    order_id = await ctx.order_id(args.account, args.orderId)
    try:
        _, order = await queries.find_order(ctx.engine, ctx.principal, args.account, order_id)
    except OrderNotFound:  # a legacy route: upstream's one refusal (a decision: silent there)
        body = {"success": False, "error": "Invalid request", "code": "ORDER_NOT_FOUND"}
        raise Unsuccessful(body) from None
    return {"status": ORDER_STATE[order.status], "success": True}


_ORDER_ID = "adb3868865de4b59b0e147b8300e4a29"
_ORDER = {
    "account": "Sim101",
    "orderId": _ORDER_ID,
    "instrument": "ES 12-26",
    "instrumentType": "Future",
    "action": "Buy",
    "orderType": "Limit",
    "orderState": "Working",
    "quantity": 1,
    "filled": 0,
    "remaining": 1,
    "averageFillPrice": 0,
    "limitPrice": 5990.25,
    "stopPrice": 0,
    "timeInForce": "Gtc",
    "gtd": None,
    "oco": "",
    "name": "",
    "time": "2026-11-20T15:30:00Z",
    "epoch": 1795707000000,
    "updated": "2026-11-20T15:30:00Z",
}
_CANCEL_EXAMPLE = {
    "orderIds": [_ORDER_ID, "2141df9fc0254ba9b34c8a5e38722249"],
    "notCancelled": [],
    "success": True,
}
_CLOSED_LINE = "the market for ES 12-26 is closed: cancels are refused until it opens (Working)"
_NONE_CANCELLED = {
    "orderIds": [],
    "notCancelled": [
        {"orderId": _ORDER_ID, "code": "MARKET_CLOSED", "error": _CLOSED_LINE},
        {
            "orderId": "2141df9fc0254ba9b34c8a5e38722249",
            "code": "MARKET_CLOSED",
            "error": _CLOSED_LINE,
        },
    ],
    "success": False,
    "error": "None of the 2 matched order(s) could be cancelled now (2 MARKET_CLOSED); "
    "see notCancelled",
    "code": "MARKET_CLOSED",
}


@router.post(
    "/accounts/{account}/orders/cancel",
    summary="Cancel orders by account and/or instrument",
    description=(
        "Cancels every working order of the account, or only the given instrument's (an NT8 "
        "name such as `ES 12-26`, or `ES`, `ES1!`, `ESZ26`), in one step. `orderIds` are the "
        "orders whose cancel was accepted (the venue confirms each later). **No refusal is "
        "hidden**: every matched order that could not be cancelled now is in `notCancelled` "
        "with a `code` (`MARKET_CLOSED`: the session is closed; `ORDER_LOCKED`: the venue is "
        "still processing it; `ALREADY_PENDING_CANCEL`; `VENUE_REJECTED`) and a one-line "
        "`error`; it is `[]` when none. `success` is true only when `notCancelled` is "
        "empty. 200 when at least one cancel was accepted or nothing matched (then "
        "`orderIds` is `[]`); 400 when orders matched and none could be cancelled, with "
        "`error` saying how many and why (and `code`: their one code, else NOT_CANCELLED). "
        "Decision (upstream is silent on refusals): the seed's 200 body, plus these lists."
    ),
    openapi_extra=request_body(CancelOrdersArgs, {"instrument": "ES 12-26"}),
    responses=responses(
        CancelOrdersAnswer,
        _CANCEL_EXAMPLE,
        *ACCOUNT_ERRORS,
        s400=example(
            _NONE_CANCELLED,
            "Orders matched and none could be cancelled now (or an invalid request)",
            model=CancelOrdersAnswer | CrossTradeError,
        ),
    ),
)
async def cancel_orders_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(
        await run(ctx, "CancelOrders", await body_args(request, CancelOrdersArgs, account=account))
    )


@router.get(
    "/accounts/{account}/orders/{orderId}/status",
    summary="One order's state (RPC GetOrderStatus)",
    description=(
        "Only the order's NT8 OrderState (`Working`, `Accepted`, `PartFilled`, `Filled`, "
        "`Cancelled`, …), by its id or the orderId given at placement, for its whole life. "
        "An unknown order is upstream's legacy 400 `Invalid request` (a decision: upstream "
        "is silent)."
    ),
    responses=responses(OrderStatusAnswer, {"status": "Working", "success": True}, *ACCOUNT_ERRORS),
)
async def order_status_route(
    account: AccountPath, orderId: OrderIdPath, request: Request, ctx: CallerDep
) -> Response:
    args = query_args(request, OrderArgs, account=account, orderId=orderId)
    return reply(await run(ctx, "GetOrderStatus", args))


@router.post(
    "/accounts/{account}/orders/{orderId}/cancel",
    summary="Cancel one order",
    description="Asks the venue to cancel one working order; the venue confirms later.",
    openapi_extra=request_body(OrderArgs, {}, ("account", "orderId")),
    responses=responses(OrderIdAnswer, {"orderId": _ORDER_ID, "success": True}, *ACCOUNT_ERRORS),
)
async def cancel_order_route(
    account: AccountPath,
    orderId: OrderIdPath,
    request: Request,
    ctx: CallerDep,
) -> Response:
    args = await body_args(request, OrderArgs, account=account, orderId=orderId)
    return reply(await run(ctx, "Cancel", args))


@router.post(
    "/accounts/{account}/orders/place",
    summary="Place an order",
    description=(
        "Market, Limit, StopMarket or StopLimit; Day, Gtc or Gtd (with gtdTime). Enums in any "
        "case. The order is submitted: its state follows through GET …/orders/{orderId}."
    ),
    openapi_extra=request_body(
        PlaceArgs,
        {
            "instrument": "ES 12-26",
            "action": "Buy",
            "quantity": 1,
            "orderType": "Limit",
            "limitPrice": 5990.25,
            "timeInForce": "Gtc",
        },
    ),
    responses=responses(OrderIdAnswer, {"orderId": _ORDER_ID, "success": True}, *ACCOUNT_ERRORS),
)
async def place_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "PlaceOrder", await body_args(request, PlaceArgs, account=account)))


@router.get(
    "/accounts/{account}/orders",
    summary="The account's open orders",
    description="Every order of the account that is not yet filled, cancelled or rejected.",
    responses=responses(OrdersAnswer, {"orders": [_ORDER], "success": True}, *ACCOUNT_ERRORS),
)
async def list_orders_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetOrders", query_args(request, AccountArgs, account=account)))


@router.get(
    "/accounts/{account}/orders/{orderId}",
    summary="One order",
    description="The order with its state in NT8 terms (Working, PartFilled, CancelPending…).",
    responses=responses(OrderAnswer, {**_ORDER, "success": True}, *ACCOUNT_ERRORS),
)
async def get_order_route(
    account: AccountPath,
    orderId: OrderIdPath,
    request: Request,
    ctx: CallerDep,
) -> Response:
    args = query_args(request, OrderArgs, account=account, orderId=orderId)
    return reply(await run(ctx, "GetOrder", args))
