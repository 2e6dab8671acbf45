"""Stop-loss and take-profit on open tickets, watched against every quote.

A long ticket closes at the bid, so its stop-loss is touched when the bid falls to it and its
take-profit when the bid rises to it; a short ticket the other way round at the ask. A touched
level is taken off the watch list at once, so that a fast market cannot close a ticket twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import Side
from ordergate.domain.positions import PositionTicket
from ordergate.venue.base import Quote

__all__ = ["Protection", "Touched"]


@dataclass(frozen=True, slots=True)
class _Levels:
    login: Login
    side: Side
    stop_loss: Decimal | None
    take_profit: Decimal | None


@dataclass(frozen=True, slots=True)
class Touched:
    ticket: Ticket
    login: Login
    reason: str  # "stop loss" or "take profit"


class Protection:
    """The SL/TP levels of open tickets, by symbol."""

    def __init__(self) -> None:
        self._by_symbol: dict[str, dict[Ticket, _Levels]] = {}

    def track(self, ticket: PositionTicket) -> None:
        """Watch ``ticket`` if it is open with a level, else stop watching it."""
        book = self._by_symbol.setdefault(ticket.symbol, {})
        if ticket.is_open and (ticket.stop_loss is not None or ticket.take_profit is not None):
            book[ticket.ticket] = _Levels(
                ticket.login, ticket.side, ticket.stop_loss, ticket.take_profit
            )
        else:
            book.pop(ticket.ticket, None)

    def watched(self, symbol: str) -> list[Ticket]:
        return sorted(self._by_symbol.get(symbol, {}))

    def touched(self, quote: Quote) -> list[Touched]:
        """The tickets ``quote`` closes, taken off the watch list."""
        book = self._by_symbol.get(quote.symbol)
        if not book:
            return []
        hits: list[Touched] = []
        for ticket, lv in list(book.items()):
            price, sign = (quote.bid, 1) if lv.side is Side.BUY else (quote.ask, -1)
            reason = None
            if lv.stop_loss is not None and (price - lv.stop_loss) * sign <= 0:
                reason = "stop loss"
            elif lv.take_profit is not None and (price - lv.take_profit) * sign >= 0:
                reason = "take profit"
            if reason is not None:
                del book[ticket]
                hits.append(Touched(ticket, lv.login, reason))
        return hits
