"""What NT8 says of an instrument beside its symbol: its instrument type, exchange and
trading-hours template, as CrossTrade's order, position, execution and quote objects carry
them.

The simulated venue does not keep these (they change nothing in matching), so they are read
from the symbol: a futures contract (``ES 03-27``) by its root, the rest by its form: a
crypto pair, a spot metal, or a currency pair. The names are NT8's own (``Future``,
``Forex``, ``Cfd``, ``CryptoCurrency``; ``Globex``, ``Nymex``, ``CBOT``; the templates of
NT8's Trading Hours window); a root or symbol not listed gets the generic ones.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = ["Nt8Instrument", "describe"]


@dataclass(frozen=True, slots=True)
class Nt8Instrument:
    """``type``: NT8's InstrumentType; ``exchange`` and ``trading_hours`` (template name)."""

    type: str
    exchange: str
    trading_hours: str


_FUTURE: Final = re.compile(r"([A-Z0-9]{1,5}) (0[1-9]|1[0-2])-[0-9]{2}")

_INDEX = ("Globex", "CME US Index Futures ETH")
_FX_FUTURES = ("Globex", "CME FX Futures ETH")
_ENERGY = ("Nymex", "Nymex Energy ETH")
_METALS = ("Nymex", "Nymex Metals - Energy ETH")
_RATES = ("CBOT", "CBOT Interest Rate ETH")
_GRAINS = ("CBOT", "CBOT Agriculture")
_CBOT_INDEX = ("CBOT", "CME US Index Futures ETH")

#: Futures roots by exchange and trading-hours template.
_ROOTS: Final[dict[str, tuple[str, str]]] = {
    **dict.fromkeys(("ES", "MES", "NQ", "MNQ", "RTY", "M2K", "EMD"), _INDEX),
    **dict.fromkeys(("YM", "MYM"), _CBOT_INDEX),
    **dict.fromkeys(("6E", "6B", "6J", "6A", "6C", "6S", "M6E", "M6B"), _FX_FUTURES),
    **dict.fromkeys(("CL", "MCL", "QM", "NG", "QG", "RB", "HO"), _ENERGY),
    **dict.fromkeys(("GC", "MGC", "SI", "SIL", "HG", "MHG", "PL", "PA"), _METALS),
    **dict.fromkeys(("ZN", "ZB", "ZF", "ZT", "UB", "TN"), _RATES),
    **dict.fromkeys(("ZC", "ZS", "ZW", "ZL", "ZM", "ZO"), _GRAINS),
}
_GENERIC_FUTURE = ("Globex", "CME US Index Futures ETH")

_CRYPTO: Final = re.compile(
    r"(?:BTC|ETH|SOL|LTC|XRP|ADA|DOGE|BCH|DOT|LINK|AVAX)(?:USD|USDT|USDC|EUR|GBP|JPY)"
)
_METAL_SPOT: Final = re.compile(r"X(?:AU|AG|PT|PD)[A-Z]{3}")
_CURRENCY: Final = re.compile(r"[A-Z]{6}")

_CRYPTO_PAIR = Nt8Instrument("CryptoCurrency", "Default", "Cryptocurrency")
_METAL_PAIR = Nt8Instrument("Cfd", "Default", "Forex")
_CURRENCY_PAIR = Nt8Instrument("Forex", "Default", "Forex")
_OTHER = Nt8Instrument("Cfd", "Default", "Default 24 x 7")


def describe(symbol: str) -> Nt8Instrument:
    """NT8's type, exchange and trading-hours template for ``symbol``."""
    future = _FUTURE.fullmatch(symbol)
    if future is not None:
        exchange, hours = _ROOTS.get(future.group(1), _GENERIC_FUTURE)
        return Nt8Instrument("Future", exchange, hours)
    if _CRYPTO.fullmatch(symbol):
        return _CRYPTO_PAIR
    if _METAL_SPOT.fullmatch(symbol):
        return _METAL_PAIR
    if _CURRENCY.fullmatch(symbol):
        return _CURRENCY_PAIR
    return _OTHER
