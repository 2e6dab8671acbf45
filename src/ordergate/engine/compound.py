"""Compound use cases over the engine's public methods: the net position per instrument
(CrossTrade's view of the open tickets), closing part of it, reversing it, and flattening
one account with filters.

Each is a plain function of an ``OrderEngine``; the business rules stay in the engine (who may
act, checks, the cancel and close flows), these only combine them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_CEILING, Decimal

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.commands import CancelOrders, ClosePosition, PlaceOrder
from ordergate.domain.errors import (
    Conflict,
    DomainError,
    InvalidQuantity,
    PositionNotFound,
)
from ordergate.domain.ids import OrderId
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderType, Side, TimeInForce
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal
from ordergate.domain.reports import CancelFailure, FailureCode
from ordergate.domain.values import SCALE, Quantity
from ordergate.engine.accounting import exit_price, ticket_pnl
from ordergate.engine.engine import OrderEngine
from ordergate.venue.base import Quote

__all__ = [
    "ClosedPosition",
    "FlattenFailure",
    "FlattenOutcome",
    "NetPosition",
    "close_net",
    "flatten",
    "net_position",
    "position",
    "positions",
    "reverse",
]

_QUANTUM = Decimal(1).scaleb(-SCALE)
_CENT = Decimal("0.01")

#: A part of a ticket: the ticket and how much of it.
Slice = tuple[PositionTicket, Decimal]


@dataclass(frozen=True, slots=True)
class NetPosition:
    """An account's net position in one instrument: the signed sum of its open tickets.

    ``side`` is None when flat. A hedging account's offsetting tickets make a flat position
    that still has tickets (and a profit or loss from the spread)."""

    login: int
    symbol: str
    side: Side | None
    quantity: Decimal
    #: quantity-weighted open price of the tickets on the net side; None when flat
    average_price: Decimal | None
    #: where the net position closes now: the bid for a long, the ask for a short, the mid
    #: when flat; None without a quote
    market_price: Decimal | None
    #: of every open ticket at the price each closes at, to the cent
    unrealized_pnl: Decimal
    tickets: tuple[PositionTicket, ...] = ()


def _value(
    login: int,
    symbol: str,
    slices: Sequence[Slice],
    instrument: Instrument | None,
    quote: Quote | None,
) -> NetPosition:
    signed = sum((qty * t.side.sign for t, qty in slices), Decimal(0))
    side = None if signed == 0 else Side.BUY if signed > 0 else Side.SELL
    held = [(t, qty) for t, qty in slices if t.side is side and qty > 0]
    held_qty = sum((qty for _, qty in held), Decimal(0))
    average = None
    if held_qty:
        cost = sum((t.open_price * qty for t, qty in held), Decimal(0))
        average = (cost / held_qty).quantize(_QUANTUM)
    pnl = Decimal(0)
    if instrument is not None and quote is not None:
        for t, qty in slices:
            price = exit_price(t.side, quote)
            if price is not None and qty > 0:
                pnl += ticket_pnl(_part(t, qty), price, instrument)
    market = None
    if quote is not None:
        market = quote.mid if side is None else exit_price(side, quote)
    return NetPosition(
        login=login,
        symbol=symbol,
        side=side,
        quantity=abs(signed),
        average_price=average,
        market_price=market,
        unrealized_pnl=pnl.quantize(_CENT) + 0,  # + 0: a short's zero is -0, shown as 0
        tickets=tuple(t for t, qty in slices if qty > 0),
    )


def _part(ticket: PositionTicket, quantity: Decimal) -> PositionTicket:
    return ticket if quantity == ticket.quantity else replace(ticket, quantity=quantity)


def net_position(
    login: int,
    symbol: str,
    tickets: Iterable[PositionTicket],
    instrument: Instrument | None,
    quote: Quote | None,
) -> NetPosition:
    """The net position of ``tickets`` (one account, one symbol) at ``quote``."""
    return _value(login, symbol, [(t, t.quantity) for t in tickets if t.is_open], instrument, quote)


async def positions(
    engine: OrderEngine, account: Account, *, include_flat: bool = False
) -> list[NetPosition]:
    """``account``'s net positions, by symbol: every instrument with open tickets, plus (with
    ``include_flat``) every instrument it traded before. ``account`` must come from
    ``engine.account`` (its permission check)."""
    return await _positions(engine, account, include_flat, None)


async def position(engine: OrderEngine, account: Account, symbol: str) -> NetPosition:
    """``account``'s net position in ``symbol`` (flat if it holds nothing there)."""
    (found,) = await _positions(engine, account, False, symbol)
    return found


async def _positions(
    engine: OrderEngine, account: Account, include_flat: bool, only: str | None
) -> list[NetPosition]:
    state = engine.state
    tickets = state.open_tickets(account.login)
    if only is not None:
        tickets = [t for t in tickets if t.symbol == only]
        wanted = {only}
    else:
        wanted = {t.symbol for t in tickets}
        if include_flat:
            wanted |= state.traded(account.login)
    instruments = {s: await engine.instrument(s) for s in wanted}
    by_symbol: dict[str, list[PositionTicket]] = {s: [] for s in wanted}
    for t in tickets:
        by_symbol[t.symbol].append(replace(t))
    return [
        net_position(
            account.login,
            symbol,
            by_symbol[symbol],
            instruments[symbol],
            engine.venue.quote(symbol),
        )
        for symbol in sorted(by_symbol)
    ]


@dataclass(frozen=True, slots=True)
class ClosedPosition:
    """A position (or the part of it) that closing orders were sent for, valued as it was."""

    position: NetPosition
    orders: tuple[OrderId, ...]


def _closing_quantity(
    position: NetPosition, instrument: Instrument, quantity: Decimal | None, fraction: Decimal
) -> Decimal:
    """How much to close: ``quantity`` (capped at the position), else ``fraction`` of the
    position rounded up to the lot step."""
    step = instrument.lot_step
    if quantity is not None:
        wanted = min(Quantity.of(quantity).value, position.quantity)
        if wanted <= 0:
            raise InvalidQuantity("close quantity must be positive")
        if not Quantity(wanted).on_step(step):
            raise InvalidQuantity(f"quantity {wanted} is not a multiple of lot step {step}")
        return wanted
    if not 0 < fraction <= 1:
        raise InvalidQuantity("percent must be a fraction above 0 and at most 1 (0.5 = 50%)")
    steps = (position.quantity * fraction / step).to_integral_value(rounding=ROUND_CEILING)
    return min(steps * step, position.quantity)


async def close_net(
    engine: OrderEngine,
    principal: Principal,
    account: Account,
    symbol: str,
    *,
    quantity: Decimal | None = None,
    fraction: Decimal | None = None,
) -> ClosedPosition:
    """Send market orders closing ``account``'s net position in ``symbol``: all of it, or
    ``quantity`` (capped at the position), or ``fraction`` of it (rounded up to the lot step).
    A partial close takes the net side's tickets oldest first."""
    held = await position(engine, account, symbol)
    if not held.tickets:
        raise Conflict(f"No positions found for instrument '{symbol}'")
    if quantity is None and fraction is None:
        whole = await engine.close_position(
            principal, ClosePosition(account=account.login, symbol=symbol, comment="close")
        )
        return ClosedPosition(held, tuple(o.id for o in whole))
    if held.side is None:
        raise Conflict(f"the position in {symbol} is flat (offsetting tickets): close it whole")
    instrument = await engine.instrument(symbol)
    wanted = _closing_quantity(held, instrument, quantity, fraction or Decimal(0))
    plan: list[Slice] = []
    left = wanted
    for t in held.tickets:
        if t.side is held.side and left > 0:
            plan.append((t, min(t.quantity, left)))
            left -= plan[-1][1]
    orders: list[Order] = []
    if all(t.side is held.side for t in held.tickets):
        # Every ticket is on the net side: the engine's own oldest-first plan is this plan.
        orders = await engine.close_position(
            principal,
            ClosePosition(account=account.login, symbol=symbol, quantity=wanted, comment="close"),
        )
    else:
        for t, qty in plan:
            orders += await engine.close_position(
                principal,
                ClosePosition(
                    account=account.login, ticket=t.ticket, quantity=qty, comment="close"
                ),
            )
    closed = _value(account.login, symbol, plan, instrument, engine.venue.quote(symbol))
    return ClosedPosition(closed, tuple(o.id for o in orders))


async def reverse(
    engine: OrderEngine, principal: Principal, account: Account, symbol: str
) -> Order:
    """Turn ``account``'s net position in ``symbol`` around at the same size; returns the
    order that opens the new side.

    A netting account sends one market order of twice the position the other way (it closes
    and reopens in one fill, and is refused whole if it cannot be placed). A hedging account
    first opens the opposite ticket (refused whole likewise), then closes every ticket it
    held before."""
    held = await position(engine, account, symbol)
    if held.side is None:
        raise Conflict(f"No positions found for instrument '{symbol}'")
    netting = account.mode is PositionMode.NETTING
    order = await engine.place(
        principal,
        PlaceOrder(
            account=account.login,
            symbol=symbol,
            side=held.side.opposite,
            type=OrderType.MARKET,
            quantity=held.quantity * 2 if netting else held.quantity,
            tif=TimeInForce.GTC,
            comment="reverse",
        ),
    )
    if not netting:
        for t in held.tickets:  # both sides: offsetting tickets would skew the new size
            await engine.close_position(
                principal,
                ClosePosition(account=account.login, ticket=t.ticket, comment="reverse"),
            )
    return order


@dataclass(frozen=True, slots=True)
class FlattenFailure:
    """Something flatten could not do now: an order left resting, or a position not closed."""

    login: int
    symbol: str
    code: str
    message: str
    order_id: OrderId | None = None


@dataclass(slots=True)
class FlattenOutcome:
    """What a flatten did, account by account: orders now cancelling, positions closing,
    and what it could not do (then the account is not on its way to flat)."""

    #: orders whose cancel this flatten requested, or that were already pending cancel
    cancelling: list[OrderId] = field(default_factory=list)
    closed: list[ClosedPosition] = field(default_factory=list)
    failures: list[FlattenFailure] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.failures

    def extend(self, other: FlattenOutcome) -> None:
        self.cancelling.extend(other.cancelling)
        self.closed.extend(other.closed)
        self.failures.extend(other.failures)


def _cancel_failure(failure: CancelFailure) -> FlattenFailure:
    return FlattenFailure(
        failure.login, failure.symbol, failure.cause, failure.message, failure.order_id
    )


async def flatten(
    engine: OrderEngine,
    principal: Principal,
    account: Account,
    *,
    symbol: str | None = None,
    side: Side | None = None,
) -> FlattenOutcome:
    """Cancel ``account``'s working orders, then close its positions: all, or those in
    ``symbol``, or (with ``side``) only the instruments whose net position is on that side
    (their orders too; orders in other instruments stay).

    Orders are cancelled first, so that no protective order fires against the close. An
    order that cannot be cancelled now (the venue still processing it, or refusing) and a
    position that cannot be closed are failures in the outcome, never silently skipped."""
    outcome = FlattenOutcome()
    current = await positions(engine, account)
    targets = [
        p for p in current if symbol in (None, p.symbol) and (side is None or p.side is side)
    ]
    scopes: list[str | None] = [symbol] if side is None else [p.symbol for p in targets]
    for scope in scopes:
        report = await engine.cancel_orders(
            principal, CancelOrders(account=account.login, symbol=scope)
        )
        outcome.cancelling.extend(a.order_id for a in report.accepted)
        for failure in report.failures:
            if failure.code is FailureCode.ALREADY_PENDING_CANCEL:
                outcome.cancelling.append(failure.order_id)
            else:
                outcome.failures.append(_cancel_failure(failure))
    for position in targets:
        try:
            orders = await engine.close_position(
                principal,
                ClosePosition(account=account.login, symbol=position.symbol, comment="flatten"),
            )
        except PositionNotFound:
            continue  # closed by a fill since it was read: already flat
        except DomainError as exc:
            outcome.failures.append(
                FlattenFailure(account.login, position.symbol, exc.code, exc.message)
            )
            continue
        outcome.closed.append(ClosedPosition(position, tuple(o.id for o in orders)))
    return outcome
