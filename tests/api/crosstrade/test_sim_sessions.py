"""ORDERGATE_SIM_SESSIONS through the CrossTrade API: with ``enforce`` an instrument whose
session has closed refuses new orders and cancels (MARKET_CLOSED); with ``ignore`` both go
through, and a quote fills what it crosses, whatever the hour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import shutdown
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.store import SqlStore
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server, start

D = Decimal
SYMBOL = "CL 03-27"
ORDERS = "/v1/api/accounts/Sim101/orders"


def _closing_soon(now: datetime) -> Instrument:
    """An instrument whose session (every day) is open for the hour around ``now``."""
    session = TradingSession(
        frozenset(range(7)), (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    )
    return Instrument(
        symbol=SYMBOL,
        tick_size=D("0.01"),
        point_value=D("1000"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("100"),
        lot_step=D("1"),
        description="Crude oil",
        sessions=(session,),
    )


async def _serve(db_url: str, sessions: str) -> AsyncIterator[Server]:
    ct = await start(db_url, sim_sessions=sessions)
    instrument = _closing_soon(ct.clock.now())
    async with ct.container.store.transaction() as tx:
        await tx.accounts.add_instrument(instrument)
        await tx.commit()
    ct.container.market.add_instruments([instrument])
    ct.container.market.push(Quote(SYMBOL, D("70.00"), D("70.01"), ct.clock.now()))
    yield ct
    await ct.client.aclose()
    await shutdown(ct.container)


@pytest.fixture
async def enforced(db_url: str, store: SqlStore) -> AsyncIterator[Server]:
    """A server with the default, ORDERGATE_SIM_SESSIONS=enforce."""
    async for ct in _serve(db_url, "enforce"):
        yield ct


@pytest.fixture
async def ignored(db_url: str, store: SqlStore) -> AsyncIterator[Server]:
    """A server with ORDERGATE_SIM_SESSIONS=ignore."""
    async for ct in _serve(db_url, "ignore"):
        yield ct


async def place(ct: Server, price: str) -> httpx.Response:
    return await ct.client.post(
        f"{ORDERS}/place",
        headers=ct.auth(),
        json={
            "instrument": SYMBOL,
            "action": "BUY",
            "quantity": 1,
            "orderType": "LIMIT",
            "limitPrice": price,
            "timeInForce": "GTC",
        },
    )


async def cancel(ct: Server, order_id: str) -> httpx.Response:
    return await ct.client.post(f"{ORDERS}/{order_id}/cancel", headers=ct.auth(), json={})


async def order_state(ct: Server, order_id: str) -> str:
    response = await ct.client.get(f"{ORDERS}/{order_id}", headers=ct.auth())
    assert response.status_code == 200, response.text
    return str(response.json()["orderState"])


async def resting_after_the_close(ct: Server) -> str:
    """An order placed within the session; the clock is then moved two hours, past the close."""
    placed = await place(ct, "69.00")
    assert placed.status_code == 200, placed.text
    order_id = str(placed.json()["orderId"])
    await ct.container.engine.settle()
    assert await order_state(ct, order_id) == "Working"
    await ct.advance(2 * 3600)
    instrument = await ct.container.engine.instrument(SYMBOL)
    assert not instrument.is_open(ct.clock.now())
    return order_id


def refused_as_closed(response: httpx.Response) -> None:
    assert (response.status_code, response.json()) == (
        400,
        {"success": False, "error": f"{SYMBOL}: market_closed", "code": "MARKET_CLOSED"},
    )


async def test_enforced_sessions_refuse_orders_and_cancels_after_the_close(
    enforced: Server,
) -> None:
    ct = enforced
    order_id = await resting_after_the_close(ct)
    refused_as_closed(await place(ct, "69.50"))
    refused_as_closed(await cancel(ct, order_id))
    await ct.container.engine.settle()
    assert await order_state(ct, order_id) == "Working"


async def test_ignored_sessions_take_orders_cancels_and_fills_after_the_close(
    ignored: Server,
) -> None:
    ct = ignored
    order_id = await resting_after_the_close(ct)
    placed = await place(ct, "69.50")
    assert placed.status_code == 200, placed.text
    cancelled = await cancel(ct, order_id)
    assert cancelled.status_code == 200, cancelled.text
    await ct.container.engine.settle()
    assert await order_state(ct, order_id) == "Cancelled"
    # A quote that crosses the new order fills it, out of hours too.
    ct.container.market.push(Quote(SYMBOL, D("69.40"), D("69.45"), ct.clock.now()))
    await ct.container.engine.settle()
    assert await order_state(ct, str(placed.json()["orderId"])) == "Filled"


async def test_ignored_sessions_let_a_day_order_last_until_midnight_utc(ignored: Server) -> None:
    ct = ignored
    await resting_after_the_close(ct)
    response = await ct.client.post(
        f"{ORDERS}/place",
        headers=ct.auth(),
        json={
            "instrument": SYMBOL,
            "action": "BUY",
            "quantity": 1,
            "orderType": "LIMIT",
            "limitPrice": "69.50",
            "timeInForce": "DAY",
        },
    )
    assert response.status_code == 200, response.text
    await ct.container.engine.settle()
    order = ct.container.engine.state.order(str(response.json()["orderId"]))
    assert order is not None
    now = ct.clock.now()
    assert order.expires_at == datetime.combine(
        now.date() + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo
    )


async def market_reads(ct: Server) -> tuple[dict[str, Any], bool]:
    """GET /market/info and the quote's isMarketOpen, two hours on: past the close."""
    await ct.advance(2 * 3600)
    params, headers = {"instrument": SYMBOL}, ct.auth()
    info = (await ct.client.get("/v1/api/market/info", params=params, headers=headers)).json()
    quote = (await ct.client.get("/v1/api/market/quote", params=params, headers=headers)).json()
    assert len(info["sessions"]) == 1  # the hours stay listed either way
    return info, bool(quote["isMarketOpen"])


async def test_enforced_sessions_read_closed_after_the_close(enforced: Server) -> None:
    info, quoted_open = await market_reads(enforced)
    assert info["status"] == {"isOpen": False, "state": "Closed"}
    assert info["session"]["action"] == "Until Open"
    assert quoted_open is False


async def test_ignored_sessions_read_open_around_the_clock(ignored: Server) -> None:
    info, quoted_open = await market_reads(ignored)
    assert info["status"] == {"isOpen": True, "state": "Open"}
    assert info["session"]["action"] == "Always Open"
    assert quoted_open is True
