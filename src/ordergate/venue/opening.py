"""Where a market opens: the reference prices of the demo instruments, and a quote one tick
wide at a price."""

from __future__ import annotations

from decimal import Decimal

from ordergate.domain.instruments import Instrument

__all__ = ["REFERENCE_PRICES", "opening_quote"]

D = Decimal

#: Where the demo instruments' markets open when nothing is known of them.
REFERENCE_PRICES: dict[str, Decimal] = {
    "MES 12-25": D("6000.00"),
    "ES 09-26": D("6000.00"),
    "ES 12-26": D("6000.00"),
    "NQ 12-26": D("21000.00"),
    "EURUSD": D("1.08500"),
    "GBPUSD": D("1.27000"),
    "XAUUSD": D("2650.00"),
    "BTCUSD": D("100000.00"),
}


def opening_quote(instrument: Instrument, price: Decimal) -> tuple[Decimal, Decimal]:
    """A one-tick-wide quote with its bid at ``price`` (snapped down to the tick grid)."""
    tick = instrument.tick_size
    bid = max((price // tick) * tick, tick)
    return bid, bid + tick
