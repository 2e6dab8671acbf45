"""NT8's instrument type, exchange and trading hours, read from the symbol."""

from __future__ import annotations

import pytest

from ordergate.api.crosstrade.nt8 import Nt8Instrument, describe


@pytest.mark.parametrize(
    ("symbol", "expected"),
    [
        ("ES 03-27", Nt8Instrument("Future", "Globex", "CME US Index Futures ETH")),
        ("MES 12-26", Nt8Instrument("Future", "Globex", "CME US Index Futures ETH")),
        ("YM 03-27", Nt8Instrument("Future", "CBOT", "CME US Index Futures ETH")),
        ("CL 01-27", Nt8Instrument("Future", "Nymex", "Nymex Energy ETH")),
        ("GC 02-27", Nt8Instrument("Future", "Nymex", "Nymex Metals - Energy ETH")),
        ("ZN 03-27", Nt8Instrument("Future", "CBOT", "CBOT Interest Rate ETH")),
        ("6E 03-27", Nt8Instrument("Future", "Globex", "CME FX Futures ETH")),
        ("EURUSD", Nt8Instrument("Forex", "Default", "Forex")),
        ("GBPUSD", Nt8Instrument("Forex", "Default", "Forex")),
        ("XAUUSD", Nt8Instrument("Cfd", "Default", "Forex")),
        ("BTCUSD", Nt8Instrument("CryptoCurrency", "Default", "Cryptocurrency")),
        ("ETHUSDT", Nt8Instrument("CryptoCurrency", "Default", "Cryptocurrency")),
        ("US500", Nt8Instrument("Cfd", "Default", "Default 24 x 7")),
    ],
)
def test_each_kind_of_symbol_gets_its_nt8_type_exchange_and_hours(
    symbol: str, expected: Nt8Instrument
) -> None:
    assert describe(symbol) == expected


def test_an_unlisted_futures_root_is_still_a_future() -> None:
    assert describe("ZZ 06-27").type == "Future"
