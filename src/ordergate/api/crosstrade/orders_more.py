"""Orders, continued: an order's lifecycle, change, replace, flat-place and cancel-and-bracket.

Replace, flat-place and cancel-and-bracket wait for the venue between their steps (see
``engine/brackets.py`` for how each handles the races of a real venue).
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from fastapi import APIRouter
from pydantic import ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import (
    BracketAnswer,
    LifecycleAnswer,
    OrderIdAnswer,
    ReplaceAnswer,
)
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import (
    AccountPath,
    OrderIdPath,
    query_parameters_of,
    reply,
    request_body,
    responses,
)
from ordergate.api.crosstrade.errors import Unsuccessful, order_gone
from ordergate.api.crosstrade.executions import execution_key
from ordergate.api.crosstrade.ops import (
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
from ordergate.api.crosstrade.orders import PlaceArgs, place_command
from ordergate.api.crosstrade.views import not_cancelled
from ordergate.api.crosstrade.wire import (
    ACTION_OUT,
    ACTION_PATTERN,
    ORDER_STATE,
    epoch_ms,
    iso,
    num,
    parse_action,
    parse_tif,
    tif_pattern,
)
from ordergate.api.openapi import DocumentedRoute, at_least_one
from ordergate.domain.commands import ChangeOrder
from ordergate.domain.errors import OrderNotFound
from ordergate.domain.orders import OrderStatus, TimeInForce
from ordergate.engine import queries
from ordergate.engine.brackets import Bracket, cancel_and_bracket, flat_place, replace_order
from ordergate.engine.ports import FillRecord, StateChange

__all__ = ["MAX_LIFECYCLE_LIMIT", "router"]

router = APIRouter(tags=["orders"], route_class=DocumentedRoute)

#: The lifecycle's hard ceiling on entries (CrossTrade's): a larger ``limit`` is capped.
MAX_LIFECYCLE_LIMIT: Final = 2000

_ID = "adb3868865de4b59b0e147b8300e4a29"
_ORDER_PATH = ("account", "orderId")
_ERRORS = (400, 401, 404, 429)
_NEW_ID = "2141df9fc0254ba9b34c8a5e38722249"


# -- lifecycle -------------------------------------------------------------------------------


class LifecycleArgs(Args):
    account: AccountName
    orderId: OrderIdText
    includeFills: bool = Field(default=True, description="Merge the order's fills in")
    includeRaw: bool = Field(
        default=False,
        description="Attach to every entry, as raw, the record it was read from (the "
        "journal's event or fill, every field)",
    )
    limit: int = Field(
        default=200,
        ge=1,
        description=f"Most entries to return, oldest first (capped at {MAX_LIFECYCLE_LIMIT})",
    )


def _raw(entry: StateChange | FillRecord) -> dict[str, Any]:
    """The record behind a lifecycle entry, every field, as stored."""
    out: dict[str, Any] = {}
    for f in fields(entry):
        value = getattr(entry, f.name)
        if isinstance(value, datetime):
            value = iso(value)
        elif isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, Decimal):
            value = num(value)
        out[f.name] = value
    return out


def _entry(entry: StateChange | FillRecord, raw: bool) -> dict[str, Any]:
    out = _entry_fields(entry)
    if raw:
        out["raw"] = _raw(entry)
    return out


def _entry_fields(entry: StateChange | FillRecord) -> dict[str, Any]:
    if isinstance(entry, FillRecord):
        return {
            "type": "fill",
            "time": iso(entry.at),
            "epoch": epoch_ms(entry.at),
            "executionId": execution_key(entry.id),
            "action": ACTION_OUT[entry.side],
            "quantity": num(entry.quantity),
            "price": num(entry.price),
        }
    return {
        "type": "state",
        "time": iso(entry.at),
        "epoch": epoch_ms(entry.at),
        # NT8 orders start Initialized; ours are created straight into Submitted.
        "fromState": "Initialized" if entry.from_status is None else ORDER_STATE[entry.from_status],
        "toState": ORDER_STATE[entry.to_status],
        "reason": entry.reason,
        "actor": entry.actor,
    }


@operation("GetLifecycle", LifecycleArgs)
async def get_lifecycle(ctx: Ctx, args: LifecycleArgs) -> dict[str, Any]:
    order_id = await ctx.order_id(args.account, args.orderId)
    limit = min(args.limit, MAX_LIFECYCLE_LIMIT)
    account, order, timeline = await queries.order_timeline(
        ctx.engine,
        ctx.principal,
        args.account,
        order_id,
        include_fills=args.includeFills,
        limit=limit,
    )
    return {
        "account": account.name,
        "orderId": order.id,
        "originalOrderId": order.client_id,
        "instrument": order.symbol,
        "orderState": ORDER_STATE[order.status],
        "events": [_entry(e, args.includeRaw) for e in timeline.entries],
        "count": len(timeline.entries),
        "limit": limit,
        "truncated": timeline.truncated,
        "success": True,
    }


# -- change ----------------------------------------------------------------------------------


class ChangeArgs(Args):
    model_config = ConfigDict(json_schema_extra=at_least_one("quantity", "limitPrice", "stopPrice"))

    account: AccountName
    orderId: OrderIdText
    quantity: PositiveDecimal | None = Field(default=None, description="New total quantity")
    limitPrice: PositiveDecimal | None = Field(default=None, description="New limit price")
    stopPrice: PositiveDecimal | None = Field(default=None, description="New stop price")
    strategyId: str | None = Field(
        default=None,
        max_length=64,
        description="Change the order only if it belongs to this strategy (ATM strategies "
        "are not simulated: the order's strategy is the `strategy` it was placed with); "
        "else 400 `Order linked to '<id>' does not belong to strategy '<strategyId>'.`",
    )

    @model_validator(mode="after")
    def _something_to_change(self) -> ChangeArgs:
        if self.quantity is None and self.limitPrice is None and self.stopPrice is None:
            raise ValueError("give quantity, limitPrice or stopPrice (one or all)")
        return self


@operation("ChangeOrder", ChangeArgs)
async def change_order(ctx: Ctx, args: ChangeArgs) -> dict[str, Any]:
    order_id = await ctx.order_id(args.account, args.orderId)
    if args.strategyId is not None:
        try:
            _, held = await queries.find_order(ctx.engine, ctx.principal, args.account, order_id)
        except OrderNotFound:
            raise order_gone(args.orderId) from None
        if held.tag != args.strategyId:
            text = (
                f"Order linked to '{args.orderId}' does not belong to strategy '{args.strategyId}'."
            )
            raise Unsuccessful({"success": False, "error": text, "code": "STRATEGY_MISMATCH"})
    try:
        order = await ctx.engine.change(
            ctx.principal,
            ChangeOrder(
                account=args.account,
                order=order_id,
                quantity=args.quantity,
                limit_price=args.limitPrice,
                stop_price=args.stopPrice,
            ),
        )
    except OrderNotFound:
        raise order_gone(args.orderId) from None
    return {"orderId": order.id, "success": True}


# -- replace and flat-place ------------------------------------------------------------------


class ReplaceArgs(PlaceArgs):
    # The path's orderId names the order replaced: the new order takes no id of the
    # caller's here (the name is taken), the other placement fields apply alike.
    orderId: OrderIdText


@operation("ReplaceOrder", ReplaceArgs)
async def replace(ctx: Ctx, args: ReplaceArgs) -> dict[str, Any]:
    old = await ctx.order_id(args.account, args.orderId)
    new = dataclasses.replace(await place_command(ctx, args), client_id=None)
    try:
        order = await replace_order(ctx.engine, ctx.principal, args.account, old, new)
    except OrderNotFound:
        raise order_gone(args.orderId) from None
    return {"orderId": order.id, "replacedOrderId": old, "success": True}


@operation("FlatPlaceOrder", PlaceArgs)
async def flat_place_order(ctx: Ctx, args: PlaceArgs) -> dict[str, Any]:
    order = await flat_place(ctx.engine, ctx.principal, await place_command(ctx, args))
    return {"orderId": order.id, "success": True}


# -- cancel and bracket ----------------------------------------------------------------------


class BracketArgs(Args):
    model_config = ConfigDict(json_schema_extra=at_least_one("takeProfit", "stopLoss"))

    account: AccountName
    instrument: str = Field(min_length=1, max_length=32, examples=["ES 12-26"])
    action: str = Field(
        examples=["Buy"],
        description="Side of the position protected: Buy for a long",
        json_schema_extra={"pattern": ACTION_PATTERN},
    )
    quantity: PositiveDecimal = Field(examples=[1], description="Clamped to the position's size")
    takeProfit: PositiveDecimal | None = Field(
        default=None, description="Price of the take-profit limit"
    )
    stopLoss: PositiveDecimal | None = Field(
        default=None, description="Price of the stop-loss stop"
    )
    timeInForce: str = Field(
        default="Gtc",
        description="Day, Gtc (default)",
        json_schema_extra={"pattern": tif_pattern(TimeInForce.DAY, TimeInForce.GTC)},
    )
    ocoId: str | None = Field(default=None, max_length=64, description="Default: a new one")
    strategy: str | None = Field(default=None, max_length=64, description="A tag of yours")


@operation("CancelAndBracket", BracketArgs)
async def bracket(ctx: Ctx, args: BracketArgs) -> dict[str, Any]:
    cmd = Bracket(
        account=args.account,
        symbol=await ctx.symbol(args.instrument),
        side=parse_action(args.action),
        quantity=args.quantity,
        take_profit=args.takeProfit,
        stop_loss=args.stopLoss,
        tif=parse_tif(args.timeInForce),
        oco=args.ocoId,
        tag=args.strategy,
    )
    report = await cancel_and_bracket(ctx.engine, ctx.principal, cmd)
    legs = [o for o in (report.take_profit, report.stop_loss) if o is not None]
    refused = not_cancelled(report.refused)
    named = {r["orderId"] for r in refused}
    refused += [
        {
            "orderId": o.id,
            # Still cancelling: unconfirmed; back to resting: the venue refused the cancel.
            "code": "CANCEL_PENDING"
            if o.status is OrderStatus.PENDING_CANCEL
            else "VENUE_REJECTED",
            "error": f"still {ORDER_STATE[o.status]} when the bracket was placed",
        }
        for o in report.not_cancelled
        if o.id not in named
    ]
    return {
        "orderIds": [o.id for o in legs],
        "takeProfitOrderId": None if report.take_profit is None else report.take_profit.id,
        "stopLossOrderId": None if report.stop_loss is None else report.stop_loss.id,
        "ocoId": report.oco,
        "quantity": num(report.quantity),
        "cancelledOrderIds": list(report.cancelled),
        "notCancelled": refused,
        # The bracket was placed (else an error was raised): never a 400 here.
        "success": not refused,
    }


# -- routes ----------------------------------------------------------------------------------


@router.get(
    "/accounts/{account}/orders/{orderId}/lifecycle",
    summary="An order's lifecycle",
    description=(
        "Every state transition of the order (NT8 states; the first is from Initialized) "
        "with who made it and why, and (includeFills, default true) each fill just before "
        "the transition it caused. Oldest first, at most limit entries (default 200, capped "
        f"at {MAX_LIFECYCLE_LIMIT}); truncated says whether more exist."
    ),
    openapi_extra=query_parameters_of(LifecycleArgs, _ORDER_PATH),
    responses=responses(
        LifecycleAnswer,
        {
            "account": "Sim101",
            "orderId": _ID,
            "instrument": "ES 12-26",
            "originalOrderId": None,
            "orderState": "Filled",
            "events": [
                {
                    "type": "state",
                    "time": "2026-11-20T15:30:00Z",
                    "epoch": 1795707000000,
                    "fromState": "Initialized",
                    "toState": "Submitted",
                    "reason": "submitted",
                    "actor": "user:demo",
                },
                {
                    "type": "fill",
                    "time": "2026-11-20T15:30:00Z",
                    "epoch": 1795707000000,
                    "executionId": "17",
                    "action": "Buy",
                    "quantity": 1,
                    "price": 6000.25,
                },
                {
                    "type": "state",
                    "time": "2026-11-20T15:30:00Z",
                    "epoch": 1795707000000,
                    "fromState": "Submitted",
                    "toState": "Filled",
                    "reason": "filled 1 @ 6000.25",
                    "actor": "venue",
                },
            ],
            "count": 3,
            "limit": 200,
            "truncated": False,
            "success": True,
        },
        *_ERRORS,
    ),
)
async def lifecycle_route(
    account: AccountPath, orderId: OrderIdPath, request: Request, ctx: CallerDep
) -> Response:
    args = query_args(request, LifecycleArgs, account=account, orderId=orderId)
    return reply(await run(ctx, "GetLifecycle", args))


@router.put(
    "/accounts/{account}/orders/{orderId}/change",
    summary="Change an order",
    description=(
        "Changes the quantity and/or the limit or stop price of a resting order; give at least "
        "one. The venue confirms the change (the order shows ChangePending until then). A "
        "price the order's type does not use is refused."
    ),
    openapi_extra=request_body(ChangeArgs, {"limitPrice": 5985.5}, _ORDER_PATH),
    responses=responses(OrderIdAnswer, {"orderId": _ID, "success": True}, *_ERRORS),
)
async def change_route(
    account: AccountPath, orderId: OrderIdPath, request: Request, ctx: CallerDep
) -> Response:
    args = await body_args(request, ChangeArgs, account=account, orderId=orderId)
    return reply(await run(ctx, "ChangeOrder", args))


_PLACE_EXAMPLE = {
    "instrument": "ES 12-26",
    "action": "Buy",
    "quantity": 1,
    "orderType": "Limit",
    "limitPrice": 5990.25,
    "timeInForce": "Gtc",
}


@router.post(
    "/accounts/{account}/orders/{orderId}/replace",
    summary="Replace an order (cancel, then place a new one)",
    description=(
        "Cancels the order and, once the venue has confirmed the cancel, places the new order "
        "described by the body (the same fields as place); answers the new order's id. The "
        "two are never working together: if the order fills before the cancel, the venue "
        "refuses the cancel, or the cancel is not confirmed in time, nothing is placed and "
        "the error says which. A malformed body changes nothing."
    ),
    openapi_extra=request_body(ReplaceArgs, _PLACE_EXAMPLE, _ORDER_PATH),
    responses=responses(
        ReplaceAnswer, {"orderId": _NEW_ID, "replacedOrderId": _ID, "success": True}, *_ERRORS
    ),
)
async def replace_route(
    account: AccountPath, orderId: OrderIdPath, request: Request, ctx: CallerDep
) -> Response:
    args = await body_args(request, ReplaceArgs, account=account, orderId=orderId)
    return reply(await run(ctx, "ReplaceOrder", args))


@router.post(
    "/accounts/{account}/orders/flatplace",
    summary="Flatten the instrument, then place an order",
    description=(
        "Cancels the account's orders in the instrument and closes its position there, then "
        "places the order (whether or not a position existed). The order is placed only once "
        "the position is seen flat; if it cannot be closed, nothing is placed."
    ),
    openapi_extra=request_body(PlaceArgs, {**_PLACE_EXAMPLE, "orderType": "Market"}),
    responses=responses(OrderIdAnswer, {"orderId": _ID, "success": True}, *_ERRORS),
)
async def flat_place_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, PlaceArgs, account=account)
    return reply(await run(ctx, "FlatPlaceOrder", args))


@router.post(
    "/accounts/{account}/orders/cancel_and_bracket",
    summary="Cancel the instrument's orders, then bracket the position",
    description=(
        "Cancels every order of the account in the instrument, then places a take-profit "
        "limit and a stop-loss stop on the other side of the position (action is the side "
        "of the position protected), as one OCO group; give takeProfit, stopLoss or both. "
        "The bracket goes out as soon as the venue has answered the cancels; the quantity is "
        "clamped to the position; if the position went flat meanwhile nothing is placed; "
        "with no position the bracket is an entry. notCancelled lists the instrument's "
        "orders that were not gone when the bracket was placed, each with a code "
        "(MARKET_CLOSED, ORDER_LOCKED, VENUE_REJECTED: the venue refused the cancel, "
        "CANCEL_PENDING: not yet confirmed) and a one-line error; success is true only "
        "when it is empty. The bracket was placed whenever the answer is 200."
    ),
    openapi_extra=request_body(
        BracketArgs,
        {
            "instrument": "ES 12-26",
            "action": "Buy",
            "quantity": 1,
            "takeProfit": 6050,
            "stopLoss": 5950,
        },
    ),
    responses=responses(
        BracketAnswer,
        {
            "orderIds": [_NEW_ID, _ID],
            "takeProfitOrderId": _NEW_ID,
            "stopLossOrderId": _ID,
            "ocoId": "bracket-5f0c2d6e9a4b4d7c8e1f2a3b4c5d6e7f",
            "quantity": 1,
            "cancelledOrderIds": ["16f6774e302748ce962f2d60b58b2eb1"],
            "notCancelled": [],
            "success": True,
        },
        *_ERRORS,
    ),
)
async def bracket_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, BracketArgs, account=account)
    return reply(await run(ctx, "CancelAndBracket", args))
