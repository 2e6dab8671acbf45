"""The event streams against a real server: updates arrive, a dropped connection is opened
again with its subscriptions, and rpc answers come back (or raise) through the socket."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from ordergate.client import BUY_LIMIT, AsyncCrossTradeClient, CrossTradeError, ScaleTradeStream
from tests.client.proxy import relay

D = Decimal


def _order_update(order_id: str, state: str) -> Callable[[Any], bool]:
    return lambda f: (
        isinstance(f, dict)
        and f.get("type") == "orderUpdate"
        and f.get("orderId") == order_id
        and f.get("orderState") == state
    )


async def test_crosstrade_stream_delivers_updates_and_resubscribes_after_a_drop(sandbox):
    async with relay(sandbox.base_url) as net:
        ct = AsyncCrossTradeClient(net.base_url, sandbox.token)
        async with ct, ct.stream() as stream:
            await stream.subscribe(["BTCUSD"])
            await stream.wait_for(lambda f: f.get("type") == "marketData")
            placed = await ct.place_order(
                "Sim101", "BTCUSD", "Buy", D("0.01"), "Limit", limit_price=99000
            )
            await stream.wait_for(_order_update(placed["orderId"], "Working"))

            net.cut()
            await stream.wait_for(lambda f: f == {"type": "reconnected"})
            assert stream.reconnects == 1
            sandbox.quote("BTCUSD", D("99500.00"), D("99500.50"))
            moved = await stream.wait_for(
                lambda f: (
                    f.get("type") == "marketData"
                    and any(q["bid"] == D("99500") for q in f["quotes"])
                )
            )
            assert moved["quotes"][0]["instrument"] == "BTCUSD"

            await ct.cancel("Sim101", placed["orderId"])
            await stream.wait_for(_order_update(placed["orderId"], "Cancelled"))
            orders = await stream.rpc("GetOrders", {"account": "Sim101"})
            assert placed["orderId"] not in {o["orderId"] for o in orders["orders"]}
            with pytest.raises(CrossTradeError) as refused:
                await stream.rpc("GetOrder", {"account": "Sim101", "orderId": "nope"})
            assert refused.value.code == "ORDER_NOT_FOUND"


async def test_scaletrade_stream_delivers_trade_records_after_a_drop(sandbox):
    st = sandbox.scaletrade()

    async def session() -> str:
        return str(st.token())

    async with relay(sandbox.base_url) as net, ScaleTradeStream(net.base_url, session) as stream:
        await stream.wait_for(lambda f: isinstance(f, list) and f[0] == "b")
        await stream.subscribe(["BTCUSD"])
        await stream.wait_for(lambda f: isinstance(f, list) and f[:2] == ["t", "BTCUSD"])

        net.cut()
        await stream.wait_for(lambda f: f == {"event": "reconnected"})
        ticket = st.open_pending("BTCUSD", BUY_LIMIT, 1, 99000)["order"]
        record = await stream.wait_for(lambda f: isinstance(f, list) and f[:2] == ["o", ticket])
        assert record[3] == "BTCUSD"
        sandbox.quote("BTCUSD", D("99600.00"), D("99600.01"))
        await stream.wait_for(lambda f: isinstance(f, list) and f[0] == "t" and f[2] == D("99600"))
