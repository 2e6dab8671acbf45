"""Orders and their lifecycle: one transition table, read by one small state machine."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Final, NamedTuple

from ordergate.domain.errors import InvalidInput, InvalidOrderTransition, InvalidQuantity
from ordergate.domain.ids import Login, OrderId, Ticket
from ordergate.domain.values import SCALE, shown

__all__ = [
    "CANCELLABLE",
    "LOCKED",
    "NON_TERMINAL",
    "RESTORE",
    "TERMINAL",
    "TRANSITIONS",
    "Order",
    "OrderStatus",
    "OrderType",
    "Side",
    "TimeInForce",
    "Transition",
    "Trigger",
    "next_status",
]


class Side(enum.StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(enum.StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(enum.StrEnum):
    DAY = "day"
    GTC = "gtc"
    GTD = "gtd"


class OrderStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    WORKING = "working"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CHANGE = "pending_change"
    PENDING_CANCEL = "pending_cancel"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FILLED = "filled"
    REJECTED = "rejected"


class Trigger(enum.StrEnum):
    """What happened to an order: a request of ours or a venue report."""

    ACCEPT = "accept"  # venue acknowledged; resting but not live (untriggered stop)
    WORK = "work"  # venue acknowledged and the order is live (or a stop triggered)
    PARTIAL_FILL = "partial_fill"
    FILL = "fill"
    REQUEST_CHANGE = "request_change"
    CHANGE_ACK = "change_ack"
    CHANGE_REFUSED = "change_refused"
    REQUEST_CANCEL = "request_cancel"
    CANCEL_ACK = "cancel_ack"
    CANCEL_REFUSED = "cancel_refused"
    VENUE_CANCEL = "venue_cancel"  # cancelled by the venue itself (OCO sibling filled)
    REJECT = "reject"
    EXPIRE = "expire"


class _Restore:
    """Table value: go back to the status held before the pending request."""

    def __repr__(self) -> str:
        return "RESTORE"


RESTORE: Final = _Restore()

S, T = OrderStatus, Trigger

TRANSITIONS: Final[dict[tuple[OrderStatus, Trigger], OrderStatus | _Restore]] = {
    (S.SUBMITTED, T.ACCEPT): S.ACCEPTED,
    (S.SUBMITTED, T.WORK): S.WORKING,
    # A marketable order can fill on arrival, before any separate acknowledgement.
    (S.SUBMITTED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.SUBMITTED, T.FILL): S.FILLED,
    (S.SUBMITTED, T.REJECT): S.REJECTED,
    (S.ACCEPTED, T.WORK): S.WORKING,
    # A stop can trigger and fill in one venue report.
    (S.ACCEPTED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.ACCEPTED, T.FILL): S.FILLED,
    (S.ACCEPTED, T.REQUEST_CHANGE): S.PENDING_CHANGE,
    (S.ACCEPTED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.ACCEPTED, T.VENUE_CANCEL): S.CANCELLED,
    (S.ACCEPTED, T.EXPIRE): S.EXPIRED,
    (S.WORKING, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.WORKING, T.FILL): S.FILLED,
    (S.WORKING, T.REQUEST_CHANGE): S.PENDING_CHANGE,
    (S.WORKING, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.WORKING, T.VENUE_CANCEL): S.CANCELLED,
    (S.WORKING, T.EXPIRE): S.EXPIRED,
    (S.PARTIALLY_FILLED, T.PARTIAL_FILL): S.PARTIALLY_FILLED,
    (S.PARTIALLY_FILLED, T.FILL): S.FILLED,
    (S.PARTIALLY_FILLED, T.REQUEST_CHANGE): S.PENDING_CHANGE,
    (S.PARTIALLY_FILLED, T.REQUEST_CANCEL): S.PENDING_CANCEL,
    (S.PARTIALLY_FILLED, T.VENUE_CANCEL): S.CANCELLED,
    (S.PARTIALLY_FILLED, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CHANGE, T.CHANGE_ACK): RESTORE,
    (S.PENDING_CHANGE, T.CHANGE_REFUSED): RESTORE,
    # The book keeps trading while a change is in flight.
    (S.PENDING_CHANGE, T.PARTIAL_FILL): S.PENDING_CHANGE,
    (S.PENDING_CHANGE, T.FILL): S.FILLED,
    (S.PENDING_CHANGE, T.VENUE_CANCEL): S.CANCELLED,
    (S.PENDING_CHANGE, T.EXPIRE): S.EXPIRED,
    (S.PENDING_CANCEL, T.CANCEL_ACK): S.CANCELLED,
    # The venue refused the cancel (too late, market closed): the order rests again.
    (S.PENDING_CANCEL, T.CANCEL_REFUSED): RESTORE,
    # A cancel can lose the race to a fill; a partial fill leaves the rest still cancelling.
    (S.PENDING_CANCEL, T.PARTIAL_FILL): S.PENDING_CANCEL,
    (S.PENDING_CANCEL, T.FILL): S.FILLED,
    (S.PENDING_CANCEL, T.VENUE_CANCEL): S.CANCELLED,
    (S.PENDING_CANCEL, T.EXPIRE): S.EXPIRED,
}

del S, T

TERMINAL: Final = frozenset(
    {OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.FILLED, OrderStatus.REJECTED}
)
NON_TERMINAL: Final = frozenset(OrderStatus) - TERMINAL
#: Statuses from which a cancel can be requested now.
CANCELLABLE: Final = frozenset(
    {OrderStatus.ACCEPTED, OrderStatus.WORKING, OrderStatus.PARTIALLY_FILLED}
)
#: Statuses in which the venue is still processing an earlier request.
LOCKED: Final = frozenset({OrderStatus.SUBMITTED, OrderStatus.PENDING_CHANGE})
_PENDING: Final = frozenset({OrderStatus.PENDING_CHANGE, OrderStatus.PENDING_CANCEL})
_AVG_QUANTUM: Final = Decimal(1).scaleb(-SCALE)


def next_status(
    current: OrderStatus,
    trigger: Trigger,
    prior: OrderStatus | None = None,
    filled: Decimal = Decimal(0),
) -> OrderStatus:
    """The status after ``trigger``; raise InvalidOrderTransition if the table has no edge."""
    target = TRANSITIONS.get((current, trigger))
    if target is None:
        raise InvalidOrderTransition(f"{current} -> {trigger}: no such transition")
    if isinstance(target, OrderStatus):
        return target
    if prior is None:
        raise InvalidOrderTransition(f"{current} -> {trigger}: no status to restore")
    # Fills that arrived while the request was pending show in the restored status.
    if filled > 0 and prior in (OrderStatus.ACCEPTED, OrderStatus.WORKING):
        return OrderStatus.PARTIALLY_FILLED
    return prior


class Transition(NamedTuple):
    """One step of an order's life, as stored in the audit trail. A NamedTuple rather than
    a frozen dataclass: every step builds one, and a tuple is several times cheaper."""

    from_status: OrderStatus | None
    to_status: OrderStatus
    trigger: Trigger | None
    reason: str


@dataclass(slots=True, kw_only=True)
class Order:
    """An order: ``id`` for CrossTrade, ``ticket`` for ScaleTrade; quantities are Decimal."""

    id: OrderId
    ticket: Ticket | None
    login: Login
    symbol: str
    side: Side
    type: OrderType
    quantity: Decimal
    filled: Decimal = Decimal(0)
    avg_fill_price: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    tif: TimeInForce = TimeInForce.GTC
    expires_at: datetime | None = None
    oco: str | None = None
    tag: str | None = None
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    comment: str = ""
    closes_ticket: Ticket | None = None
    status: OrderStatus = OrderStatus.SUBMITTED
    prior_status: OrderStatus | None = None
    version: int = 1
    #: the request that last moved the order (ties a bulk batch together for the venue)
    request_id: str | None = None
    created_at: datetime
    updated_at: datetime
    #: the caller's own id for the order (CrossTrade place ``orderId``), unique per account
    client_id: str | None = None

    def __post_init__(self) -> None:
        if self.quantity <= 0:
            raise InvalidQuantity("quantity must be positive")
        if not 0 <= self.filled <= self.quantity:
            raise InvalidQuantity("filled quantity must be within 0..quantity")
        needs_limit = self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
        needs_stop = self.type in (OrderType.STOP, OrderType.STOP_LIMIT)
        if needs_limit != (self.limit_price is not None):
            raise InvalidInput(
                f"{self.type} order {'needs' if needs_limit else 'takes no'} limit price"
            )
        if needs_stop != (self.stop_price is not None):
            raise InvalidInput(
                f"{self.type} order {'needs' if needs_stop else 'takes no'} stop price"
            )
        # GTD needs its expiry; a DAY order's expiry is its session's end (set by the engine).
        if self.tif is TimeInForce.GTD and self.expires_at is None:
            raise InvalidInput("a gtd order needs an expiry")
        if self.tif is TimeInForce.GTC and self.expires_at is not None:
            raise InvalidInput("a gtc order takes no expiry")
        if self.expires_at is not None and self.expires_at.tzinfo is None:
            raise InvalidInput("expiry must be timezone-aware")

    @property
    def key(self) -> Ticket:
        """The ticket of a stored order (the database assigns it on insert)."""
        if self.ticket is None:
            raise InvalidInput(f"order {self.id} has not been stored yet")
        return self.ticket

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.filled

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    def apply(self, trigger: Trigger, at: datetime, reason: str = "") -> Transition:
        """Move along the table; remember the resting status when a request goes pending."""
        new = next_status(self.status, trigger, self.prior_status, self.filled)
        step = Transition(self.status, new, trigger, reason or str(trigger))
        if new in _PENDING and self.status not in _PENDING:
            self.prior_status = self.status
        elif new not in _PENDING:
            self.prior_status = None
        self.status = new
        self.version += 1
        self.updated_at = at
        return step

    def record_fill(self, quantity: Decimal, price: Decimal, at: datetime) -> Transition:
        """Add a fill of ``quantity`` at ``price``; a fill never exceeds what remains."""
        if quantity <= 0 or quantity > self.remaining:
            raise InvalidQuantity(f"fill of {quantity} exceeds remaining {self.remaining}")
        total = self.filled + quantity
        previous = (self.avg_fill_price or Decimal(0)) * self.filled
        average = ((previous + price * quantity) / total).quantize(_AVG_QUANTUM)
        trigger = Trigger.FILL if total == self.quantity else Trigger.PARTIAL_FILL
        step = self.apply(trigger, at, f"filled {shown(quantity)} @ {price}")
        self.filled, self.avg_fill_price = total, average
        return step
