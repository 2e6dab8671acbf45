"""What an account is worth now: balance, unrealized P&L at the quotes, equity and margin.

Computed on demand from the open tickets and the venue's current quotes, so it is as fresh as
the last quote; the balance moves in the same batch as the fill that realized a profit or
loss (engine/reports.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from ordergate.domain.accounts import Account
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Side
from ordergate.domain.positions import PositionTicket
from ordergate.venue.base import Quote

__all__ = ["AccountState", "TicketValue", "account_state", "exit_price", "ticket_pnl"]

_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class TicketValue:
    """One open ticket at the market: the price it would close at and what that yields."""

    ticket: PositionTicket
    market_price: Decimal | None
    unrealized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class AccountState:
    login: int
    currency: str
    balance: Decimal
    unrealized_pnl: Decimal
    equity: Decimal
    margin_used: Decimal
    free_margin: Decimal
    #: equity / margin used in percent; None with no margin in use
    margin_level: Decimal | None
    positions: tuple[TicketValue, ...]


def exit_price(side: Side, quote: Quote | None) -> Decimal | None:
    """Where a ticket closes now: a long sells at the bid, a short buys at the ask."""
    if quote is None:
        return None
    return quote.bid if side is Side.BUY else quote.ask


def ticket_pnl(ticket: PositionTicket, price: Decimal, instrument: Instrument) -> Decimal:
    return (price - ticket.open_price) * ticket.quantity * instrument.point_value * ticket.side.sign


def account_state(
    account: Account,
    tickets: Sequence[PositionTicket],
    instrument_of: Callable[[str], Instrument | None],
    quote_of: Callable[[str], Quote | None],
) -> AccountState:
    """Value ``tickets`` of ``account`` at the current quotes (to the cent)."""
    values: list[TicketValue] = []
    unrealized = margin = Decimal(0)
    for ticket in tickets:
        instrument = instrument_of(ticket.symbol)
        price = exit_price(ticket.side, quote_of(ticket.symbol))
        pnl = Decimal(0)
        if instrument is not None and price is not None:
            pnl = ticket_pnl(ticket, price, instrument)
            margin += ticket.quantity * price * instrument.point_value / account.leverage
        values.append(TicketValue(ticket, price, pnl.quantize(_CENT)))
        unrealized += pnl
    equity = account.balance + unrealized
    margin = margin.quantize(_CENT)
    return AccountState(
        login=account.login,
        currency=account.currency,
        balance=account.balance.quantize(_CENT),
        unrealized_pnl=unrealized.quantize(_CENT),
        equity=equity.quantize(_CENT),
        margin_used=margin,
        free_margin=(equity - margin).quantize(_CENT),
        margin_level=(equity * 100 / margin).quantize(_CENT) if margin else None,
        positions=tuple(values),
    )
