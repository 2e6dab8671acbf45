"""The simulated exchange as a client meets it: partial fills, latency races, refusals,
expiry, stop-loss/take-profit and P&L to the cent, on SQLite and PostgreSQL."""

import asyncio
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest

from ordergate.domain.accounts import PositionMode
from ordergate.domain.clock import ManualClock
from ordergate.domain.commands import CancelOrder, CancelOrders, ChangeOrder, PlaceOrder
from ordergate.domain.errors import MarketClosed
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.domain.orders import OrderStatus as S
from ordergate.domain.orders import OrderType, Side, TimeInForce
from ordergate.engine import queries
from tests.builders import events_of, limit, market, world
from tests.invariants import violations

D = Decimal


async def status(w, order):
    return await w.status(order)


async def positions(w, include_closed=False):
    """The account's open tickets (and with ``include_closed`` those closed in full too)."""
    return w.open_tickets() + (await w.closed_tickets() if include_closed else [])


async def test_partial_fills_share_out_the_quote_size(store):
    w = await world(store)
    w.venue.config.set("ES 12-26", partial_fills=True)
    first = await w.engine.place(w.me, limit(price="4990", qty="5"))
    second = await w.engine.place(w.me, limit(price="4990", qty="2"))
    await w.engine.settle()
    w.quote("ES 12-26", "4989.75", "4990.00", size="3")
    await w.engine.settle()
    got = await w.order(first.id)
    assert (got.status, got.filled) == (S.PARTIALLY_FILLED, D("3"))
    assert await status(w, second) is S.WORKING  # time priority: the older order fills first
    w.quote("ES 12-26", "4989.50", "4989.75", size="10")
    await w.engine.settle()
    assert (await w.order(first.id)).filled == D("5")
    got = await w.order(second.id)
    assert (got.status, got.avg_fill_price) == (S.FILLED, D("4989.75"))  # price improvement


async def test_an_order_filling_again_after_its_ticket_was_netted_away_reopens_it(store):
    # Found by the crash suite (tests/resilience): the order's first partial fill opened ticket
    # 1, an opposite fill netted it to zero, then the order's next fill tried to open ticket 1
    # a second time. The fill was lost (a duplicate key) and the order stuck on its book.
    w = await world(store)
    w.venue.config.set("ES 12-26", partial_fills=True)
    seller = await w.engine.place(w.me, limit(Side.SELL, price="5010", qty="3"))
    await w.engine.settle()
    w.quote("ES 12-26", "5010.00", "5010.25", size="1")
    await w.engine.settle()
    await w.engine.place(w.me, market(qty="1"))  # nets seller's ticket to zero
    await w.engine.settle()
    w.quote("ES 12-26", "5011.00", "5011.25", size="10")
    await w.engine.settle()
    got = await w.order(seller.id)
    assert (got.status, got.filled) == (S.FILLED, D("3"))
    (ticket,) = [t for t in await positions(w) if t.ticket == seller.key]
    assert (ticket.side, ticket.quantity, ticket.open_price) == (Side.SELL, D("2"), D("5011"))
    assert (ticket.closed_quantity, ticket.closed_at) == (D("1"), None)
    assert await violations(store, w.venue, w.engine) == []


async def test_a_cancel_arriving_during_the_fill_latency_loses_and_the_story_is_told(store):
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    w.venue.config.set("ES 12-26", fill_delay_ms=400)
    w.venue.cancel_delay_ms = 100
    w.quote("ES 12-26", "4989.00", "4989.75")  # crosses: the fill report is on its way
    await w.engine.settle()
    assert w.venue.resting() == []  # the venue has filled it; its report is not delivered yet
    assert await status(w, order) is S.WORKING
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=order.id))
    await w.advance(0.1)  # the venue refuses the cancel: too late
    assert await status(w, order) is S.WORKING
    await w.advance(0.3)  # the fill report lands
    got = await w.order(order.id)
    assert (got.status, got.filled) == (S.FILLED, D("1"))
    assert [e[1] for e in await events_of(store, order.key)] == [
        "submitted",
        "working",
        "pending_cancel",
        "working",
        "filled",
    ]


async def test_cancel_refusals_follow_the_per_instrument_rules(store):
    w = await world(store)
    es = await w.engine.place(w.me, limit(price="4990"))
    nq = await w.engine.place(w.me, limit(price="17000", symbol="NQ 12-26"))
    await w.engine.settle()
    w.venue.config.set("NQ 12-26", cancel_refusal_pct=100)
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001))
    assert report.cancelled == 2
    await w.engine.settle()
    assert (await status(w, es), await status(w, nq)) == (S.CANCELLED, S.WORKING)
    assert (await events_of(store, nq.key))[-1][:2] == ("pending_cancel", "working")


async def test_market_closed_by_rule_refuses_orders_in_that_instrument_only(store):
    w = await world(store)
    w.venue.config.set("NQ 12-26", market_closed=True)
    with pytest.raises(MarketClosed):
        await w.engine.place(w.me, limit(price="17000", symbol="NQ 12-26"))
    await w.engine.place(w.me, limit(price="4990"))


async def test_good_till_date_orders_expire_at_their_time(store):
    w = await world(store)
    soon = w.engine.clock.now() + timedelta(milliseconds=300)
    gtd = await w.engine.place(w.me, limit(price="4990", tif=TimeInForce.GTD, expires_at=soon))
    gtc = await w.engine.place(w.me, limit(price="4991"))
    await w.advance(0.299)
    assert await status(w, gtd) is S.WORKING

    w.clock.advance(timedelta(seconds=0.001))

    async def expired():
        return await status(w, gtd) is S.EXPIRED

    await w.until(expired)
    assert await status(w, gtc) is S.WORKING
    assert w.venue.resting() == [gtc.key]


async def test_orders_expiring_at_one_time_expire_together_unless_moved_later(store):
    # The venue keeps one timer per expiry time, not one per order; an order whose expiry
    # moved is left for its new time.
    w = await world(store)
    soon = w.engine.clock.now() + timedelta(milliseconds=300)
    gtd = [
        await w.engine.place(w.me, limit(price=str(4990 - i), tif=TimeInForce.GTD, expires_at=soon))
        for i in range(3)
    ]
    await w.engine.settle()
    later = soon + timedelta(hours=1)
    await w.engine.change(w.me, ChangeOrder(account=1001, order=gtd[2].id, expires_at=later))
    await w.engine.settle()
    w.clock.set(soon)

    async def expired():
        return [await status(w, o) for o in gtd[:2]] == [S.EXPIRED, S.EXPIRED]

    await w.until(expired)
    assert await status(w, gtd[2]) is S.WORKING
    assert w.venue.resting() == [gtd[2].key]


async def test_day_orders_expire_at_the_end_of_the_session(store):
    globex = Instrument(
        symbol="MES 12-26",
        tick_size=D("0.25"),
        point_value=D("5"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("100"),
        lot_step=D("1"),
        sessions=(TradingSession(frozenset({6, 0, 1, 2, 3}), time(23), time(22)),),
    )
    clock = ManualClock(datetime(2026, 11, 23, 21, 59, 59, 700_000, tzinfo=UTC))  # Monday
    w = await world(store, clock=clock, instruments=(globex,))
    w.venue.load_instruments([globex])
    w.quote("MES 12-26", "5000.00", "5000.25")
    day = await w.engine.place(w.me, limit(price="4990", symbol="MES 12-26", tif=TimeInForce.DAY))
    assert day.expires_at == datetime(2026, 11, 23, 22, 0, tzinfo=UTC)
    await w.advance(0.299)
    assert await status(w, day) is S.WORKING

    clock.advance(timedelta(seconds=0.001))

    async def expired():
        return await status(w, day) is S.EXPIRED

    await w.until(expired)
    with pytest.raises(MarketClosed):  # the daily break has begun
        await w.engine.place(w.me, limit(price="4990", symbol="MES 12-26", tif=TimeInForce.DAY))


async def test_stop_loss_closes_the_ticket_at_the_bid_and_books_the_loss(store):
    w = await world(store)
    entry = await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001,
            symbol="ES 12-26",
            side=Side.BUY,
            type=OrderType.MARKET,
            quantity=D("2"),
            stop_loss=D("4990.00"),
            take_profit=D("5020.00"),
        ),
    )
    await w.engine.settle()
    (ticket,) = await positions(w)
    assert (ticket.ticket, ticket.stop_loss, ticket.take_profit) == (
        entry.key,
        D("4990.00"),
        D("5020.00"),
    )
    w.quote("ES 12-26", "4995.00", "4995.25")  # not yet
    await w.engine.settle()
    assert len(await positions(w)) == 1
    w.quote("ES 12-26", "4989.75", "4990.00")  # the bid falls through the stop
    await w.engine.settle()
    assert await positions(w) == []
    (closed,) = await positions(w, include_closed=True)
    # bought 2 at 5000.25, sold at 4989.75: -10.50 points x 2 x 50 = -1050.00
    assert (closed.close_price, closed.realized_pnl) == (D("4989.75"), D("-1050.00"))
    state = await queries.account_state(w.engine, w.me, 1001)
    assert state.balance == D("998950.00")


async def test_take_profit_on_a_short_closes_at_the_ask(store):
    w = await world(store)
    await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001,
            symbol="EURUSD",
            side=Side.SELL,
            type=OrderType.MARKET,
            quantity=D("0.10"),
            take_profit=D("1.09900"),
        ),
    )
    await w.engine.settle()
    w.quote("EURUSD", "1.09898", "1.09900")
    await w.engine.settle()
    (closed,) = await positions(w, include_closed=True)
    # sold 0.10 lot at 1.10000, bought back at 1.09900: 0.00100 x 0.10 x 100000 = 10.00
    assert (closed.quantity, closed.realized_pnl) == (D("0"), D("10.00"))


async def test_netting_account_pnl_to_the_cent(store):
    w = await world(store)
    await w.engine.place(w.me, market(qty="2"))  # 2 @ 5000.25
    await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001, symbol="EURUSD", side=Side.BUY, type=OrderType.MARKET, quantity=D("0.10")
        ),
    )
    await w.engine.settle()
    w.quote("ES 12-26", "5010.00", "5010.25")
    w.quote("EURUSD", "1.10100", "1.10102")
    state = await queries.account_state(w.engine, w.me, 1001)
    # ES: (5010.00 - 5000.25) x 2 x 50 = 975.00; EURUSD: (1.10100 - 1.10002) x 0.10 x 100000 = 9.80
    assert state.unrealized_pnl == D("984.80")
    assert state.equity == D("1000984.80")
    # margin at the exit prices, leverage 100: 2 x 5010 x 50 / 100 + 0.1 x 1.101 x 100000 / 100
    assert state.margin_used == D("5120.10")  # 5010.00 + 110.10
    assert state.free_margin == D("995864.70")
    await w.engine.place(w.me, market(Side.SELL, qty="3"))  # nets the long, opens 1 short
    await w.engine.settle()
    es_tickets = [t for t in await positions(w) if t.symbol == "ES 12-26"]
    assert [(t.side, t.quantity, t.open_price) for t in es_tickets] == [
        (Side.SELL, D("1"), D("5010.00"))
    ]
    state = await queries.account_state(w.engine, w.me, 1001)
    assert state.balance == D("1000975.00")  # (5010.00 - 5000.25) x 2 x 50 realized


async def test_hedging_account_keeps_both_legs_and_values_each(store):
    w = await world(store, mode=PositionMode.HEDGING)
    await w.engine.place(w.me, market())  # long 1 @ 5000.25
    await w.engine.place(w.me, market(Side.SELL))  # short 1 @ 5000.00
    await w.engine.settle()
    w.quote("ES 12-26", "5010.00", "5010.25")
    state = await queries.account_state(w.engine, w.me, 1001)
    values = sorted((v.ticket.side, v.unrealized_pnl) for v in state.positions)
    # long closes at the bid: +487.50; short closes at the ask: (5000.00 - 5010.25) x 50 = -512.50
    assert values == [(Side.BUY, D("487.50")), (Side.SELL, D("-512.50"))]
    assert (state.unrealized_pnl, state.balance) == (D("-25.00"), D("1000000.00"))


async def test_settling_does_not_wait_for_a_day_order_to_expire(store):
    w = await world(store)  # ES 12-26 has no sessions: a day order lives until midnight UTC
    day = await w.engine.place(w.me, limit(price="4990", tif=TimeInForce.DAY))
    await asyncio.wait_for(w.engine.settle(), timeout=10)  # a hang fails, not a slow run
    assert await status(w, day) is S.WORKING
    assert day.expires_at == datetime(2026, 11, 21, tzinfo=UTC)
