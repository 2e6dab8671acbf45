"""``GET /trades``: a login's MT4 trade records as ScaleTrade's table (``structure`` and
``rows``), filtered in its syntax (filters.py), ordered, paged, with the totals of every
row that matched."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.openapi import DocumentedRoute, field_schema
from ordergate.api.scaletrade import filters
from ordergate.api.scaletrade.answers import ScaleTradeTrades
from ordergate.api.scaletrade.args import read_args
from ordergate.api.scaletrade.docs import query_parameters, responses
from ordergate.api.scaletrade.models import LoginField, Whole
from ordergate.api.scaletrade.records import COLUMNS, records, totals
from ordergate.api.scaletrade.session import SessionDep
from ordergate.api.scaletrade.wire import ScaleTradeJson
from ordergate.engine.trades import account_trades

__all__ = ["router"]

router = APIRouter(tags=["ScaleTrade"], route_class=DocumentedRoute)

#: The most rows one answer holds (the ceiling ScaleTrade's manager variant documents).
MAX_LIMIT = 50_000
#: The largest offset, a 64-bit integer, in the query string and in a body alike.
_MAX_OFFSET = 2**63 - 1
#: An array of rules or an object (filters.selection checks each, naming it); null: none.
_RULES = Any


class TradesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: LoginField | None = None
    tradeType: Literal[0, 1, 2, 3, 4] = 0
    limit: Annotated[int, Field(strict=True, ge=1, le=MAX_LIMIT), Whole] = 100
    offset: Annotated[int, Field(strict=True, ge=0, le=_MAX_OFFSET), Whole] = 0
    where: _RULES = None
    whereNot: _RULES = None
    whereIn: _RULES = None
    whereNotIn: _RULES = None
    whereBetween: _RULES = None
    whereNotBetween: _RULES = None
    orderBy: _RULES = None


_INTS = ("login", "tradeType", "limit", "offset")


def _parameters() -> dict[str, Any]:
    """The query parameters: the integers as TradesQuery validates them, the filters as
    filters.selection takes them."""
    integers = query_parameters(
        *(
            (name, text, field_schema(TradesQuery, name), False)
            for name, text in (
                ("login", "Account login (required for a manager or admin session)"),
                ("tradeType", "0 all (default), 1 open, 2 closed, 3 pending, 4 finance"),
                ("limit", f"Rows to answer, 1-{MAX_LIMIT} (default 100)"),
                ("offset", "Rows to skip (default 0)"),
            )
        )
    )
    return {"parameters": [*integers["parameters"], *filters.parameters()]}


_ROW = {
    **{"order": 123456, "login": 1001, "cmd": 0, "state": 0, "symbol": "EURUSD", "reason": 7},
    **{"volume": 100, "open_time": 1767600000, "close_time": 0, "open_price": 1.095},
    **{"close_price": 0, "sl": 1.09, "tp": 1.1, "profit": -2.5, "net_profit": -2.5},
    **{"commission": 0, "storage": 0, "comment": "", "digits": 5, "expiration": 0},
}
_EXAMPLE = {
    "structure": list(COLUMNS),
    "rows": [[_ROW[c] for c in COLUMNS]],
    "count": 1,
    "total_profit": -2.5,
    "total_net_profit": -2.5,
    "total_storage": 0,
    "total_commission": 0,
    "total_volume": 100,
}

_DESCRIPTION = """\
The login's trade records: `structure` names the 20 columns of each row of `rows`, in
ScaleTrade's order. tradeType 0 all, 1 open (with market orders on their way, state 1, and
trades being closed, state 7), 2 closed (and deleted pending orders, state 6), 3 pending, 4
finance (none recorded). Volumes in hundredths of a lot; times in Unix seconds (0: none);
`close_price` is 0 while a trade is open and `profit` floats at the price it would close at
now. A pending order that filled in part shows as an open trade and a pending order with the
same ticket.

Fields in the query string (arrays and objects as JSON) or in a JSON body on the GET, as
ScaleTrade sends them; a field given in both is refused. Decisions where ScaleTrade is silent:

- **filters** (`where`, `whereNot`, `whereIn`, `whereNotIn`, `whereBetween`,
  `whereNotBetween`): arrays of rules on the columns of `structure`, every rule must hold. A
  `where` rule is `[column, value]` (equality) or `[column, op, value]`: op `=`, `!=` (`<>`),
  `<`, `<=`, `>`, `>=` on a number column; `=`, `!=` (`<>`) or `like` (`%` any run, `_` one
  character, `\\` escapes) on a text column (`symbol`, `comment`), which compares ignoring
  letter case. A `whereNot` rule excludes what the same `where` rule would take. `whereIn`:
  `[column, [values]]`; `whereBetween`: `[column, [low, high]]`, inclusive. An object
  `{column: value}` stands for `[[column, value], ...]`. An unknown column, an operator that
  does not apply or a value of the wrong type: 400 INVALID_DATA.
- **order**: by ticket, unless `orderBy` `[[column, "asc" | "desc"], ...]` says otherwise.
- **totals** (`count`, `total_profit`, `total_net_profit`, `total_storage`,
  `total_commission`, `total_volume`) cover every row that matched, not only this page.
- **limit** up to 50000; limit, offset and tradeType default to 100, 0 and 0.
- `reason` is 7 (API) for every record; `commission` and `storage` are 0 (none charged), so
  `net_profit` equals `profit`.
- the manager-only fields (`update_time`, `group`, `parent_order`, ...) are refused as
  unknown rather than ignored: a filter left out would answer more rows than asked for.

login defaults to a client session's own."""


@router.get(
    "/trades",
    operation_id="GetOpenTrades",
    summary="A login's trades as a table",
    description=_DESCRIPTION,
    openapi_extra=_parameters(),
    responses=responses(_EXAMPLE, 400, model=ScaleTradeTrades),
)
async def trades(request: Request, s: SessionDep) -> Response:
    query = await read_args(request, TradesQuery, ints=_INTS, json=(*filters.FILTERS, filters.SORT))
    selection = filters.selection(query.model_dump())
    found = await account_trades(
        s.engine, s.principal, s.login(query.login), history=query.tradeType in (0, 2)
    )
    rows = selection.apply(records(found, query.tradeType))
    return ScaleTradeJson(
        {
            "structure": list(COLUMNS),
            "rows": rows[query.offset : query.offset + query.limit],
            **totals(rows),
        }
    )
