"""Operations that clear a scope: cancel the working orders of every account the caller may
act on (``cancelall``), and close a position to place a new order in its stead
(``reverseposition``)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import CancelAllAnswer, CrossTradeError, OrderIdAnswer
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import (
    ACCOUNT_ERRORS,
    AccountPath,
    example,
    reply,
    request_body,
    responses,
)
from ordergate.api.crosstrade.errors import Unsuccessful, render_domain
from ordergate.api.crosstrade.ops import AccountName, Args, Ctx, body_args, operation, run
from ordergate.api.crosstrade.orders import PlaceArgs, place_command
from ordergate.api.crosstrade.views import cancel_answer, not_cancelled
from ordergate.api.crosstrade.wire import CrossTradeJson
from ordergate.api.openapi import DocumentedRoute
from ordergate.domain.commands import CancelOrders
from ordergate.domain.errors import DomainError
from ordergate.engine import compound, queries
from ordergate.engine.brackets import flat_place

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["orders"], route_class=DocumentedRoute)

_ID = "adb3868865de4b59b0e147b8300e4a29"


class CancelAllArgs(Args):
    account: AccountName | None = Field(default=None, description="Only this account")
    instrument: str | None = Field(
        default=None, min_length=1, max_length=32, description="Only this instrument's orders"
    )


@operation("CancelAllOrders", CancelAllArgs)
async def cancel_all(ctx: Ctx, args: CancelAllArgs) -> dict[str, Any]:
    symbol = None if args.instrument is None else await ctx.symbol(args.instrument)
    if args.account is not None:
        accounts = [await ctx.engine.account(ctx.principal, args.account)]
    else:
        accounts = await queries.visible_accounts(ctx.engine, ctx.principal)
        # An empty body touches every account: worth a line in the log whenever it happens.
        log.warning("cancel-all over %d accounts by %s", len(accounts), ctx.principal.actor)
    per_account, order_ids, refused, accepted = [], [], [], 0
    for account in accounts:
        report = await ctx.engine.cancel_orders(
            ctx.principal, CancelOrders(account=account.login, symbol=symbol)
        )
        ids = [a.order_id for a in report.accepted]
        left = not_cancelled(report.failures)
        per_account.append({"account": account.name, "orderIds": ids, "notCancelled": left})
        order_ids += ids
        refused += left
        accepted += report.cancelled
    body = {"orderIds": order_ids, "accounts": per_account}
    return cancel_answer(body, accepted, refused)


@operation("ReversePosition", PlaceArgs)
async def reverse_position(ctx: Ctx, args: PlaceArgs) -> dict[str, Any]:
    symbol = await ctx.symbol(args.instrument)
    account = await ctx.engine.account(ctx.principal, args.account)
    held = await compound.position(ctx.engine, account, symbol)
    if held.side is None:
        text = f"No position found for instrument '{symbol}' in account '{account.name}'"
        raise Unsuccessful({"success": False, "error": text, "code": "POSITION_NOT_FOUND"})
    order = await flat_place(ctx.engine, ctx.principal, await place_command(ctx, args))
    return {"orderId": order.client_id or order.id, "success": True}


_CLOSED = "the market for ES 12-26 is closed: cancels are refused until it opens (Working)"


@router.post(
    "/orders/cancelall",
    summary="Cancel every working order of every account (RPC CancelAllOrders)",
    description=(
        "Cancels the working orders of every account the token may act on, or of the one "
        "`account` named, or only one `instrument`'s (decisions: upstream's page is "
        "unreadable; the filters are flatten-everything's). Each account is one atomic "
        "bulk cancel, reported in `accounts`; `orderIds` and `notCancelled` are their sums, "
        "with the rules of the account cancel: `success` only when `notCancelled` is empty, "
        "200 when at least one cancel was accepted or nothing matched, 400 when orders "
        "matched and none could be cancelled. An empty body touches every account."
    ),
    openapi_extra=request_body(CancelAllArgs, {}, path=()),
    responses=responses(
        CancelAllAnswer,
        {
            "orderIds": [_ID],
            "accounts": [
                {"account": "Sim101", "orderIds": [_ID], "notCancelled": []},
                {"account": "Sim102", "orderIds": [], "notCancelled": []},
            ],
            "notCancelled": [],
            "success": True,
        },
        *ACCOUNT_ERRORS,
        s400=example(
            {
                "orderIds": [],
                "accounts": [
                    {
                        "account": "Sim101",
                        "orderIds": [],
                        "notCancelled": [
                            {"orderId": _ID, "code": "MARKET_CLOSED", "error": _CLOSED}
                        ],
                    }
                ],
                "notCancelled": [{"orderId": _ID, "code": "MARKET_CLOSED", "error": _CLOSED}],
                "success": False,
                "error": "None of the 1 matched order(s) could be cancelled now "
                "(1 MARKET_CLOSED); see notCancelled",
                "code": "MARKET_CLOSED",
            },
            "Orders matched and none could be cancelled now (or an invalid request)",
            model=CancelAllAnswer | CrossTradeError,
        ),
    ),
)
async def cancel_all_route(request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, CancelAllArgs)
    try:
        return reply(await run(ctx, "CancelAllOrders", args))
    except DomainError as exc:  # the account is in the body, not the path: name it in the 404
        status, body = render_domain(exc, args.account)
        return CrossTradeJson(body, status_code=status)


@router.post(
    "/accounts/{account}/positions/reverseposition",
    summary="Close a position and place a new order (RPC ReversePosition)",
    description=(
        "Flattens the account in the instrument (cancels its orders, closes the position) "
        "and, once the position is seen flat, places the order the body describes (the "
        "fields of place). 400 `No position found for instrument '<i>' in account '<a>'` "
        "when flat: nothing is placed. The new order may be on either side (a same-side "
        "action re-enters). Decision: when the close does not fill within the engine's "
        "wait (about 5 s) the new order is **not** placed and the answer says why "
        "(upstream sends it regardless, which can double the exposure)."
    ),
    openapi_extra=request_body(
        PlaceArgs,
        {
            "instrument": "ES 12-26",
            "action": "Sell",
            "quantity": 2,
            "orderType": "Limit",
            "limitPrice": 6010.25,
            "timeInForce": "Day",
        },
    ),
    responses=responses(OrderIdAnswer, {"orderId": _ID, "success": True}, *ACCOUNT_ERRORS),
)
async def reverse_position_route(
    account: AccountPath, request: Request, ctx: CallerDep
) -> Response:
    args = await body_args(request, PlaceArgs, account=account)
    return reply(await run(ctx, "ReversePosition", args))
