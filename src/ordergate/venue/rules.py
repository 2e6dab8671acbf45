"""How the simulated venue behaves: latencies, cancel refusals, partial fills and closed
markets, for the whole venue and per instrument, and whether the instruments' trading hours
apply at all. The defaults are instant and honest, and keep the hours."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Literal

from ordergate.domain.errors import InvalidInput
from ordergate.domain.instruments import Instrument

__all__ = ["SessionRule", "VenueConfig", "VenueRules", "in_session"]

#: ``enforce``: an instrument trades only within its sessions; ``ignore``: every instrument
#: trades around the clock, every day (a sandbox), whatever its sessions say.
SessionRule = Literal["enforce", "ignore"]


def in_session(instrument: Instrument, at: datetime, sessions: SessionRule) -> bool:
    """Whether ``instrument``'s trading hours let it trade at ``at`` under ``sessions``."""
    return sessions == "ignore" or instrument.is_open(at)


@dataclass(frozen=True, slots=True)
class VenueRules:
    """One instrument's behaviour. Delays are milliseconds after the request (or the quote
    that crossed an order, for fills)."""

    ack_delay_ms: int = 0
    fill_delay_ms: int = 0
    cancel_delay_ms: int = 0
    #: chance, in percent, that the venue refuses a cancel that reaches it (busy dealer)
    cancel_refusal_pct: int = 0
    #: fill no more than the quote's size; otherwise every crossing order fills in full
    partial_fills: bool = False
    #: closed by the operator, whatever the sessions say
    market_closed: bool = False

    def __post_init__(self) -> None:
        for name in ("ack_delay_ms", "fill_delay_ms", "cancel_delay_ms"):
            if not 0 <= getattr(self, name) <= 3_600_000:
                raise InvalidInput(f"{name} must be 0..3600000")
        if not 0 <= self.cancel_refusal_pct <= 100:
            raise InvalidInput("cancel_refusal_pct must be 0..100")


@dataclass(slots=True)
class VenueConfig:
    """The venue-wide rules, overridden per symbol; ``seed`` makes refusals repeatable;
    ``sessions`` says whether the instruments' trading hours apply. What the venue, the engine
    and the reads take for "within trading hours" is asked here (``in_session``, ``day_end``)."""

    default: VenueRules = field(default_factory=VenueRules)
    per_symbol: dict[str, VenueRules] = field(default_factory=dict)
    seed: int = 0
    sessions: SessionRule = "enforce"

    def __post_init__(self) -> None:
        if self.sessions not in ("enforce", "ignore"):
            raise InvalidInput("sessions must be 'enforce' or 'ignore'")

    def rules(self, symbol: str) -> VenueRules:
        return self.per_symbol.get(symbol, self.default)

    def in_session(self, instrument: Instrument, at: datetime) -> bool:
        """Whether ``instrument``'s trading hours let it trade at ``at``: always when the
        sessions are ignored. (An operator's close, ``market_closed``, is apart from this.)"""
        return in_session(instrument, at, self.sessions)

    def day_end(self, instrument: Instrument, at: datetime) -> datetime | None:
        """When a day order placed at ``at`` expires: the end of the session open then (None
        if none is). With the sessions ignored every instrument trades around the clock, so
        a day order lasts until the next UTC midnight, as one on a sessionless instrument."""
        if self.sessions == "ignore":
            return datetime.combine(at.date() + timedelta(days=1), time(0), tzinfo=at.tzinfo)
        return instrument.day_end(at)

    def set(self, symbol: str | None = None, **changes: object) -> None:
        """Change some rules, venue-wide or for one symbol (starting from the venue's)."""
        if symbol is None:
            self.default = replace(self.default, **changes)  # type: ignore[arg-type]
        else:
            self.per_symbol[symbol] = replace(self.rules(symbol), **changes)  # type: ignore[arg-type]
