"""The pure model of ordergate. Imports only the standard library."""

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.errors import DomainError
from ordergate.domain.ids import Login, OrderId, Ticket, UserId, new_order_id
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce, Trigger
from ordergate.domain.positions import Fill, PositionTicket
from ordergate.domain.principal import Principal, Role, can_act
from ordergate.domain.reports import CancelReport, FailureCode
from ordergate.domain.values import Money, Price, Quantity

__all__ = [
    "Account",
    "CancelReport",
    "DomainError",
    "FailureCode",
    "Fill",
    "Instrument",
    "Login",
    "Money",
    "Order",
    "OrderId",
    "OrderStatus",
    "OrderType",
    "PositionMode",
    "PositionTicket",
    "Price",
    "Principal",
    "Quantity",
    "Role",
    "Side",
    "Ticket",
    "TimeInForce",
    "TradingSession",
    "Trigger",
    "UserId",
    "can_act",
    "new_order_id",
]
