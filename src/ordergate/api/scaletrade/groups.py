"""ScaleTrade's group requests: close a login's open trades (all, profitable or losing) and
cancel its pending orders, optionally of one symbol.

Each answers a row per ticket whose close or cancel was sent and a failure per matched ticket
that was refused, with its return code: 200 when all were accepted, 207 when some failed and
409 when nothing was accepted. When nothing matched, a group cancel answers 404 (the seed
page's contract) and a group close 200 ``{"data": "OK"}`` with no rows, as ScaleTrade's does:
closing every trade of a login with none open is done, not an error.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.bodies import body_model
from ordergate.api.openapi import DocumentedRoute
from ordergate.api.scaletrade.answers import (
    ScaleTradeCancelGroup,
    ScaleTradeCancelGroupPartial,
    ScaleTradeCancelGroupRefused,
    ScaleTradeCloseGroup,
    ScaleTradeCloseGroupPartial,
    ScaleTradeCloseGroupRefused,
)
from ordergate.api.scaletrade.docs import example, request_body, responses
from ordergate.api.scaletrade.errors import error_body, failure_code, render
from ordergate.api.scaletrade.models import CancelGroupRequest, CloseGroupRequest
from ordergate.api.scaletrade.session import SessionDep
from ordergate.api.scaletrade.wire import ACK_EXAMPLE, ScaleTradeJson, State, ack, cmd_of
from ordergate.domain.commands import CancelOrders
from ordergate.domain.orders import OrderType
from ordergate.engine.trades import Profit, close_group

__all__ = ["GROUP_CLOSE", "group_status", "router"]

router = APIRouter(tags=["ScaleTrade"], route_class=DocumentedRoute)


def group_status(accepted: int, failures: list[dict[str, Any]]) -> tuple[int, str | None]:
    """The status of a group answer, and for 409 the code of its error."""
    if not accepted and not failures:
        return 404, "RET_NOT_FOUND"
    if not accepted:
        codes = Counter(f["error"] for f in failures)
        return 409, codes.most_common(1)[0][0] if len(codes) == 1 else "RET_ERROR"
    return (207 if failures else 200), None


def _group(
    rows: list[dict[str, Any]],
    failures: list[dict[str, Any]],
    done: str,
    ok: dict[str, Any] | None = None,
) -> Response:
    """The answer; ``ok`` heads a 200, which then also answers a request that matched
    nothing (else 404)."""
    status, code = group_status(len(rows), failures)
    counts = {"matched": len(rows) + len(failures), done: len(rows), "failed": len(failures)}
    if status == 404 and ok is None:
        return ScaleTradeJson(error_body("RET_NOT_FOUND", "nothing matched the request"), 404)
    if status in (200, 404):
        return ScaleTradeJson({**(ok or {}), "rows": rows, **counts})
    body: dict[str, Any] = {"rows": rows, "failures": failures, **counts}
    if status == 409 and code is not None:
        message = f"none of the {len(failures)} matched was accepted"
        body = {**error_body(code, message), **body}
    return ScaleTradeJson(body, status_code=status)


#: The upstream answer a group close heads its 200 with.
_DONE = {"data": "OK"}
#: What a group close stamps on its closing orders when the request has a comment.
GROUP_CLOSE = "GROUP_CLOSE"
_CLOSE_ERRORS = {
    404: ("RET_SYMBOL_NOT_FOUND", "No such symbol"),
    409: ("RET_TRADE_ORDER_LOCKED", "Matched, but none accepted (with rows, failures, counts)"),
}


@router.delete(
    "/trade/close/group",
    operation_id="CloseGroupTrade",
    summary="Close a login's open trades: all, profitable or losing",
    description=(
        "type 0 all, 1 profitable, -1 losing, optionally one symbol. The server chooses the "
        "close price (the market). Each matched trade is a row (a closing order was sent, "
        "state 7) or a failure with its reason; none is skipped (ScaleTrade skips failures "
        "silently: here they are reported).\n\n"
        '200 `{"data": "OK", rows, matched, closed, failed}` when no matched trade failed, '
        "and also when nothing matched (no open trade, none in the symbol or of the asked "
        "profit): as ScaleTrade answers. 207 with `failures` (order, error, message) when "
        "some failed; 409 when none could be closed. 404 RET_SYMBOL_NOT_FOUND for an "
        "unknown symbol.\n\n"
        "Decisions where ScaleTrade is silent: `type` goes by the gross floating profit at "
        "the current quotes (the venue charges no commission or swap, so it equals the net); "
        "a trade at exactly 0 is neither profitable nor losing; a trade with no quote to value "
        "it is a failure of type 1 and -1 (RET_TRADE_BAD_PRICES). As ScaleTrade does, a "
        f"`comment` (any text) stamps `{GROUP_CLOSE}` on the closing orders; its own text is "
        "not used."
    ),
    openapi_extra=request_body(CloseGroupRequest, {"login": 1001, "type": 0, "symbol": "EURUSD"}),
    responses={
        **responses(
            {
                **_DONE,
                "rows": [{**ACK_EXAMPLE, "state": 7, "cmd": 0}],
                "matched": 1,
                "closed": 1,
                "failed": 0,
            },
            400,
            model=ScaleTradeCloseGroup,
            extra=_CLOSE_ERRORS,
            errors={409: ScaleTradeCloseGroupRefused},
        ),
        207: example(
            {
                "rows": [{**ACK_EXAMPLE, "state": 7, "cmd": 0}],
                "failures": [{"order": 123457, "error": "RET_TRADE_MARKET_CLOSED", "message": "…"}],
                "matched": 2,
                "closed": 1,
                "failed": 1,
            },
            "Some matched trades could not be closed",
            ScaleTradeCloseGroupPartial,
        ),
    },
)
async def close_trades(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, CloseGroupRequest)
    comment = "" if args.comment is None else GROUP_CLOSE
    report = await close_group(
        s.engine, s.principal, args.login, Profit(args.type), args.symbol, comment
    )
    rows = [
        ack(
            c.ticket.ticket,
            State.CLOSE_REQUEST,
            c.ticket.login,
            c.ticket.symbol,
            cmd_of(c.ticket.side, OrderType.MARKET),
            c.ticket.quantity,
        )
        for c in report.closed
    ]
    failures = []
    for f in report.failed:
        _, code, message = render(f.error)
        failures.append({"order": f.ticket.ticket, "error": code, "message": message})
    return _group(rows, failures, "closed", _DONE)


_CANCEL_ROW = {**ACK_EXAMPLE, "state": 9}


@router.delete(
    "/trade/cancel/group",
    operation_id="CancelGroupPendingTrade",
    summary="Cancel a login's pending orders (optionally one symbol's)",
    description=(
        "Cancels every pending order of the login, or only those in `symbol`, atomically. "
        "200: all matched orders accepted (`rows` of acknowledgments, state 9). 207: some "
        "failed (`failures`: order, error, message; e.g. RET_TRADE_ORDER_LOCKED while the "
        "venue still processes an order, RET_TRADE_MARKET_CLOSED). 404 RET_NOT_FOUND: none "
        "matched. 409: orders matched but none was accepted. 400 INVALID_DATA: a missing or "
        "invalid login, a wrong type, an unknown field."
    ),
    openapi_extra=request_body(CancelGroupRequest, {"login": 1001, "symbol": "EURUSD"}),
    responses={
        **responses(
            {
                "rows": [_CANCEL_ROW, {**_CANCEL_ROW, "order": 123457, "cmd": 3}],
                "matched": 2,
                "cancelled": 2,
                "failed": 0,
            },
            400,
            model=ScaleTradeCancelGroup,
            errors={409: ScaleTradeCancelGroupRefused},
            extra={
                404: ("RET_NOT_FOUND", "No matching pending trades found"),
                409: (
                    "RET_TRADE_ORDER_LOCKED",
                    "Matched, but none accepted (mixed failures: RET_ERROR)",
                ),
            },
        ),
        207: example(
            {
                "rows": [_CANCEL_ROW],
                "failures": [
                    {
                        "order": 123457,
                        "error": "RET_TRADE_ORDER_LOCKED",
                        "message": "the venue is still processing it (submitted)",
                    }
                ],
                "matched": 2,
                "cancelled": 1,
                "failed": 1,
            },
            "Some matched orders failed",
            ScaleTradeCancelGroupPartial,
        ),
    },
)
async def cancel_group(request: Request, s: SessionDep) -> Response:
    args = await body_model(request, CancelGroupRequest)
    report = await s.engine.cancel_orders(
        s.principal, CancelOrders(account=args.login, symbol=args.symbol)
    )
    # One ack() per distinct (login, symbol, side, type, quantity), copied for each ticket: a
    # 100k-order cancel then costs a dict copy per row, not the volume arithmetic (half the time).
    shapes: dict[tuple[Any, ...], dict[str, Any]] = {}
    rows = []
    for a in report.accepted:
        shape = (a.login, a.symbol, a.side, a.type, a.quantity)
        row = shapes.get(shape)
        if row is None:
            cmd = cmd_of(a.side, a.type)
            row = ack(a.ticket, State.CANCEL_REQUEST, a.login, a.symbol, cmd, a.quantity)
            shapes[shape] = row
        row = row.copy()
        row["order"] = a.ticket
        rows.append(row)
    failures = [
        {"order": f.ticket, "error": failure_code(f), "message": f.message} for f in report.failures
    ]
    return _group(rows, failures, "cancelled")
