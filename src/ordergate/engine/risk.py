"""Pre-trade checks: a valid order for its instrument, protective levels on the right side,
and enough margin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal

from ordergate.domain.accounts import Account
from ordergate.domain.errors import InsufficientMargin, InvalidInput, InvalidStops, Rejected
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderType, Side, TimeInForce
from ordergate.domain.values import Price, Quantity
from ordergate.venue.base import Quote

__all__ = [
    "check_levels",
    "check_margin",
    "check_order",
    "check_stops",
    "mark_price",
    "required_margin",
]


def check_order(order: Order, instrument: Instrument, now: datetime) -> None:
    """Quantity within lot limits and on the step; prices positive and on the tick grid."""
    instrument.check_quantity(Quantity(order.quantity))
    for what, value in (
        ("limit price", order.limit_price),
        ("stop price", order.stop_price),
        ("stop loss", order.stop_loss),
        ("take profit", order.take_profit),
    ):
        if value is not None:
            instrument.check_price(Price.of(value), what)
    if order.tif is TimeInForce.GTD and order.expires_at is not None and order.expires_at <= now:
        raise InvalidInput("expiry must be in the future")
    if order.type is OrderType.MARKET and order.tif is TimeInForce.GTD:
        raise InvalidInput("a market order cannot be good-till-date")


def check_levels(
    side: Side,
    reference: Decimal,
    stop_loss: Decimal | None,
    take_profit: Decimal | None,
    what: str,
) -> None:
    """A long's stop-loss below ``reference`` and its take-profit above; a short's the other
    way round. A level on the wrong side would close the trade the moment it opens."""
    sign = side.sign
    if stop_loss is not None and (reference - stop_loss) * sign <= 0:
        where = "below" if side is Side.BUY else "above"
        raise InvalidStops(f"a {side} stop-loss must be {where} the {what} {reference}")
    if take_profit is not None and (take_profit - reference) * sign <= 0:
        where = "above" if side is Side.BUY else "below"
        raise InvalidStops(f"a {side} take-profit must be {where} the {what} {reference}")


def check_stops(order: Order, quote: Quote | None) -> None:
    """The order's stop-loss and take-profit against its entry: its limit (or stop) price,
    or for a market order the price it would fill at now (unknown without a quote)."""
    if order.stop_loss is None and order.take_profit is None:
        return
    entry = order.limit_price if order.limit_price is not None else order.stop_price
    if entry is None:
        if quote is None:
            return
        entry = quote.ask if order.side is Side.BUY else quote.bid
    check_levels(order.side, entry, order.stop_loss, order.take_profit, "entry price")


def mark_price(quote: Quote | None, order: Order | None = None) -> Decimal | None:
    """The price margin is measured at: the quote's mid, else the order's own price."""
    if quote is not None:
        return quote.mid
    if order is not None:
        return order.limit_price or order.stop_price
    return None


def required_margin(
    quantity: Decimal, price: Decimal, instrument: Instrument, leverage: int
) -> Decimal:
    return quantity * price * instrument.point_value / leverage


def check_margin(
    account: Account,
    order: Order,
    instrument: Instrument,
    exposure: Mapping[str, Decimal],
    instrument_of: Callable[[str], Instrument | None],
    quote_of: Callable[[str], Quote | None],
) -> None:
    """Refuse ``order`` unless the balance covers the margin of everything the account holds
    and rests, plus this order (a conservative measure: opposite sides are not netted)."""
    price = mark_price(quote_of(order.symbol), order)
    if price is None:
        raise Rejected(f"no market price for {order.symbol}")
    needed = required_margin(order.quantity, price, instrument, account.leverage)
    used = Decimal(0)
    for symbol, quantity in exposure.items():
        other = instrument if symbol == instrument.symbol else instrument_of(symbol)
        mark = mark_price(quote_of(symbol))
        if other is not None and mark is not None:
            used += required_margin(quantity, mark, other, account.leverage)
    free = account.balance - used
    if needed > free:
        raise InsufficientMargin(
            f"order needs margin {needed:.2f} {account.currency}, free margin is {free:.2f}"
        )
