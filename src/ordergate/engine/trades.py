"""Use cases addressed by ticket, MT4 style: what ScaleTrade's trade requests need.

A ticket names an order, and the position ticket its fills opened carries the same number. A
ticket of an account the caller may not act on answers exactly like an unknown one, so that a
session learns nothing about other accounts' tickets.

Each is a plain function of an ``OrderEngine``: who may act, the checks and the order flows
stay in the engine; these find the account of a ticket and combine them.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass, field

from ordergate.domain.accounts import Account
from ordergate.domain.commands import AccountRef, ClosePosition, ModifyTrade
from ordergate.domain.errors import (
    DomainError,
    InvalidInput,
    NoQuote,
    PositionNotFound,
)
from ordergate.domain.ids import Ticket
from ordergate.domain.orders import Order
from ordergate.domain.positions import PositionTicket
from ordergate.domain.principal import Principal
from ordergate.engine import queries
from ordergate.engine.accounting import TicketValue
from ordergate.engine.engine import OrderEngine

__all__ = [
    "AccountTrades",
    "CloseGroupReport",
    "Profit",
    "TicketClosed",
    "TicketFailed",
    "account_trades",
    "close_group",
    "close_trade",
    "modify_trade",
    "ticket_account",
]


class Profit(enum.IntEnum):
    """Which open tickets a group close takes (ScaleTrade's ``type``)."""

    ALL = 0
    PROFITABLE = 1
    LOSING = -1


@dataclass(frozen=True, slots=True)
class TicketClosed:
    """A ticket a group close sent a closing order for."""

    ticket: PositionTicket
    order: Order


@dataclass(frozen=True, slots=True)
class TicketFailed:
    """A ticket a group close matched but could not close, and why."""

    ticket: PositionTicket
    error: DomainError


@dataclass(slots=True)
class CloseGroupReport:
    closed: list[TicketClosed] = field(default_factory=list)
    failed: list[TicketFailed] = field(default_factory=list)

    @property
    def matched(self) -> int:
        return len(self.closed) + len(self.failed)


@dataclass(frozen=True, slots=True)
class AccountTrades:
    """Everything ScaleTrade's trade queries show of one account."""

    account: Account
    #: non-terminal orders (pending orders, and market orders not yet filled)
    working: list[Order]
    #: pending orders cancelled, expired or rejected
    deleted: list[Order]
    #: open tickets at the current quotes
    open: list[TicketValue]
    #: tickets closed in full
    closed: list[PositionTicket]
    #: the digits of each symbol the above are in
    digits: dict[str, int] = field(default_factory=dict)


async def ticket_account(engine: OrderEngine, principal: Principal, ticket: Ticket) -> Account:
    """The account of order (or position ticket) ``ticket``, if ``principal`` may act on it;
    ``OrderNotFound`` for an unknown ticket and for one of someone else's accounts alike."""
    return await queries.order_account(engine, principal, ticket)


async def modify_trade(
    engine: OrderEngine, principal: Principal, cmd: ModifyTrade
) -> PositionTicket:
    """Set or remove the stop-loss and take-profit of an open ticket. Levels must be on the
    tick grid and on the right side of the price the ticket would close at now."""
    return await engine.modify_trade(principal, cmd)


async def close_trade(
    engine: OrderEngine, principal: Principal, cmd: ClosePosition
) -> TicketClosed:
    """Send the market order that closes ticket ``cmd.ticket`` (all of it or
    ``cmd.quantity``); the engine refuses it (``OrderLocked``) while an earlier close of
    the ticket is on its way."""
    if cmd.ticket is None:
        raise InvalidInput("give the ticket of the trade to close")
    account = await engine.account(principal, cmd.account)
    found = engine.state.position_ticket(cmd.ticket)
    if found is None or found.login != account.login or not found.is_open:
        raise PositionNotFound(f"no open trade {cmd.ticket}")
    ticket = copy.copy(found)
    return TicketClosed(ticket, (await engine.close_position(principal, cmd))[0])


async def close_group(
    engine: OrderEngine,
    principal: Principal,
    account: AccountRef,
    which: Profit,
    symbol: str | None = None,
    comment: str = "",
) -> CloseGroupReport:
    """Close every open ticket of ``account`` (in ``symbol``) that ``which`` takes, each with
    its own closing order; a ticket that cannot be closed is reported with the reason, never
    skipped. A ticket with no price to value it at matches a profit filter only as a failure."""
    state = await queries.account_state(engine, principal, account)
    if symbol is not None:
        await engine.instrument(symbol)
    report = CloseGroupReport()
    for value in state.positions:
        ticket = value.ticket
        if symbol is not None and ticket.symbol != symbol:
            continue
        if which is not Profit.ALL:
            if value.market_price is None:
                error = NoQuote(f"no quote for {ticket.symbol} to value trade {ticket.ticket}")
                report.failed.append(TicketFailed(ticket, error))
                continue
            pnl = value.unrealized_pnl
            if (which is Profit.PROFITABLE and pnl <= 0) or (which is Profit.LOSING and pnl >= 0):
                continue
        try:
            orders = await engine.close_position(
                principal,
                ClosePosition(account=state.login, ticket=ticket.ticket, comment=comment),
            )
        except DomainError as exc:
            report.failed.append(TicketFailed(ticket, exc))
        else:
            report.closed.append(TicketClosed(ticket, orders[0]))
    return report


async def account_trades(
    engine: OrderEngine, principal: Principal, ref: AccountRef, *, history: bool
) -> AccountTrades:
    """The account's working orders and open tickets, and with ``history`` its deleted
    pending orders and closed tickets, with the digits of their symbols."""
    state = await queries.account_state(engine, principal, ref)
    account = await engine.account(principal, state.login)
    working = await queries.open_orders(engine, principal, account.login)
    deleted: list[Order] = []
    closed: list[PositionTicket] = []
    if history:
        deleted = await engine.records.deleted_pending(account.login)
        closed = await engine.records.closed_tickets(account.login)
    symbols = {o.symbol for o in (*working, *deleted)} | {t.symbol for t in closed}
    symbols |= {v.ticket.symbol for v in state.positions}
    digits = {}
    for symbol in sorted(symbols):
        await engine.know(symbol=symbol)
        instrument = engine.state.maybe_instrument(symbol)
        if instrument is not None:
            digits[symbol] = instrument.digits
    return AccountTrades(account, working, deleted, list(state.positions), closed, digits)
