"""Where a market opens: the reference prices of the demo instruments, and a quote one tick
wide at a price."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal

from ordergate.domain.contracts import parse_contract
from ordergate.domain.instruments import Instrument

__all__ = ["REFERENCE_PRICES", "ReferencePrices", "opening_quote"]

D = Decimal


class ReferencePrices(Mapping[str, Decimal]):
    """Prices by symbol, where a dated future (``ES 03-27``) takes its root's (``ES``): the
    demo's contracts change with the date, their market's level does not."""

    def __init__(self, prices: Mapping[str, Decimal]) -> None:
        self._prices = dict(prices)

    def __getitem__(self, symbol: str) -> Decimal:
        if symbol in self._prices:
            return self._prices[symbol]
        contract = parse_contract(symbol)
        if contract is None or contract[0] not in self._prices:
            raise KeyError(symbol)
        return self._prices[contract[0]]

    def __iter__(self) -> Iterator[str]:
        """The symbols and roots priced (a root stands for each of its contracts)."""
        return iter(self._prices)

    def __len__(self) -> int:
        return len(self._prices)


#: Where the demo instruments' markets open when nothing is known of them.
REFERENCE_PRICES = ReferencePrices(
    {
        "ES": D("6000.00"),
        "MES": D("6000.00"),
        "NQ": D("21000.00"),
        "EURUSD": D("1.08500"),
        "GBPUSD": D("1.27000"),
        "XAUUSD": D("2650.00"),
        "BTCUSD": D("100000.00"),
    }
)


def opening_quote(instrument: Instrument, price: Decimal) -> tuple[Decimal, Decimal]:
    """A one-tick-wide quote with its bid at ``price`` (snapped down to the tick grid)."""
    tick = instrument.tick_size
    bid = max((price // tick) * tick, tick)
    return bid, bid + tick
