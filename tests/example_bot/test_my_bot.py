"""An example for bot authors: a market-making bot and its tests on the `sandbox` fixture
(ordergate.testing), a real ordergate server whose clock, quotes and venue the test drives.

The bot quotes a buy below and a sell above the market on one instrument, and pulls both
orders before the session closes: with less than a minute to go, or when the market is
closed. The tests move the server's clock to the close, and break the venue on purpose.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ordergate.client import CrossTradeClient, CrossTradeError


class MakerBot:
    """Two resting limit orders ``offset`` away from the touch, pulled near the close."""

    def __init__(self, client: CrossTradeClient, account: str, instrument: str) -> None:
        self.client, self.account, self.instrument = client, account, instrument
        self.offset = Decimal("2.50")
        self.close_buffer_s = 60
        self.order_ids: list[str] = []

    def step(self) -> None:
        """One decision: quote when there is time left, pull the orders when there is not."""
        info = self.client.get_market_info(self.instrument)
        session = info["session"]
        closing = (
            session["action"] == "Until Close"
            and session["secondsRemaining"] <= self.close_buffer_s
        )
        if not info["status"]["isOpen"] or closing:
            self.pull()
        elif not self.order_ids:
            self.quote()

    def quote(self) -> None:
        touch = self.client.get_quote(self.instrument)
        for action, price in (
            ("Buy", touch["bid"] - self.offset),
            ("Sell", touch["ask"] + self.offset),
        ):
            placed = self.client.place_order(
                self.account, self.instrument, action, 1, "Limit", "Day", limit_price=price
            )
            self.order_ids.append(placed["orderId"])

    def pull(self) -> None:
        """Cancel the bot's orders; keep those not cancelled yet, to try again (a closed
        market refuses cancels too: MARKET_CLOSED)."""
        for order_id in list(self.order_ids):
            state = self.client.get_order_status(self.account, order_id)["status"]
            if state == "Working":
                try:
                    self.client.cancel(self.account, order_id)
                except CrossTradeError as refused:
                    if refused.code != "MARKET_CLOSED":
                        raise
            elif state in ("Cancelled", "Filled", "Rejected"):
                self.order_ids.remove(order_id)

    def states(self) -> list[str]:
        return [self.client.get_order_status(self.account, i)["status"] for i in self.order_ids]


# CME's equity futures close for the day at 22:00 UTC: start ten minutes before.
BEFORE_THE_CLOSE = datetime(2026, 3, 4, 21, 50, tzinfo=UTC)


@pytest.mark.sandbox(start=BEFORE_THE_CLOSE)
def test_my_bot_cancels_its_orders_when_the_market_closes(sandbox):
    bot = MakerBot(sandbox.crosstrade, "Sim101", "ES")
    bot.step()
    assert bot.states() == ["Working", "Working"]

    sandbox.advance(8 * 60 + 30)  # 21:58:30, 90 s to the close: the bot keeps quoting
    bot.step()
    assert bot.states() == ["Working", "Working"]

    sandbox.advance(45)  # 21:59:15: inside the last minute
    placed = list(bot.order_ids)
    bot.step()
    sandbox.settle()
    assert [sandbox.crosstrade.get_order_status("Sim101", i)["status"] for i in placed] == [
        "Cancelled",
        "Cancelled",
    ]

    sandbox.advance(60)  # 22:00:15: closed; the bot places nothing, and the venue would refuse
    bot.step()
    assert bot.order_ids == []
    with pytest.raises(CrossTradeError) as refused:
        sandbox.crosstrade.place_order("Sim101", "ES", "Buy", 1, "Limit", limit_price=5990)
    assert refused.value.code == "MARKET_CLOSED"


def test_my_bot_retries_the_cancels_the_venue_refuses(sandbox):
    bot = MakerBot(sandbox.crosstrade, "Sim101", "ES")
    bot.step()
    sandbox.faults("ES 03-26", cancel_refusal_pct=100)  # a busy dealer: every cancel refused
    sandbox.advance(7 * 3600 - 30)  # 21:59:30 on the sandbox's day: the bot pulls out
    bot.step()
    sandbox.settle()
    assert bot.states() == ["Working", "Working"]  # refused, back on the book, still tracked

    sandbox.faults("ES 03-26", cancel_refusal_pct=0)
    bot.step()
    sandbox.settle()
    bot.step()
    assert bot.order_ids == []


def test_my_bots_buy_fills_when_the_price_dips(sandbox):
    bot = MakerBot(sandbox.crosstrade, "Sim101", "ES")
    bot.step()  # ES quotes 6000.00 / 6000.25: a buy at 5997.50, a sell at 6002.75
    sandbox.price_path("ES 03-26", ["5999.00", "5998.00", "5997.25"], every=1)
    assert bot.states() == ["Filled", "Working"]
    position = sandbox.crosstrade.get_position("Sim101", "ES")
    assert (position["marketPosition"], position["averagePrice"]) == ("Long", Decimal("5997.50"))
