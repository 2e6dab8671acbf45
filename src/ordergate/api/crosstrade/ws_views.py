"""The frames the WebSocket pushes (market data, P&L, order, execution and position updates),
built from the bus's events and the engine's state, in NT8 names and casing."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from ordergate.api.crosstrade.views import instrument_type
from ordergate.api.crosstrade.wire import ACTION_OUT, ORDER_STATE, epoch_ms, iso, num
from ordergate.domain.events import MonitorLogged, OrderFilled, OrderTransitioned
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Side
from ordergate.domain.values import SCALE
from ordergate.engine.accounting import AccountState, TicketValue
from ordergate.engine.schema import Lagged
from ordergate.venue.marketdata import MarketSnapshot

__all__ = [
    "execution_update",
    "lagged_frame",
    "monitor_update",
    "order_update",
    "pnl_account",
    "position_update",
    "quote_out",
]

_PLACES = Decimal(1).scaleb(-SCALE)
_MARKET_POSITION = {Side.BUY: "Long", Side.SELL: "Short"}
_RESYNC = {
    "orders": "resync with GetOrders and GetAllPositions",
    "marketData": "the next marketData frame is current again",
}


def _stamp(at: datetime) -> dict[str, Any]:
    return {"time": iso(at), "epoch": epoch_ms(at)}


def quote_out(
    snapshot: MarketSnapshot, instrument: Instrument | None, market_open: bool
) -> dict[str, Any]:
    """One instrument's market as ``marketData`` carries it (GetQuote's field names)."""
    return {
        "instrument": snapshot.symbol,
        "bid": num(snapshot.bid),
        "ask": num(snapshot.ask),
        "last": num(snapshot.last),
        "bidSize": num(snapshot.bid_size),
        "askSize": num(snapshot.ask_size),
        "open": num(snapshot.open),
        "high": num(snapshot.high),
        "low": num(snapshot.low),
        "close": num(snapshot.close),
        "volume": num(snapshot.volume),
        "tickSize": None if instrument is None else num(instrument.tick_size),
        "pointValue": None if instrument is None else num(instrument.point_value),
        "quoteTime": iso(snapshot.at),
        "epoch": epoch_ms(snapshot.at),
        "isMarketOpen": market_open,
    }


def monitor_update(seq: int, account: str, event: MonitorLogged) -> dict[str, Any]:
    """A management log entry: a risk rule fired, a reset, a setting or a switch changed."""
    return {
        "type": "monitorUpdate",
        "seq": seq,
        "account": account,
        "event": event.type,
        "message": event.message,
        "actor": event.actor,
        "state": event.state,
        "locked": event.locked,
        **_stamp(event.at),
    }


def order_update(seq: int, account: str, event: OrderTransitioned) -> dict[str, Any]:
    """An order moved to a new state (GetOrder gives the whole order)."""
    previous = event.from_status
    return {
        "type": "orderUpdate",
        "seq": seq,
        "account": account,
        "orderId": str(event.order_id),
        "instrument": event.symbol,
        "instrumentType": instrument_type(event.symbol),
        "orderState": ORDER_STATE[event.to_status],
        "previousState": None if previous is None else ORDER_STATE[previous],
        "reason": event.reason,
        **_stamp(event.at),
    }


def execution_update(seq: int, account: str, event: OrderFilled) -> dict[str, Any]:
    return {
        "type": "executionUpdate",
        "seq": seq,
        "account": account,
        "orderId": str(event.order_id),
        "instrument": event.symbol,
        "instrumentType": instrument_type(event.symbol),
        "action": ACTION_OUT[event.side],
        "marketPosition": _MARKET_POSITION[event.side],
        "quantity": num(event.quantity),
        "price": num(event.price),
        **_stamp(event.at),
    }


def position_update(
    seq: int, account: str, symbol: str, values: Sequence[TicketValue], at: datetime
) -> dict[str, Any]:
    """The account's net position in ``symbol`` (the sum of its open tickets) now."""
    net = sum((v.ticket.quantity * v.ticket.side.sign for v in values), Decimal(0))
    side = Side.BUY if net > 0 else Side.SELL if net < 0 else None
    held = [v for v in values if v.ticket.side is side]
    size = sum((v.ticket.quantity for v in held), Decimal(0))
    average = (
        sum((v.ticket.open_price * v.ticket.quantity for v in held), Decimal(0)) / size
        if size
        else Decimal(0)
    )
    market = next((v.market_price for v in held if v.market_price is not None), None)
    return {
        "type": "positionUpdate",
        "seq": seq,
        "account": account,
        "instrument": symbol,
        "instrumentType": instrument_type(symbol),
        "marketPosition": "Flat" if side is None else _MARKET_POSITION[side],
        "quantity": num(abs(net)),
        "averagePrice": num(average.quantize(_PLACES)),
        "marketPrice": num(market),
        "unrealizedProfitLoss": num(sum((v.unrealized_pnl for v in values), Decimal(0))),
        **_stamp(at),
    }


def pnl_account(account: str, state: AccountState) -> dict[str, Any]:
    """One account of a ``pnlUpdate`` frame."""
    return {
        "account": account,
        "currency": state.currency,
        "cashValue": num(state.balance),
        "unrealizedProfitLoss": num(state.unrealized_pnl),
        "netLiquidation": num(state.equity),
        "initialMargin": num(state.margin_used),
        "excessInitialMargin": num(state.free_margin),
        "openPositions": len({v.ticket.symbol for v in state.positions}),
    }


def lagged_frame(gap: Lagged, stream: str) -> dict[str, Any]:
    """The bus dropped updates this connection read too slowly: say how many, and how to
    catch up."""
    return {
        "type": "lagged",
        "stream": stream,
        "missed": gap.missed,
        "firstSeq": gap.first_seq,
        "lastSeq": gap.last_seq,
        "message": (
            f"missed {gap.missed} {stream} updates (seq {gap.first_seq}..{gap.last_seq}) "
            f"because this connection read too slowly; {_RESYNC[stream]}"
        ),
    }
