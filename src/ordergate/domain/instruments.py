"""Instruments and their trading sessions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal

from ordergate.domain.errors import InvalidInput, InvalidPrice, InvalidQuantity
from ordergate.domain.values import Price, Quantity

__all__ = ["Instrument", "TradingSession"]


@dataclass(frozen=True, slots=True)
class TradingSession:
    """A weekly window in UTC: open on ``days`` (0 = Monday) from ``start`` to ``end``.

    ``end <= start`` means the session runs past midnight into the next day (futures' evening
    open). An instrument with no sessions trades around the clock.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        if not self.days or not self.days <= frozenset(range(7)):
            raise InvalidInput("session days must be a non-empty subset of 0..6")

    def closes_at(self, at: datetime) -> datetime | None:
        """When the window open at ``at`` closes (None if it is not open then)."""
        if not self.is_open(at):
            return None
        close = datetime.combine(at.date(), self.end, tzinfo=at.tzinfo)
        if self.end <= self.start and at.timetz().replace(tzinfo=None) >= self.start:
            close += timedelta(days=1)  # opened this evening, closes tomorrow
        return close

    def is_open(self, at: datetime) -> bool:
        moment = at.timetz().replace(tzinfo=None)
        weekday = at.weekday()
        if self.start < self.end:
            return weekday in self.days and self.start <= moment < self.end
        # Overnight window: opened on `days`, closes on the following day.
        return (weekday in self.days and moment >= self.start) or (
            (weekday - 1) % 7 in self.days and moment < self.end
        )


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable symbol with its price grid, lot rules and sessions."""

    symbol: str
    tick_size: Decimal
    point_value: Decimal
    digits: int
    lot_min: Decimal
    lot_max: Decimal
    lot_step: Decimal
    currency: str = "USD"
    description: str = ""
    sessions: tuple[TradingSession, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.symbol or len(self.symbol) > 32:
            raise InvalidInput("symbol must be 1 to 32 characters")
        for name in ("tick_size", "point_value", "lot_min", "lot_max", "lot_step"):
            if getattr(self, name) <= 0:
                raise InvalidInput(f"{name} must be positive")
        if self.lot_min > self.lot_max:
            raise InvalidInput("lot_min must not exceed lot_max")
        if not 0 <= self.digits <= 8:
            raise InvalidInput("digits must be 0..8")

    def is_open(self, at: datetime) -> bool:
        return not self.sessions or any(s.is_open(at) for s in self.sessions)

    def day_end(self, at: datetime) -> datetime | None:
        """When a day order placed at ``at`` expires: the end of the session open then, or
        the next UTC midnight for an instrument that trades around the clock. None when no
        session is open at ``at``."""
        if not self.sessions:
            return datetime.combine(at.date() + timedelta(days=1), time(0), tzinfo=at.tzinfo)
        ends = [end for s in self.sessions if (end := s.closes_at(at)) is not None]
        return min(ends) if ends else None

    def check_quantity(self, quantity: Quantity) -> None:
        """Raise unless ``quantity`` is within the lot limits and on the lot step."""
        q = quantity.value
        if q <= 0:
            raise InvalidQuantity("quantity must be positive")
        if q < self.lot_min or q > self.lot_max:
            raise InvalidQuantity(
                f"quantity {q} outside {self.symbol} limits {self.lot_min}..{self.lot_max}"
            )
        if not quantity.on_step(self.lot_step):
            raise InvalidQuantity(f"quantity {q} is not a multiple of lot step {self.lot_step}")

    def check_price(self, price: Price, what: str = "price") -> None:
        """Raise unless ``price`` lies on the tick grid."""
        if not price.on_tick(self.tick_size):
            raise InvalidPrice(f"{what} {price} is not on {self.symbol} tick size {self.tick_size}")
