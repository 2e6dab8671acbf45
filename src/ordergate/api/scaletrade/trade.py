"""ScaleTrade's trade requests on one trade or pending order: open, modify, close, cancel.

Each answers an acknowledgment: the request was checked and queued (state 1, 7, 9, 14 or 16);
the outcome is seen through ``GET /trades``. A ticket of the wrong kind (a pending order's to
a trade request, a trade's to a pending-order request) is 409 RET_TRADE_INCORRECT_CMD; one
whose trade or order has ended is 409 RET_TRADE_INCORRECT_STATE. Group requests: groups.py.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.bodies import body_model
from ordergate.api.openapi import DocumentedRoute
from ordergate.api.scaletrade.answers import ScaleTradeAck, ScaleTradeCloseAck
from ordergate.api.scaletrade.docs import request_body, responses
from ordergate.api.scaletrade.errors import IncorrectCommand
from ordergate.api.scaletrade.models import (
    CancelRequest,
    CloseRequest,
    ModifyOpenRequest,
    ModifyPendingRequest,
    OpenPendingRequest,
    OpenRequest,
)
from ordergate.api.scaletrade.session import Session, SessionDep
from ordergate.api.scaletrade.wire import (
    ACK_EXAMPLE,
    FINANCE_CMDS,
    MARKET_CMDS,
    PENDING_CMDS,
    ScaleTradeJson,
    State,
    ack,
    cmd_of,
    from_unix,
    lots,
    side_and_type,
    volume,
)
from ordergate.domain.commands import (
    CancelOrder,
    ChangeOrder,
    ClosePosition,
    ModifyTrade,
    PlaceOrder,
)
from ordergate.domain.errors import Conflict, DomainError, InvalidInput, NotFound, PositionNotFound
from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from ordergate.engine import queries
from ordergate.engine.trades import close_trade, modify_trade, ticket_account

__all__ = ["router"]

router = APIRouter(tags=["ScaleTrade"], route_class=DocumentedRoute)

_PENDING_USE = "/trade/modify/pending or /trade/cancel"
#: An order in a symbol that does not exist.
_UNKNOWN_SYMBOL = {404: ("RET_SYMBOL_NOT_FOUND", "No such symbol")}


def _cmd(cmd: int, allowed: frozenset[int], use: str) -> tuple[Side, OrderType]:
    """The side and type of ``cmd``, if this request takes it."""
    if cmd in allowed:
        return side_and_type(cmd)
    if cmd in MARKET_CMDS | PENDING_CMDS | FINANCE_CMDS:
        raise IncorrectCommand(f"cmd {cmd} is not taken here; {use}")
    raise InvalidInput(f"cmd {cmd} is not a trade command")


def _level(value: Decimal) -> Decimal | None:
    return None if value == 0 else value


async def _login_of(s: Session, ticket: int, login: int | None) -> Login:
    """The login a ticket request acts on: the one it names (the engine checks the session
    may act on it, and that the ticket is in it), else the ticket's own."""
    if login is not None:
        return Login(login)
    return (await ticket_account(s.engine, s.principal, Ticket(ticket))).login


async def _pending_order(s: Session, login: Login, ticket: int, use: str) -> Order:
    """Order ``ticket`` of ``login``, if it is a pending order that has not ended."""
    order = await queries.get_order(s.engine, s.principal, login, Ticket(ticket))
    if order.type is OrderType.MARKET or order.status is OrderStatus.FILLED:
        raise IncorrectCommand(f"{ticket} is a trade, not a pending order; {use}")
    if order.is_terminal:
        raise Conflict(f"pending order {ticket} is {order.status}")
    return order


async def _not_open(s: Session, login: Login, ticket: int, exc: PositionNotFound) -> DomainError:
    """Why ``ticket`` of ``login`` is no open trade: a pending order's ticket is the wrong
    kind; a trade that closed (or has not opened yet) is in the wrong state."""
    try:
        order = await queries.get_order(s.engine, s.principal, login, Ticket(ticket))
    except NotFound:
        return exc
    if order.type is not OrderType.MARKET and not order.filled:
        return IncorrectCommand(f"{ticket} is a pending order, not a trade; use {_PENDING_USE}")
    if order.filled:
        return Conflict(f"trade {ticket} is closed")
    return Conflict(f"trade {ticket} is not open: its order is {order.status}")


@router.post(
    "/trade/open",
    operation_id="OpenTrade",
    summary="Open a trade at the market",
    description="cmd 0 (BUY) or 1 (SELL); volume in hundredths of a lot; sl and tp 0 for none.",
    openapi_extra=request_body(
        OpenRequest,
        {"login": 1001, "cmd": 0, "volume": 100, "symbol": "EURUSD", "sl": 0, "tp": 0},
    ),
    responses=responses(
        {**ACK_EXAMPLE, "cmd": 0}, 400, 409, model=ScaleTradeAck, extra=_UNKNOWN_SYMBOL
    ),
)
async def open_trade(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, OpenRequest)
    side, kind = _cmd(args.cmd, MARKET_CMDS, "pending orders go to /trade/open/pending")
    order = await s.engine.place(
        s.principal,
        PlaceOrder(
            account=s.login(args.login),
            symbol=args.symbol,
            side=side,
            type=kind,
            quantity=lots(args.volume),
            stop_loss=_level(args.sl),
            take_profit=_level(args.tp),
            comment=args.comment,
        ),
    )
    return ScaleTradeJson(
        ack(order.key, State.OPEN_REQUEST, order.login, order.symbol, args.cmd, order.quantity)
    )


@router.post(
    "/trade/open/pending",
    operation_id="OpenPendingTrade",
    summary="Place a pending order",
    description=(
        "cmd 2 BUY_LIMIT, 3 SELL_LIMIT, 4 BUY_STOP, 5 SELL_STOP (open_price is the limit or "
        "stop price), or 10 BUY_STOP_LIMIT, 11 SELL_STOP_LIMIT (trigger_price turns it into a "
        "limit order at open_price). expiration in Unix seconds (0: good till cancelled). "
        "When it triggers it becomes an open trade with the same ticket."
    ),
    openapi_extra=request_body(
        OpenPendingRequest,
        {"login": 1001, "cmd": 2, "volume": 100, "symbol": "EURUSD", "open_price": 1.095},
    ),
    responses=responses(ACK_EXAMPLE, 400, 409, model=ScaleTradeAck, extra=_UNKNOWN_SYMBOL),
)
async def open_pending(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, OpenPendingRequest)
    side, kind = _cmd(args.cmd, PENDING_CMDS, "market orders go to /trade/open")
    if kind is OrderType.STOP_LIMIT:
        if not args.trigger_price:
            raise InvalidInput("a stop-limit order needs trigger_price")
    elif args.trigger_price is not None:
        raise InvalidInput("trigger_price is only for stop-limit orders (cmd 10, 11)")
    order = await s.engine.place(
        s.principal,
        PlaceOrder(
            account=s.login(args.login),
            symbol=args.symbol,
            side=side,
            type=kind,
            quantity=lots(args.volume),
            limit_price=None if kind is OrderType.STOP else args.open_price,
            stop_price=args.open_price if kind is OrderType.STOP else args.trigger_price,
            tif=TimeInForce.GTD if args.expiration else TimeInForce.GTC,
            expires_at=from_unix(args.expiration) if args.expiration else None,
            stop_loss=_level(args.sl),
            take_profit=_level(args.tp),
            comment=args.comment,
        ),
    )
    return ScaleTradeJson(
        ack(order.key, State.OPEN_REQUEST, order.login, order.symbol, args.cmd, order.quantity)
    )


_MODIFY_OPEN = (
    "Give sl and/or tp (0 removes one). They must be on the losing and winning side of the "
    "price the trade would close at now. A pending order's ticket answers 409 "
    "RET_TRADE_INCORRECT_CMD; a closed trade's, 409 RET_TRADE_INCORRECT_STATE."
)


def _modify_open_doc() -> dict[str, Any]:
    return {
        "openapi_extra": request_body(ModifyOpenRequest, {"order": 123456, "sl": 1.09, "tp": 1.12}),
        "responses": responses(
            {**ACK_EXAMPLE, "state": 14, "cmd": 0}, 400, 404, 409, model=ScaleTradeAck
        ),
    }


@router.put(
    "/trade/modify",
    operation_id="ModifyTrade",
    summary="Change an open trade's stop-loss and take-profit (alias)",
    description=(
        "The same request and answer as `PUT /trade/modify/open`. ScaleTrade's two doc "
        "generations disagree: the older ModifyTrade wants order, sl and tp all given and "
        'answers `{"data": "OK"}`; the newer keeps this path as a backward-compatible alias '
        "of /trade/modify/open. The newer is followed: an acknowledgment with state 14, sl "
        "and tp each optional but one of them given, the same refusals.\n\n" + _MODIFY_OPEN
    ),
    **_modify_open_doc(),
)
@router.put(
    "/trade/modify/open",
    operation_id="ModifyOpenTrade",
    summary="Change an open trade's stop-loss and take-profit",
    description=_MODIFY_OPEN,
    **_modify_open_doc(),
)
async def modify_open(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, ModifyOpenRequest)
    if args.sl is None and args.tp is None:
        raise InvalidInput("give sl and/or tp")
    login = await _login_of(s, args.order, args.login)
    change = ModifyTrade(
        account=login, ticket=Ticket(args.order), stop_loss=args.sl, take_profit=args.tp
    )
    try:
        ticket = await modify_trade(s.engine, s.principal, change)
    except PositionNotFound as exc:
        raise await _not_open(s, login, args.order, exc) from None
    cmd = cmd_of(ticket.side, OrderType.MARKET)
    return ScaleTradeJson(
        ack(
            ticket.ticket,
            State.OPEN_UPDATE_REQUEST,
            ticket.login,
            ticket.symbol,
            cmd,
            ticket.quantity,
        )
    )


@router.put(
    "/trade/modify/pending",
    operation_id="ModifyPendingTrade",
    summary="Change a pending order",
    description=(
        "Give at least one of open_price, trigger_price (stop-limit only), sl, tp (0 removes "
        "them) and expiration (Unix seconds; 0 makes it good till cancelled). The venue "
        "confirms the change; until then the order is in state 16."
    ),
    openapi_extra=request_body(ModifyPendingRequest, {"order": 123456, "open_price": 1.094}),
    responses=responses({**ACK_EXAMPLE, "state": 16}, 400, 404, 409, model=ScaleTradeAck),
)
async def modify_pending(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, ModifyPendingRequest)
    login = await _login_of(s, args.order, args.login)
    order = await _pending_order(s, login, args.order, "use /trade/modify/open")
    if args.trigger_price is not None and order.type is not OrderType.STOP_LIMIT:
        raise InvalidInput("trigger_price is only for stop-limit orders (cmd 10, 11)")
    on_stop = order.type is OrderType.STOP
    changed = await s.engine.change(
        s.principal,
        ChangeOrder(
            account=login,
            order=Ticket(args.order),
            limit_price=None if on_stop else args.open_price,
            stop_price=args.open_price if on_stop else args.trigger_price,
            stop_loss=args.sl,
            take_profit=args.tp,
            expires_at=from_unix(args.expiration) if args.expiration else None,
            clear_expiry=args.expiration == 0,
        ),
    )
    cmd = cmd_of(changed.side, changed.type)
    return ScaleTradeJson(
        ack(
            changed.key,
            State.PENDING_UPDATE_REQUEST,
            changed.login,
            changed.symbol,
            cmd,
            changed.quantity,
        )
    )


@router.delete(
    "/trade/close",
    operation_id="CloseTrade",
    summary="Close an open trade (all of it, or volume)",
    description=(
        "Sends a market order that closes the trade, or `volume` of it; answers state 7, the "
        "trade's volume and the close_volume. While an earlier close of the trade is on its "
        "way, 409 RET_TRADE_ORDER_LOCKED; a pending order's ticket, 409 RET_TRADE_INCORRECT_CMD."
    ),
    openapi_extra=request_body(CloseRequest, {"order": 123456, "volume": 50}),
    responses=responses(
        {**ACK_EXAMPLE, "state": 7, "cmd": 0, "close_volume": 50},
        400,
        404,
        409,
        model=ScaleTradeCloseAck,
    ),
)
async def close(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, CloseRequest)
    login = await _login_of(s, args.order, args.login)
    command = ClosePosition(
        account=login,
        ticket=Ticket(args.order),
        quantity=None if args.volume is None else lots(args.volume),
        comment=args.comment,
    )
    try:
        closed = await close_trade(s.engine, s.principal, command)
    except PositionNotFound as exc:
        raise await _not_open(s, login, args.order, exc) from None
    t = closed.ticket
    body = ack(
        t.ticket,
        State.CLOSE_REQUEST,
        t.login,
        t.symbol,
        cmd_of(t.side, OrderType.MARKET),
        t.quantity,
    )
    body["close_volume"] = volume(closed.order.quantity)
    return ScaleTradeJson(body)


@router.delete(
    "/trade/cancel",
    operation_id="CancelPendingTrade",
    summary="Cancel a pending order",
    description="The order moves to state 9 until the venue confirms. A trade's ticket (or a "
    "market order's) answers 409 RET_TRADE_INCORRECT_CMD.",
    openapi_extra=request_body(CancelRequest, {"order": 123456}),
    responses=responses({**ACK_EXAMPLE, "state": 9}, 400, 404, 409, model=ScaleTradeAck),
)
async def cancel_pending(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, CancelRequest)
    account = None if args.login is None else Login(args.login)  # None: the ticket's own
    cancel = CancelOrder(account=account, order=Ticket(args.order), resting_only=True)
    try:
        order = await s.engine.cancel(s.principal, cancel)
    except Conflict:
        # Refused: a trade's ticket and an order that has ended are told apart as ScaleTrade
        # tells them (a read, on this path only); any other refusal stands.
        login = await _login_of(s, args.order, args.login)
        await _pending_order(s, login, args.order, "close a trade with /trade/close")
        raise
    cmd = cmd_of(order.side, order.type)
    return ScaleTradeJson(
        ack(order.key, State.CANCEL_REQUEST, order.login, order.symbol, cmd, order.quantity)
    )
