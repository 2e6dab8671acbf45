"""Executions: the account's fills, from the ledger, newest within a lookback window.

An execution's id is NT8's form, 32 lower-case hex characters: the fill's ledger id written
in hex, zero-padded (``execution_key``), so that it reads back to the fill without a table.
GET …/executions/{executionId} also takes the fill's id in decimal (``fill_id_of``), so that
clients holding decimal execution ids keep working.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import Field
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import ExecutionAnswer, ExecutionsAnswer
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import (
    AccountPath,
    path_parameter,
    query_parameters_of,
    reply,
    responses,
)
from ordergate.api.crosstrade.ops import AccountName, Args, Ctx, operation, query_args, run
from ordergate.api.crosstrade.views import instrument_type
from ordergate.api.crosstrade.wire import ACTION_OUT, epoch_ms, iso, num
from ordergate.api.openapi import DocumentedRoute
from ordergate.domain.errors import NotFound
from ordergate.domain.orders import Side
from ordergate.engine import queries
from ordergate.engine.ports import Execution

__all__ = [
    "EXECUTION_ID_PATTERN",
    "ExecutionIdText",
    "execution_key",
    "execution_out",
    "fill_id_of",
    "router",
]

router = APIRouter(tags=["executions"], route_class=DocumentedRoute)

#: The most executions one answer carries (900 s of a busy account stays far below it).
MAX_EXECUTIONS = 5000
_ID_MAX = 2**63 - 1
_HEX_LENGTH = 32

#: What the executionId of a request may be: the 32-hex NT8 form, or the fill's id in decimal
#: (at most 19 digits, which 2**63 - 1 has). The two cannot be mistaken: 32 characters is hex.
EXECUTION_ID_PATTERN = "^(?:[0-9a-f]{32}|[1-9][0-9]{0,18})$"
ExecutionIdText = Annotated[
    str,
    Field(
        description=(
            "The execution's id: 32 lower-case hex characters, as listed; the fill's id "
            "in decimal names the same execution"
        ),
        pattern=EXECUTION_ID_PATTERN,
    ),
]


def execution_key(fill_id: int) -> str:
    """The NT8-style id of fill ``fill_id``: its ledger id in hex, 32 characters."""
    return f"{fill_id:0{_HEX_LENGTH}x}"


def fill_id_of(ref: str | int) -> int:
    """The ledger id an executionId names (hex, decimal text, or a number over the
    WebSocket); 0, which no fill has, for one beyond the ledger's 64-bit ids."""
    if isinstance(ref, str):
        ref = int(ref, 16) if len(ref) == _HEX_LENGTH else int(ref)
    return ref if ref <= _ID_MAX else 0


def execution_out(execution: Execution, account: str) -> dict[str, Any]:
    """A fill as an NT8 execution. ``marketPosition`` is the side it traded (Long for a buy,
    Short for a sell); ``name`` is the order's strategy tag; ordergate charges no commission."""
    return {
        "id": execution_key(execution.id),
        "time": iso(execution.at),
        "epoch": epoch_ms(execution.at),
        "name": execution.tag or "",
        "orderId": execution.order_id,
        "account": account,
        "instrument": execution.symbol,
        "instrumentType": instrument_type(execution.symbol),
        "action": ACTION_OUT[execution.side],
        "marketPosition": "Long" if execution.side is Side.BUY else "Short",
        "isExit": execution.closes_ticket is not None,
        "price": num(execution.price),
        "quantity": num(execution.quantity),
        "commission": 0,
    }


class ExecutionsArgs(Args):
    account: AccountName
    lookbackTime: int = Field(
        default=320, ge=1, le=900, description="Seconds back from now (default 320, max 900)"
    )


@operation("GetExecutions", ExecutionsArgs)
async def get_executions(ctx: Ctx, args: ExecutionsArgs) -> dict[str, Any]:
    since = ctx.container.clock.now() - timedelta(seconds=args.lookbackTime)
    account, found = await queries.executions(
        ctx.engine, ctx.principal, args.account, since, MAX_EXECUTIONS
    )
    return {"executions": [execution_out(e, account.name) for e in found], "success": True}


class ExecutionArgs(Args):
    account: AccountName
    #: A JSON number (over the WebSocket) is the decimal form.
    executionId: ExecutionIdText | Annotated[int, Field(ge=1, le=_ID_MAX, strict=True)]


@operation("GetExecution", ExecutionArgs)
async def get_execution(ctx: Ctx, args: ExecutionArgs) -> dict[str, Any]:
    account, found = await queries.execution(
        ctx.engine, ctx.principal, args.account, fill_id_of(args.executionId)
    )
    if found is None:
        raise NotFound(f"Execution '{args.executionId}' not found in account {account.name}")
    return {**execution_out(found, account.name), "success": True}


_EXECUTION = {
    "id": "0000000000000000000000000000002a",
    "time": "2026-11-20T15:30:00.125000Z",
    "epoch": 1795188600125,
    "name": "",
    "orderId": "d99b2043460849ddae409d1b15cb92ff",
    "account": "Sim101",
    "instrument": "ES 12-26",
    "instrumentType": "Future",
    "action": "Sell",
    "marketPosition": "Short",
    "isExit": True,
    "price": 6004.5,
    "quantity": 1,
    "commission": 0,
}


@router.get(
    "/accounts/{account}/executions",
    summary="The account's recent executions",
    description=(
        "Fills of the last lookbackTime seconds (default 320, at most 900), in the order "
        "they were recorded, "
        f"at most {MAX_EXECUTIONS}. id is the execution's id for GET …/executions/{{id}}: "
        "32 lower-case hex characters, as NT8's execution ids."
    ),
    openapi_extra=query_parameters_of(ExecutionsArgs, ("account",)),
    responses=responses(
        ExecutionsAnswer, {"executions": [_EXECUTION], "success": True}, 400, 401, 404, 429
    ),
)
async def executions_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(
        await run(ctx, "GetExecutions", query_args(request, ExecutionsArgs, account=account))
    )


@router.get(
    "/accounts/{account}/executions/{executionId}",
    summary="One execution",
    description=(
        "The execution with this id: the 32-hex id the executions list gives. The fill's id in "
        "decimal names the same execution too (42 for 0000000000000000000000000000002a), for "
        "clients that hold decimal execution ids; over the WebSocket it may be a JSON number. "
        "404 when the account has no execution with this id (also for an id no fill can have, "
        "such as 32 zeros)."
    ),
    responses=responses(ExecutionAnswer, {**_EXECUTION, "success": True}, 400, 401, 404, 429),
)
async def execution_route(
    account: AccountPath,
    executionId: Annotated[str, path_parameter(ExecutionIdText)],
    request: Request,
    ctx: CallerDep,
) -> Response:
    args = query_args(request, ExecutionArgs, account=account, executionId=executionId)
    return reply(await run(ctx, "GetExecution", args))
