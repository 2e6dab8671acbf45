"""ScaleTrade's queries: ``GET /trades`` (MT4 trade records as a table, with filters and
totals) and ``GET /market/symbol`` (an instrument's specification and quote)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.bodies import invalid, num, parse_json, validate
from ordergate.api.openapi import field_schema
from ordergate.api.scaletrade.docs import query_parameters, responses
from ordergate.api.scaletrade.models import LoginField, Whole
from ordergate.api.scaletrade.session import SessionDep
from ordergate.api.scaletrade.wire import (
    ScaleTradeJson,
    State,
    cmd_of,
    order_state,
    price,
    unix,
    volume,
)
from ordergate.domain.errors import InvalidInput
from ordergate.domain.orders import Order, OrderStatus, OrderType
from ordergate.domain.positions import PositionTicket
from ordergate.engine.accounting import TicketValue
from ordergate.engine.trades import AccountTrades, account_trades

__all__ = ["COLUMNS", "router"]

router = APIRouter(tags=["ScaleTrade"])

#: The columns of a trade record, in the order of ``structure``; filters take only these.
COLUMNS = (
    "order",
    "login",
    "symbol",
    "cmd",
    "volume",
    "open_time",
    "open_price",
    "sl",
    "tp",
    "close_time",
    "close_price",
    "expiration",
    "profit",
    "comment",
    "state",
)
_INDEX = {name: i for i, name in enumerate(COLUMNS)}
#: The largest offset, a 64-bit integer, in the query string and in a body alike.
_MAX_OFFSET = 2**63 - 1
Scalar = StrictStr | StrictInt | Decimal
Record = list[Any]
Q = TypeVar("Q", bound=BaseModel)


class TradesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: LoginField | None = None
    tradeType: Literal[0, 1, 2, 3, 4] = 0
    limit: Annotated[int, Field(strict=True, ge=1, le=1000), Whole] = 100
    offset: Annotated[int, Field(strict=True, ge=0, le=_MAX_OFFSET), Whole] = 0
    where: dict[str, Scalar] | None = None
    whereIn: dict[str, list[Scalar]] | None = None
    whereBetween: dict[str, tuple[Decimal, Decimal]] | None = None
    whereNot: dict[str, Scalar] | None = None


_INTS = ("login", "tradeType", "limit", "offset")
_FILTERS = ("where", "whereIn", "whereBetween", "whereNot")
_INTEGER = re.compile(r"-?[0-9]{1,19}")


def _from_query(params: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Query parameters as body fields: integers from their digits, filters from JSON."""
    data: dict[str, Any] = {}
    for key, raw in params:
        if key in data:
            raise invalid("query", f"{key} is given twice")
        if key in _INTS and _INTEGER.fullmatch(raw):
            data[key] = int(raw)
        elif key in _FILTERS:
            try:
                if not raw.strip():
                    raise InvalidInput("empty")
                data[key] = parse_json(raw.encode())
            except InvalidInput:
                raise invalid("query", f"{key} must be a JSON object") from None
        else:
            data[key] = raw
    return data


async def _query(request: Request, model: type[Q]) -> Q:
    """A GET's fields from its query string and its JSON body (either; a key in both is
    refused rather than one silently winning)."""
    data = _from_query(request.query_params.multi_items())
    try:
        body = parse_json(await request.body())
    except InvalidInput as exc:
        raise invalid("body", exc.message) from None
    if not isinstance(body, dict):
        raise invalid("body", "the body must be a JSON object")
    both = sorted(set(body) & set(data))
    if both:
        raise invalid("query", f"given in both the query and the body: {', '.join(both)}")
    return validate(model, {**data, **body}, "query")


def _pending(order: Order) -> Record:
    opened_at = order.limit_price if order.type is not OrderType.STOP else order.stop_price
    return [
        order.key,
        order.login,
        order.symbol,
        cmd_of(order.side, order.type),
        volume(order.remaining),
        unix(order.created_at),
        price(opened_at),
        price(order.stop_loss),
        price(order.take_profit),
        0 if order.status not in _ENDED else unix(order.updated_at),
        Decimal(0),
        unix(order.expires_at),
        Decimal(0),
        order.comment,
        order_state(order.status),
    ]


def _open(value: TicketValue, closing: bool) -> Record:
    """An open trade; state 7 while an order that closes it is on its way."""
    t = value.ticket
    return [
        t.ticket,
        t.login,
        t.symbol,
        cmd_of(t.side, OrderType.MARKET),
        volume(t.quantity),
        unix(t.opened_at),
        price(t.open_price),
        price(t.stop_loss),
        price(t.take_profit),
        0,
        price(value.market_price),
        0,
        num(value.unrealized_pnl),
        "",
        State.CLOSE_REQUEST if closing else State.OPEN_NORMAL,
    ]


def _closed(t: PositionTicket) -> Record:
    return [
        t.ticket,
        t.login,
        t.symbol,
        cmd_of(t.side, OrderType.MARKET),
        volume(t.closed_quantity),
        unix(t.opened_at),
        price(t.open_price),
        price(t.stop_loss),
        price(t.take_profit),
        unix(t.closed_at),
        price(t.close_price),
        0,
        num(t.realized_pnl),
        "",
        State.CLOSED_NORMAL,
    ]


_ENDED = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED})


def _records(trades: AccountTrades, trade_type: int) -> list[Record]:
    """The records of one trade type: 1 open trades (and market orders on their way), 2
    closed trades and deleted pending orders, 3 pending orders, 0 all of them, 4 finance
    (balance operations: none are recorded yet). An order that closes a trade is not a
    record of its own: the trade shows state 7 until it fills."""
    closing = {o.closes_ticket for o in trades.working if o.closes_ticket is not None}
    in_flight = [
        o for o in trades.working if o.type is OrderType.MARKET and o.closes_ticket is None
    ]
    pending = [o for o in trades.working if o.type is not OrderType.MARKET]
    groups: dict[int, list[Record]] = {
        1: [_open(v, v.ticket.ticket in closing) for v in trades.open]
        + [_pending(o) for o in in_flight],
        2: [_closed(t) for t in trades.closed] + [_pending(o) for o in trades.deleted],
        3: [_pending(o) for o in pending],
    }
    records = (
        [r for t in (1, 2, 3) for r in groups[t]] if trade_type == 0 else groups.get(trade_type, [])
    )
    records.sort(key=lambda r: (r[_INDEX["order"]], r[_INDEX["state"]]))
    return records


def _column(name: str) -> int:
    if name not in _INDEX:
        raise InvalidInput(f"unknown column {name!r}; one of {', '.join(COLUMNS)}")
    return _INDEX[name]


@dataclass(frozen=True, slots=True)
class _Filter:
    """One condition on one column of a record."""

    column: int
    kind: Literal["eq", "ne", "in", "between"]
    value: Any

    def __call__(self, record: Record) -> bool:
        found = record[self.column]
        if self.kind == "eq":
            return bool(found == self.value)
        if self.kind == "ne":
            return bool(found != self.value)
        if self.kind == "in":
            return found in self.value
        low, high = self.value
        return bool(low <= found <= high)


def _filters(query: TradesQuery) -> list[_Filter]:
    out = [_Filter(_column(n), "eq", v) for n, v in (query.where or {}).items()]
    out += [_Filter(_column(n), "ne", v) for n, v in (query.whereNot or {}).items()]
    out += [_Filter(_column(n), "in", tuple(v)) for n, v in (query.whereIn or {}).items()]
    for name, bounds in (query.whereBetween or {}).items():
        if isinstance(_SAMPLE[_column(name)], str):
            raise InvalidInput(f"whereBetween takes numeric columns; {name} is text")
        out.append(_Filter(_column(name), "between", bounds))
    return out


#: A record of each column's type, to refuse a range over a text column.
_SAMPLE: Record = [0, 0, "", 0, 0, 0, Decimal(0), 0, 0, 0, 0, 0, 0, "", 0]
_NUMERIC = [
    name for name, sample in zip(COLUMNS, _SAMPLE, strict=True) if not isinstance(sample, str)
]


def _filter_parameter(name: str, description: str, columns: list[str], value: Any) -> Any:
    """A filter of /trades: a JSON object in the query string, {column: ``value``}."""
    schema = {"type": "object", "propertyNames": {"enum": columns}, "additionalProperties": value}
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def _trades_parameters() -> dict[str, Any]:
    """/trades' query parameters: the integers as TradesQuery validates them, the filters as
    the JSON objects ``_filters`` takes."""
    scalar = {"anyOf": [{"type": "string"}, {"type": "number"}]}
    between = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
    columns = list(COLUMNS)
    integers = query_parameters(
        *(
            (name, text, field_schema(TradesQuery, name), False)
            for name, text in (
                ("login", "Account login (required for a manager or admin session)"),
                ("tradeType", "0 all, 1 open, 2 closed, 3 pending, 4 finance"),
                ("limit", "Rows to answer, 1-1000 (default 100)"),
                ("offset", "Rows to skip"),
            )
        )
    )
    filters = [
        _filter_parameter("where", 'JSON: {"symbol": "EURUSD"}', columns, scalar),
        _filter_parameter(
            "whereIn", 'JSON: {"cmd": [2, 3]}', columns, {"type": "array", "items": scalar}
        ),
        _filter_parameter(
            "whereBetween", 'JSON: {"open_time": [1763683200, 1763769600]}', _NUMERIC, between
        ),
        _filter_parameter("whereNot", 'JSON: {"state": 6}', columns, scalar),
    ]
    return {"parameters": [*integers["parameters"], *filters]}


_TRADES_EXAMPLE = {
    "structure": list(COLUMNS),
    "rows": [
        [123456, 1001, "EURUSD", 2, 100, 1763683200, 1.095, 0, 0, 0, 0, 0, 0, "", 0],
    ],
    "count": 1,
    "total_profit": 0,
    "total_volume": 100,
}


@router.get(
    "/trades",
    summary="A login's trades as a table",
    description=(
        "tradeType 0 all, 1 open (with market orders on their way, state 1, and trades being "
        "closed, state 7), 2 closed (and "
        "deleted pending orders, state 6), 3 pending, 4 finance (none recorded yet). Filters "
        "on the columns of `structure`: where / whereNot {column: value}, whereIn {column: "
        "[values]}, whereBetween {column: [low, high]} (inclusive); given as JSON in the "
        "query string or in a JSON body. `count`, `total_profit` and `total_volume` cover "
        "every matching row; `rows` holds `limit` of them from `offset`, by ticket. A pending "
        "order that filled in part shows as an open trade and a pending order with the same "
        "ticket. login defaults to a client session's own."
    ),
    openapi_extra=_trades_parameters(),
    responses=responses(_TRADES_EXAMPLE, 400),
)
async def trades(request: Request, s: SessionDep) -> Response:
    query = await _query(request, TradesQuery)
    tests = _filters(query)
    found = await account_trades(
        s.engine, s.principal, s.login(query.login), history=query.tradeType in (0, 2)
    )
    rows = [r for r in _records(found, query.tradeType) if all(test(r) for test in tests)]
    total_profit = sum((r[_INDEX["profit"]] for r in rows), Decimal(0))
    total_volume = sum(r[_INDEX["volume"]] for r in rows)
    return ScaleTradeJson(
        {
            "structure": list(COLUMNS),
            "rows": rows[query.offset : query.offset + query.limit],
            "count": len(rows),
            "total_profit": num(total_profit),
            "total_volume": total_volume,
        }
    )


class SymbolQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: LoginField | None = None
    symbol: Annotated[str, Field(min_length=1, max_length=32)]


_SYMBOL_EXAMPLE = {
    "symbol": "EURUSD",
    "description": "Euro / US Dollar",
    "digits": 5,
    "bid": 1.1,
    "ask": 1.10002,
    "quote_time": 1763683200,
    "tick_size": 0.00001,
    "contract_size": 100000,
    "lot_min": 0.01,
    "lot_max": 100,
    "lot_step": 0.01,
    "currency": "USD",
    "trade_allowed": True,
    "sessions": [{"days": [0, 1, 2, 3, 4], "start": "00:00", "end": "00:00"}],
}


@router.get(
    "/market/symbol",
    summary="An instrument's specification and quote",
    description=(
        "login and symbol (required) in the query string or a JSON body. Lots in lots "
        "(lot_min 0.01 is volume 1); bid and ask 0 with no quote yet; sessions are weekly UTC "
        "windows (days 0 = Monday; none: around the clock)."
    ),
    # symbol is documented as required in the query: a client sends it there or, as the
    # description says, in a JSON body, which a GET's documentation has no place for.
    openapi_extra=query_parameters(
        (
            "login",
            "Account login (default: a client session's own)",
            field_schema(SymbolQuery, "login"),
            False,
        ),
        (
            "symbol",
            "e.g. EURUSD (required, here or in the body)",
            field_schema(SymbolQuery, "symbol"),
            True,
        ),
    ),
    responses=responses(
        _SYMBOL_EXAMPLE, 400, extra={404: ("RET_SYMBOL_NOT_FOUND", "No such symbol")}
    ),
)
async def market_symbol(request: Request, s: SessionDep) -> Response:
    query = await _query(request, SymbolQuery)
    engine = s.engine
    await engine.account(s.principal, s.login(query.login))
    instrument = await engine.instrument(query.symbol)
    quote = engine.venue.quote(instrument.symbol)
    now = s.container.clock.now()
    return ScaleTradeJson(
        {
            "symbol": instrument.symbol,
            "description": instrument.description,
            "digits": instrument.digits,
            "bid": price(None if quote is None else quote.bid),
            "ask": price(None if quote is None else quote.ask),
            "quote_time": unix(None if quote is None else quote.at),
            "tick_size": num(instrument.tick_size),
            "contract_size": num(instrument.point_value),
            "lot_min": num(instrument.lot_min),
            "lot_max": num(instrument.lot_max),
            "lot_step": num(instrument.lot_step),
            "currency": instrument.currency,
            "trade_allowed": engine.venue.is_open(instrument, now),
            "sessions": [
                {
                    "days": sorted(session.days),
                    "start": session.start.strftime("%H:%M"),
                    "end": session.end.strftime("%H:%M"),
                }
                for session in instrument.sessions
            ],
        }
    )
