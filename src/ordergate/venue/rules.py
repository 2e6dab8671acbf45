"""How the simulated venue behaves: latencies, cancel refusals, partial fills and closed
markets, for the whole venue and per instrument. The defaults are instant and honest."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ordergate.domain.errors import InvalidInput

__all__ = ["VenueConfig", "VenueRules"]


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
    """The venue-wide rules, overridden per symbol; ``seed`` makes refusals repeatable."""

    default: VenueRules = field(default_factory=VenueRules)
    per_symbol: dict[str, VenueRules] = field(default_factory=dict)
    seed: int = 0

    def rules(self, symbol: str) -> VenueRules:
        return self.per_symbol.get(symbol, self.default)

    def set(self, symbol: str | None = None, **changes: object) -> None:
        """Change some rules, venue-wide or for one symbol (starting from the venue's)."""
        if symbol is None:
            self.default = replace(self.default, **changes)  # type: ignore[arg-type]
        else:
            self.per_symbol[symbol] = replace(self.rules(symbol), **changes)  # type: ignore[arg-type]
