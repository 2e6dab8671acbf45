"""Positions: the net position per instrument, close, flatten (one account or many), reverse.

A CrossTrade position is the net of the account's open tickets in one instrument (Long,
Short or Flat). Flatten cancels orders **and** closes positions, and says so when it could not
do all of it: an order the venue is still processing cannot be cancelled yet, and a flatten
that left it resting answers ``success: false`` with the order listed, never "flat" (400
when it could do nothing at all).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import (
    AllPositionsAnswer,
    ClosePositionAnswer,
    CrossTradeError,
    FlattenAnswer,
    OrderIdAnswer,
    PositionAnswer,
    PositionsAnswer,
)
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import (
    ACCOUNT_ERRORS,
    AccountPath,
    example,
    query_parameters,
    query_parameters_of,
    reply,
    request_body,
    responses,
)
from ordergate.api.crosstrade.errors import Unsuccessful, render_domain
from ordergate.api.crosstrade.ops import (
    AccountName,
    Args,
    Ctx,
    PositiveDecimal,
    body_args,
    operation,
    query_args,
    run,
)
from ordergate.api.crosstrade.views import cancel_answer, instrument_type
from ordergate.api.crosstrade.wire import CrossTradeJson, num
from ordergate.api.openapi import DocumentedRoute, any_case, decimal_schema, given
from ordergate.domain.accounts import Account
from ordergate.domain.errors import DomainError
from ordergate.domain.orders import Side
from ordergate.engine import queries
from ordergate.engine.compound import (
    ClosedPosition,
    FlattenOutcome,
    NetPosition,
    close_net,
    flatten,
    position,
    positions,
    reverse,
)

__all__ = [
    "MARKET_POSITION",
    "position_out",
    "query_parameters",
    "reply",
    "request_body",
    "responses",
    "router",
    "visible_accounts",
]

router = APIRouter(tags=["positions"], route_class=DocumentedRoute)

MARKET_POSITION = {Side.BUY: "Long", Side.SELL: "Short", None: "Flat"}
_SIDES = {"long": Side.BUY, "short": Side.SELL}
#: The marketPosition names ``_side`` takes, as a pattern (any case).
_SIDE_PATTERN = any_case(*_SIDES)

#: A part of a whole, in (0, 1].
Fraction = Annotated[Decimal, WithJsonSchema(decimal_schema(exclusive_minimum=0, maximum=1))]
Instrument = Field(
    min_length=1,
    max_length=32,
    description="NT8 name or alias (ES 12-26, ES, ES1!, ESZ26)",
    examples=["ES 12-26"],
)


def position_out(position: NetPosition, account: str) -> dict[str, Any]:
    """A net position as CrossTrade shows it. ``marketPrice`` is where it closes now (bid
    for a long, ask for a short, mid when flat), null while the instrument has no quote."""
    return {
        "account": account,
        "instrument": position.symbol,
        "instrumentType": instrument_type(position.symbol),
        "marketPosition": MARKET_POSITION[position.side],
        "quantity": num(position.quantity),
        "averagePrice": num(position.average_price) or 0,
        "marketPrice": num(position.market_price),
        "unrealizedProfitLoss": num(position.unrealized_pnl),
    }


async def visible_accounts(ctx: Ctx) -> list[Account]:
    """Every account the caller may act on, by login."""
    return await queries.visible_accounts(ctx.engine, ctx.principal)


async def _account(ctx: Ctx, ref: str) -> Account:
    return await ctx.engine.account(ctx.principal, ref)


class AccountArgs(Args):
    account: AccountName


@operation("GetPositions", AccountArgs)
async def get_positions(ctx: Ctx, args: AccountArgs) -> dict[str, Any]:
    account = await _account(ctx, args.account)
    held = await positions(ctx.engine, account)
    return {"positions": [position_out(p, account.name) for p in held], "success": True}


class AllPositionsArgs(Args):
    includeFlat: bool = Field(
        default=False, description="Also list instruments traded before and now flat"
    )


@operation("GetAllPositions", AllPositionsArgs)
async def get_all_positions(ctx: Ctx, args: AllPositionsArgs) -> dict[str, Any]:
    out: list[dict[str, Any]] = []
    for account in await visible_accounts(ctx):
        held = await positions(ctx.engine, account, include_flat=args.includeFlat)
        out.extend(
            position_out(p, account.name)
            for p in held
            if args.includeFlat or p.tickets  # a hedged flat still holds tickets: shown
        )
    return {"positions": out, "count": len(out), "success": True}


class PositionArgs(Args):
    account: AccountName
    instrument: str = Instrument


@operation("GetPosition", PositionArgs)
async def get_position(ctx: Ctx, args: PositionArgs) -> dict[str, Any]:
    symbol = await ctx.symbol(args.instrument)
    account = await _account(ctx, args.account)
    found = await position(ctx.engine, account, symbol)
    return {**position_out(found, account.name), "success": True}


class CloseArgs(Args):
    account: AccountName
    instrument: str = Instrument
    quantity: PositiveDecimal | None = Field(
        default=None, gt=0, description="Contracts to close (capped at the position)"
    )
    percent: Fraction | None = Field(
        default=None,
        gt=0,
        le=1,
        description="Fraction of the position to close (0.5 = 50%), rounded up to the lot "
        "step; used only without quantity",
    )


def _closed_out(closed: list[ClosedPosition], names: dict[int, str]) -> list[dict[str, Any]]:
    return [position_out(c.position, names[c.position.login]) for c in closed]


@operation("ClosePosition", CloseArgs)
async def close_position(ctx: Ctx, args: CloseArgs) -> dict[str, Any]:
    symbol = await ctx.symbol(args.instrument)
    account = await _account(ctx, args.account)
    closed = await close_net(
        ctx.engine,
        ctx.principal,
        account,
        symbol,
        quantity=args.quantity,
        fraction=None if args.quantity is not None else args.percent,
    )
    return {
        "closedPositions": _closed_out([closed], {account.login: account.name}),
        "closingOrderIds": list(closed.orders),
        "success": True,
    }


def _side(raw: str | None) -> str | None:
    if raw is None:
        return None
    key = raw.casefold()
    if key not in _SIDES:
        raise ValueError("marketPosition must be long or short")
    return key


class FlattenArgs(Args):
    account: AccountName
    instrument: str | None = Field(
        default=None, min_length=1, max_length=32, description="Only this instrument"
    )
    marketPosition: str | None = Field(
        default=None,
        description="Only long or only short positions (and their orders)",
        json_schema_extra={"pattern": _SIDE_PATTERN},
    )

    _market_position = field_validator("marketPosition")(_side)


def _outcome_out(outcome: FlattenOutcome, names: dict[int, str]) -> dict[str, Any]:
    """A flatten's answer: what it cancelled and closed, ``notCancelled`` for the orders it
    could not cancel now and ``failed`` for everything it could not do (those orders and
    the positions it could not close). 200 when it did something or nothing matched, 400
    (``Unsuccessful``) when things matched and it could do none of them."""
    body: dict[str, Any] = {
        "orderIds": list(outcome.cancelling),
        "closedPositions": _closed_out(outcome.closed, names),
        "closingOrderIds": [o for c in outcome.closed for o in c.orders],
        "failed": [
            {
                "account": names[f.login],
                "instrument": f.symbol,
                "orderId": f.order_id,
                "code": f.code,
                "message": f.message,
            }
            for f in outcome.failures
        ],
    }
    refused = [
        {"orderId": f.order_id, "code": f.code, "error": f.message}
        for f in outcome.failures
        if f.order_id is not None
    ]
    done = len(outcome.cancelling) + len(outcome.closed)
    if outcome.complete:
        return cancel_answer(body, done, refused)
    body["error"] = (
        f"Flatten incomplete: {len(outcome.failures)} order(s) or position(s) could not "
        "be cancelled or closed now; see failed, and retry"
    )
    body["code"] = "FLATTEN_INCOMPLETE"
    if not done:
        raise Unsuccessful({**body, "notCancelled": refused, "success": False}, 400)
    return {**body, "notCancelled": refused, "success": False}


@operation("Flatten", FlattenArgs)
async def flatten_account(ctx: Ctx, args: FlattenArgs) -> dict[str, Any]:
    symbol = None if args.instrument is None else await ctx.symbol(args.instrument)
    account = await _account(ctx, args.account)
    side = None if args.marketPosition is None else _SIDES[args.marketPosition]
    outcome = await flatten(ctx.engine, ctx.principal, account, symbol=symbol, side=side)
    return _outcome_out(outcome, {account.login: account.name})


class FlattenEverythingArgs(Args):
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                given("account"),
                given("instrument"),
                given("marketPosition"),
                given("all", {"const": True}),
            ]
        }
    )

    account: AccountName | None = Field(default=None, description="Only this account")
    instrument: str | None = Field(
        default=None, min_length=1, max_length=32, description="Only this instrument"
    )
    marketPosition: str | None = Field(
        default=None,
        description="Only long or only short positions (and their orders)",
        json_schema_extra={"pattern": _SIDE_PATTERN},
    )
    all: bool = Field(
        default=False,
        strict=True,
        description="true: flatten every account the token may act on (needed when no "
        "filter is given)",
    )

    _market_position = field_validator("marketPosition")(_side)

    @model_validator(mode="after")
    def _some_scope(self) -> FlattenEverythingArgs:
        filters = (self.account, self.instrument, self.marketPosition)
        if not self.all and all(f is None for f in filters):
            raise ValueError(
                "an empty flatten-everything is refused: give account, instrument or "
                'marketPosition, or "all": true to flatten every account you may act on'
            )
        return self


@operation("FlattenEverything", FlattenEverythingArgs)
async def flatten_everything(ctx: Ctx, args: FlattenEverythingArgs) -> dict[str, Any]:
    symbol = None if args.instrument is None else await ctx.symbol(args.instrument)
    if args.account is not None:
        accounts = [await _account(ctx, args.account)]
    else:
        accounts = await visible_accounts(ctx)
    side = None if args.marketPosition is None else _SIDES[args.marketPosition]
    outcome = FlattenOutcome()
    for account in accounts:
        outcome.extend(await flatten(ctx.engine, ctx.principal, account, symbol=symbol, side=side))
    return _outcome_out(outcome, {a.login: a.name for a in accounts})


@operation("Reverse", PositionArgs)
async def reverse_position(ctx: Ctx, args: PositionArgs) -> dict[str, Any]:
    symbol = await ctx.symbol(args.instrument)
    account = await _account(ctx, args.account)
    order = await reverse(ctx.engine, ctx.principal, account, symbol)
    return {"orderId": order.id, "success": True}


_POSITION = {
    "account": "Sim101",
    "instrument": "ES 12-26",
    "instrumentType": "Future",
    "marketPosition": "Long",
    "quantity": 2,
    "averagePrice": 6001.125,
    "marketPrice": 6004.5,
    "unrealizedProfitLoss": 337.5,
}
_ORDER_ID = "adb3868865de4b59b0e147b8300e4a29"
_CLOSING_ID = "16f6774e302748ce962f2d60b58b2eb1"
_INCOMPLETE_BODY = {
    "orderIds": [],
    "notCancelled": [
        {
            "orderId": _ORDER_ID,
            "code": "ORDER_LOCKED",
            "error": "the venue is still processing it (submitted)",
        }
    ],
    "closedPositions": [_POSITION],
    "closingOrderIds": [_CLOSING_ID],
    "failed": [
        {
            "account": "Sim101",
            "instrument": "ES 12-26",
            "orderId": _ORDER_ID,
            "code": "ORDER_LOCKED",
            "message": "the venue is still processing it (submitted)",
        }
    ],
    "success": False,
    "error": "Flatten incomplete: 1 order(s) or position(s) could not be cancelled or closed "
    "now; see failed, and retry",
    "code": "FLATTEN_INCOMPLETE",
}
_INCOMPLETE = example(
    _INCOMPLETE_BODY,
    "Something was done (200) but not everything could be cancelled or closed now (see "
    "failed; with nothing done at all, 400 with the same body); retry",
    model=FlattenAnswer | CrossTradeError,
)


@router.get(
    "/accounts/{account}/positions",
    summary="The account's positions",
    description="The net position per instrument the account holds (open tickets summed).",
    responses=responses(
        PositionsAnswer, {"positions": [_POSITION], "success": True}, *ACCOUNT_ERRORS
    ),
)
async def positions_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetPositions", query_args(request, AccountArgs, account=account)))


@router.get(
    "/positions",
    summary="Positions of every account",
    description=(
        "The net positions of every account the token may act on. With includeFlat=true, "
        "also a Flat entry for each instrument an account traded before and holds no more."
    ),
    openapi_extra=query_parameters_of(AllPositionsArgs),
    responses=responses(
        AllPositionsAnswer, {"positions": [_POSITION], "count": 1, "success": True}, 400, 401, 429
    ),
)
async def all_positions_route(request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetAllPositions", query_args(request, AllPositionsArgs)))


@router.get(
    "/accounts/{account}/position",
    summary="The account's position in one instrument",
    description="Flat (quantity 0) when the account holds nothing in the instrument.",
    openapi_extra=query_parameters_of(PositionArgs, ("account",)),
    responses=responses(PositionAnswer, {**_POSITION, "success": True}, *ACCOUNT_ERRORS),
)
async def position_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetPosition", query_args(request, PositionArgs, account=account)))


@router.post(
    "/accounts/{account}/positions/close",
    summary="Close a position by instrument",
    description=(
        "Sends market orders closing the net position in the instrument: all of it, or "
        "quantity contracts (capped at the position), or percent of it (a fraction, 0.5 = "
        "50%, rounded up to the lot step; ignored when quantity is given). closedPositions "
        "is the part being closed, valued now; working orders are not cancelled (use "
        "flatten for that). 400 `No positions found for instrument '<i>'` when flat."
    ),
    openapi_extra=request_body(CloseArgs, {"instrument": "ES 12-26", "quantity": 1}),
    responses=responses(
        ClosePositionAnswer,
        {"closedPositions": [_POSITION], "closingOrderIds": [_CLOSING_ID], "success": True},
        401,
        404,
        429,
        s400=example(
            {
                "success": False,
                "error": "No positions found for instrument 'ES 12-26'",
                "code": "CONFLICT",
            },
            "Invalid request, or no position in the instrument",
        ),
    ),
)
async def close_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(
        await run(ctx, "ClosePosition", await body_args(request, CloseArgs, account=account))
    )


@router.post(
    "/accounts/{account}/positions/flatten",
    summary="Flatten an account (or one instrument of it)",
    description=(
        "Cancels the account's working orders, then sends market orders closing its "
        "positions: all, or the instrument's, or (marketPosition) only long or only short "
        "positions with their instruments' orders. orderIds are the orders now cancelling, "
        "closingOrderIds the orders closing closedPositions. When an order could not be "
        "cancelled now (the market is closed, the venue is still processing it) or a "
        "position could not be closed, success is false, the orders are in notCancelled "
        "and everything not done in failed (with code FLATTEN_INCOMPLETE): the account is "
        "then not on its way to flat, and a retry finishes the job. 200 when something was "
        "cancelled or closed (or nothing matched), 400 when nothing in scope could be done."
    ),
    openapi_extra=request_body(FlattenArgs, {"instrument": "ES 12-26"}),
    responses=responses(
        FlattenAnswer,
        {
            "orderIds": [_ORDER_ID],
            "closedPositions": [_POSITION],
            "closingOrderIds": [_CLOSING_ID],
            "failed": [],
            "notCancelled": [],
            "success": True,
        },
        *ACCOUNT_ERRORS,
        s400=_INCOMPLETE,
    ),
)
async def flatten_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, FlattenArgs, account=account)
    return reply(await run(ctx, "Flatten", args))


@router.post(
    "/positions/flatten",
    summary="Flatten everything matching (RPC FlattenEverything)",
    description=(
        "Flatten (cancel orders, close positions) in every account the token may act on "
        "that matches all the filters given: account, instrument, marketPosition (long or "
        "short). **An empty body is refused** (400): upstream it wipes every account, which "
        'is rarely what a script meant. To flatten everything, send {"all": true}. The '
        "answer and its statuses are those of the account flatten, across accounts."
    ),
    openapi_extra=request_body(
        FlattenEverythingArgs, {"account": "Sim101", "marketPosition": "short"}, path=()
    ),
    responses=responses(
        FlattenAnswer,
        {
            "orderIds": [_ORDER_ID],
            "closedPositions": [{**_POSITION, "marketPosition": "Short"}],
            "closingOrderIds": [_CLOSING_ID],
            "failed": [],
            "notCancelled": [],
            "success": True,
        },
        *ACCOUNT_ERRORS,
        s400=_INCOMPLETE,
    ),
)
async def flatten_everything_route(request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, FlattenEverythingArgs)
    try:
        return reply(await run(ctx, "FlattenEverything", args))
    except DomainError as exc:  # the account is in the body, not the path: name it in the 404
        status, body = render_domain(exc, args.account)
        return CrossTradeJson(body, status_code=status)


@router.post(
    "/accounts/{account}/positions/reverse",
    summary="Reverse a position",
    description=(
        "Turns the net position in the instrument around at the same size with market "
        "orders; orderId is the order opening the new side. A netting account sends one "
        "order of twice the position (refused whole if it cannot be placed); a hedging "
        "account opens the opposite ticket, then closes the old ones. 400 `No positions "
        "found for instrument '<i>'` when flat."
    ),
    openapi_extra=request_body(PositionArgs, {"instrument": "ES 12-26"}),
    responses=responses(OrderIdAnswer, {"orderId": _ORDER_ID, "success": True}, *ACCOUNT_ERRORS),
)
async def reverse_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "Reverse", await body_args(request, PositionArgs, account=account)))
