"""Pre-trade checks: a known instrument, a valid order for it, and enough margin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal

from ordergate.domain.accounts import Account
from ordergate.domain.errors import InsufficientMargin, InvalidInput, Rejected
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderType, TimeInForce
from ordergate.domain.values import Price, Quantity
from ordergate.venue.base import Quote

__all__ = ["check_margin", "check_order", "mark_price", "required_margin"]


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


async def check_margin(
    account: Account,
    order: Order,
    instrument: Instrument,
    exposure: dict[str, Decimal],
    instrument_of: Callable[[str], Awaitable[Instrument | None]],
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
        other = instrument if symbol == instrument.symbol else await instrument_of(symbol)
        mark = mark_price(quote_of(symbol))
        if other is not None and mark is not None:
            used += required_margin(quantity, mark, other, account.leverage)
    free = account.balance - used
    if needed > free:
        raise InsufficientMargin(
            f"order needs margin {needed:.2f} {account.currency}, free margin is {free:.2f}"
        )
