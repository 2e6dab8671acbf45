"""CrossTrade routes kept for old scripts, and those of NT8 features ordergate does not simulate.

- ``GET /accounts/{account}/quote``: the deprecated per-account quote, ``GetQuote`` with an
  ``account`` (quotes.py builds both forms).
- ``POST /accounts/{account}/strategies/{strategyId}/close`` (``CloseStrategy``): ATM
  strategies are NT8 order templates run by the platform; the simulated exchange has none, so
  closing one is refused with a 400 that says so, once the account has been checked like any
  other path's (404 for one the caller may not use). Nothing is changed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import LegacyQuote, LegacyQuotes, StrategyClosed
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import (
    AccountPath,
    example,
    path_parameter,
    query_parameters_of,
    reply,
    request_body,
    responses,
)
from ordergate.api.crosstrade.ops import (
    AccountName,
    Args,
    Ctx,
    body_args,
    operation,
    query_args,
    run,
)
from ordergate.api.crosstrade.quotes import MAX_QUOTES, QuoteArgs
from ordergate.api.openapi import DocumentedRoute
from ordergate.domain.errors import Rejected

__all__ = ["NOT_SIMULATED", "router"]

router = APIRouter(tags=["legacy"], route_class=DocumentedRoute)

#: The refusal of every CloseStrategy (``{strategy}`` and ``{account}`` filled in).
NOT_SIMULATED = (
    "ATM strategies are not simulated: account {account} has no strategy '{strategy}' to "
    "close. Close the position (positions/close) or flatten the account (positions/flatten) "
    "instead."
)

StrategyIdText = Annotated[
    str, Field(min_length=1, max_length=64, description="The ATM strategy's id in NT8")
]


class CloseStrategyArgs(Args):
    account: AccountName
    strategyId: StrategyIdText


@operation("CloseStrategy", CloseStrategyArgs)
async def close_strategy(ctx: Ctx, args: CloseStrategyArgs) -> dict[str, Any]:
    account = await ctx.engine.account(ctx.principal, args.account)
    raise Rejected(NOT_SIMULATED.format(account=account.name, strategy=args.strategyId))


_LEGACY_QUOTE = {
    "instrument": "NQ 03-26",
    "description": "Nasdaq-100 E-mini",
    "type": "Future",
    "bid": 21450.0,
    "ask": 21450.25,
    "last": 21450.25,
    "open": 21390.5,
    "high": 21475.0,
    "low": 21372.75,
    "close": 21401.0,
    "volume": 184233,
    "tickSize": 0.25,
    "pointValue": 20,
    "exchange": "Globex",
    "expiration": "3/1/2026 12:00:00 AM",
    "tradingHours": "CME US Index Futures ETH",
    "quoteTime": "1/14/2026 2:31:07 PM",
    "success": True,
}


@router.get(
    "/accounts/{account}/quote",
    operation_id="GetAccountQuote",
    summary="Quotes of one or more instruments (deprecated per-account form)",
    deprecated=True,
    description=(
        "CrossTrade's quote before GET /v1/api/market/quote, kept for old scripts; new ones "
        "should use that. The account must be one the caller may use (404 otherwise) and "
        "changes nothing in the quote. One instrument: a flat object with success. Several "
        f'(a comma-separated list of up to {MAX_QUOTES}): {{"quotes": [...], "success": '
        "true}, in the order asked (CrossTrade leaves this shape undocumented; this is "
        "ordergate's choice). expiration (a dated future's contract month, dated on its 1st "
        "as NT8 does; null for an instrument without one) and quoteTime are US-locale "
        "date-times, M/D/YYYY h:mm:ss AM, and quoteTime is in UTC (CrossTrade does not say "
        "which zone; ordergate's choice). type, exchange and tradingHours are NT8's names "
        "for the instrument. An instrument not quoted yet has null prices and quoteTime. "
        "WebSocket: GetQuote with {account, instrument}."
    ),
    openapi_extra=query_parameters_of(QuoteArgs, ("account",)),
    responses=responses(LegacyQuote | LegacyQuotes, _LEGACY_QUOTE, 400, 401, 404, 429),
)
async def legacy_quote_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetQuote", query_args(request, QuoteArgs, account=account)))


@router.post(
    "/accounts/{account}/strategies/{strategyId}/close",
    summary="Close an ATM strategy (not simulated: refused)",
    description=(
        "CrossTrade closes an NT8 ATM strategy with its position and working orders. "
        "ordergate's exchange runs no ATM strategies, so every call is refused with 400 "
        "(code REJECTED) saying so, and nothing is changed; close the position "
        "(POST …/positions/close) or flatten the account (POST …/positions/flatten) "
        "instead. The account is checked first: one the caller may not use is 404, as on "
        "every route. The body is {} (fields in it are ignored). WebSocket: CloseStrategy with "
        "{account, strategyId}."
    ),
    openapi_extra=request_body(CloseStrategyArgs, {}, ("account", "strategyId")),
    responses=responses(
        StrategyClosed,
        {"strategyId": "ATM_1234567890", "success": True},
        401,
        404,
        429,
        s200=example(
            {"strategyId": "ATM_1234567890", "success": True},
            "CrossTrade's answer when a strategy closes; ordergate never sends it",
            model=StrategyClosed,
        ),
        s400=example(
            {
                "success": False,
                "error": NOT_SIMULATED.format(account="Sim101", strategy="ATM_1234567890"),
                "code": "REJECTED",
            },
            "Always: ATM strategies are not simulated (or an invalid request: "
            '{"error": "Invalid request", ...})',
        ),
    ),
)
async def close_strategy_route(
    account: AccountPath,
    strategyId: Annotated[str, path_parameter(StrategyIdText)],
    request: Request,
    ctx: CallerDep,
) -> Response:
    args = await body_args(request, CloseStrategyArgs, account=account, strategyId=strategyId)
    return reply(await run(ctx, "CloseStrategy", args))
