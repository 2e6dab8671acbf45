"""The engine publishes on the bus: each order transition, fill and position change reaches the
subscribers of its account, after its commit, in the wire form of engine/schema.py."""

from __future__ import annotations

from typing import Any

import orjson

from ordergate.bootstrap import bootstrap, shutdown
from ordergate.domain.commands import CancelOrders
from ordergate.domain.orders import Side
from ordergate.engine.bus import EventBus, Subscription
from ordergate.engine.schema import Envelope
from ordergate.settings import Settings
from ordergate.store import SqlStore
from tests.builders import limit, market, world


def drain(sub: Subscription) -> list[Envelope]:
    out = []
    while (envelope := sub.get_nowait()) is not None:
        out.append(envelope)
    return out


def wire(envelopes: list[Envelope]) -> list[dict[str, Any]]:
    """What a WebSocket client would read: the JSON, parsed back."""
    return [orjson.loads(orjson.dumps(e.to_wire())) for e in envelopes]


async def test_a_market_order_publishes_its_transitions_fill_and_position(
    store: SqlStore,
) -> None:
    w = await world(store)
    bus = EventBus()
    w.engine.sink = bus
    sub = bus.subscribe(accounts=[1001])
    order = await w.engine.place(w.me, market(Side.BUY, "2"))
    await w.engine.settle()
    got = wire(drain(sub))

    assert [m["seq"] for m in got] == sorted(m["seq"] for m in got)
    orders = [m["data"] for m in got if m["type"] == "order"]
    assert (orders[0]["from_status"], orders[0]["to_status"]) == (None, "submitted")
    assert orders[-1]["to_status"] == "filled"
    assert {o["order_id"] for o in orders} == {order.id}
    assert {o["ticket"] for o in orders} == {order.key}
    [fill] = [m["data"] for m in got if m["type"] == "fill"]
    assert fill | {"at": None} == {
        "order_id": order.id,
        "ticket": order.key,
        "login": 1001,
        "symbol": "ES 12-26",
        "side": "buy",
        "quantity": "2",
        "price": "5000.25",  # the ask
        "at": None,
    }
    [position] = [m["data"] for m in got if m["type"] == "position"]
    assert position | {"ticket": None, "at": None} == {
        "ticket": None,
        "login": 1001,
        "symbol": "ES 12-26",
        "side": "buy",
        "quantity": "2",
        "open_price": "5000.25",
        "realized_pnl": "0",
        "at": None,
    }
    kinds = [m["type"] for m in got]
    assert kinds.index("fill") < kinds.index("position")


async def test_a_bulk_cancel_publishes_pending_cancel_then_cancelled_per_accepted_order(
    store: SqlStore,
) -> None:
    w = await world(store)
    placed = [await w.engine.place(w.me, limit(price=str(4990 - i))) for i in range(3)]
    await w.engine.settle()
    bus = EventBus()
    w.engine.sink = bus
    sub = bus.subscribe(accounts=[1001], kinds=["order"])
    report = await w.engine.cancel_orders(w.me, CancelOrders(account="sim101"))
    assert report.cancelled == 3
    pending = [m["data"] for m in wire(drain(sub)) if m["data"]["to_status"] == "pending_cancel"]
    assert sorted(p["ticket"] for p in pending) == sorted(o.key for o in placed)
    assert {(p["from_status"], p["reason"]) for p in pending} == {
        ("working", "bulk cancel requested")
    }
    await w.engine.settle()
    confirmed = [m["data"] for m in wire(drain(sub))]
    assert sorted(c["ticket"] for c in confirmed) == sorted(o.key for o in placed)
    assert {(c["from_status"], c["to_status"]) for c in confirmed} == {
        ("pending_cancel", "cancelled")
    }


async def test_other_accounts_events_do_not_reach_an_account_subscriber(store: SqlStore) -> None:
    w = await world(store)
    bus = EventBus()
    w.engine.sink = bus
    mine = bus.subscribe(accounts=[1001])
    everything = bus.subscribe()
    await w.engine.place(w.admin, market(account_ref=2002))
    await w.engine.place(w.me, market())
    await w.engine.settle()
    assert {e.data.login for e in drain(mine)} == {1001}  # type: ignore[union-attr]
    assert {e.data.login for e in drain(everything)} == {1001, 2002}  # type: ignore[union-attr]


async def test_the_engine_builds_no_events_once_the_last_subscriber_left(
    store: SqlStore,
) -> None:
    w = await world(store)
    bus = EventBus()
    w.engine.sink = bus
    async with bus.subscribe():
        await w.engine.place(w.me, market())
        await w.engine.settle()
    seen = bus.last_seq
    assert seen > 0
    await w.engine.place(w.me, market())
    await w.engine.settle()
    assert bus.last_seq == seen


async def test_bootstrap_wires_the_bus_as_the_engines_sink(store: SqlStore, db_url: str) -> None:
    container = await bootstrap(Settings(database_url=db_url, secret=None))
    try:
        assert container.engine.sink is container.bus
        sub = container.bus.subscribe()
    finally:
        await shutdown(container)
    assert sub.closed, "shutdown ends the streams"
