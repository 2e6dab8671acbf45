"""A restart: a new engine loads the journal's snapshot and hands every order that has not
ended back to a fresh venue. What it holds is what the old one held; what was in flight
finishes; nothing fills twice."""

from datetime import timedelta
from decimal import Decimal

from ordergate.domain.commands import CancelOrder, CancelOrders, ChangeOrder, PlaceOrder
from ordergate.domain.orders import OrderStatus as S
from ordergate.domain.orders import OrderType, Side, TimeInForce
from tests.builders import World, events_of, limit, market, memory, restart, world
from tests.invariants import violations

D = Decimal
SLOW = 60_000  # ms: the old venue never answers within the test


async def server_state(w: World) -> dict[str, object]:
    """Orders in every status that has not ended, some partly filled, open tickets with
    stop-loss and take-profit, a balance moved by realized P&L; the old venue owes answers
    for the submitted order, the change and the cancels (one alone, one bulk)."""
    w.venue.config.set(partial_fills=True)
    protected = await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001,
            symbol="EURUSD",
            side=Side.BUY,
            type=OrderType.MARKET,
            quantity=D("0.50"),
            stop_loss=D("1.09000"),
            take_profit=D("1.12000"),
        ),
    )
    realized = await w.engine.place(w.me, market(qty="2"))  # bought at 5000.25...
    await w.engine.settle()
    await w.engine.place(w.me, market(Side.SELL, qty="1"))  # ...one sold at 5000.00
    working = await w.engine.place(w.me, limit(price="4970"))
    accepted = await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001,
            symbol="ES 12-26",
            side=Side.BUY,
            type=OrderType.STOP,
            quantity=D(1),
            stop_price=D("5020"),
        ),
    )
    partial = await w.engine.place(w.me, limit(price="4990", qty="5"))
    partial_bulk = await w.engine.place(w.me, limit(price="17990", qty="4", symbol="NQ 12-26"))
    bulk = [
        await w.engine.place(w.me, limit(price=str(17900 + i), symbol="NQ 12-26")) for i in range(3)
    ]
    changing = await w.engine.place(w.me, limit(price="4960", qty="2"))
    cancelling = await w.engine.place(w.me, limit(price="4950"))
    theirs = await w.engine.place(w.admin, limit(price="4945", account_ref=2002))
    await w.engine.settle()
    w.quote("ES 12-26", "4989.75", "4990.00", size="2")  # partial: 2 of 5
    w.quote("NQ 12-26", "17989.75", "17990.00", size="1")  # partial_bulk: 1 of 4
    await w.engine.settle()
    w.quote("ES 12-26", "5000.00", "5000.25")
    w.quote("NQ 12-26", "18000.00", "18000.25")
    await w.engine.settle()

    w.venue.ack_delay_ms = w.venue.cancel_delay_ms = SLOW
    submitted = await w.engine.place(w.me, limit(price="4940"))
    await w.engine.change(
        w.me, ChangeOrder(account=1001, order=changing.id, quantity=D(3), limit_price=D("4961"))
    )
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=cancelling.id))
    report = await w.engine.cancel_orders(w.me, CancelOrders(account=1001, symbol="NQ 12-26"))
    assert report.cancelled == 4
    await w.engine.settle()
    return {
        "protected": protected,
        "realized": realized,
        "working": working,
        "accepted": accepted,
        "partial": partial,
        "partial_bulk": partial_bulk,
        "bulk": bulk,
        "changing": changing,
        "cancelling": cancelling,
        "theirs": theirs,
        "submitted": submitted,
    }


async def test_a_restart_holds_exactly_what_the_server_held(store):
    w = await world(store)
    book = await server_state(w)
    state = w.engine.state
    statuses = {o.status for o in state.open_orders(1001)}  # type: ignore[arg-type]
    assert statuses == {
        S.SUBMITTED,
        S.ACCEPTED,
        S.WORKING,
        S.PARTIALLY_FILLED,
        S.PENDING_CHANGE,
        S.PENDING_CANCEL,
    }
    assert state.order(book["partial_bulk"].key).prior_status is S.PARTIALLY_FILLED
    assert {t.symbol for t in w.open_tickets()} == {"ES 12-26", "EURUSD", "NQ 12-26"}
    assert w.engine.state.account(1001).balance == D("999987.50")  # type: ignore[union-attr]
    before = memory(w.engine)

    w2 = await restart(w, recover=False)

    assert memory(w2.engine) == before
    for o in (*book["bulk"], book["partial_bulk"], book["cancelling"]):
        assert w2.engine.state.order(o.key).request_id == state.order(o.key).request_id
    (eurusd,) = w2.engine.state.open_tickets(1001, "EURUSD")  # type: ignore[arg-type]
    assert (eurusd.stop_loss, eurusd.take_profit) == (D("1.09000"), D("1.12000"))
    assert await violations(store, engine=w2.engine) == []


async def test_a_restart_sends_what_was_in_flight_again_and_the_venue_answers_it(store):
    w = await world(store)
    book = await server_state(w)

    w = await restart(w)
    await w.engine.settle()

    for key in ("submitted", "changing", "working", "theirs"):
        assert await w.status(book[key]) is S.WORKING, key
    assert (await w.order(book["changing"].id)).quantity == D(3)
    assert await w.status(book["accepted"]) is S.ACCEPTED
    assert await w.status(book["partial"]) is S.PARTIALLY_FILLED
    for order in (book["cancelling"], *book["bulk"]):
        assert await w.status(order) is S.CANCELLED
        assert [e[:2] for e in await events_of(store, order.key)][-2:] == [
            ("working", "pending_cancel"),
            ("pending_cancel", "cancelled"),
        ]
    cancelled = await w.order(book["partial_bulk"].id)
    assert (cancelled.status, cancelled.filled) == (S.CANCELLED, D(1))
    assert w.venue.resting("NQ 12-26") == []
    assert await violations(store, w.venue, w.engine) == []


async def test_restart_rebuilds_the_book_and_finishes_what_was_in_flight(store):
    w = await world(store)
    resting = await w.engine.place(w.me, limit(price="4990"))
    cancelling = await w.engine.place(w.me, limit(price="4980", symbol="NQ 12-26"))
    await w.engine.settle()
    w.venue.ack_delay_ms = w.venue.cancel_delay_ms = SLOW
    await w.engine.cancel_orders(w.me, CancelOrders(account=1001, symbol="NQ 12-26"))
    in_flight = await w.engine.place(w.me, limit(price="4970"))

    w = await restart(w, recover=False)  # the old venue's pending work is lost
    assert await w.engine.recover() == 3
    await w.engine.settle()

    assert await w.status(resting) is S.WORKING
    assert await w.status(in_flight) is S.WORKING
    assert await w.status(cancelling) is S.CANCELLED
    assert w.venue.resting() == sorted([resting.key, in_flight.key])
    w.venue.set_quote("ES 12-26", D("4960.00"), D("4960.25"))
    await w.engine.settle()
    for order in (resting, in_flight):
        got = await w.order(order.id)
        assert (got.status, got.filled) == (S.FILLED, D("1"))
    assert await w.engine.recover() == 0


async def test_restored_orders_meet_the_market_they_come_back_to(store):
    # Found by the crash suite (tests/resilience): a market order acknowledged with its fill
    # still owed dies with the venue; after the restart the current quote fills it, and a
    # restored limit order that quote crosses, instead of leaving both for the next quote.
    w = await world(store)
    w.venue.config.set(fill_delay_ms=SLOW)
    bought = await w.engine.place(w.me, market())
    crossed = await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    assert [await w.status(o) for o in (bought, crossed)] == [S.WORKING, S.WORKING]

    w = await restart(w, quotes={"ES 12-26": ("4980.00", "4980.25")})  # the fill dies with it
    await w.engine.settle()

    for order in (bought, crossed):
        got_back = await w.order(order.id)
        assert (got_back.status, got_back.filled) == (S.FILLED, D("1"))
    assert w.venue.resting() == []


async def test_a_fill_at_restart_cancels_the_oco_sibling(store):
    # The venue acts on none of the restored orders until all are back, so the fill of the
    # first finds its sibling to cancel.
    w = await world(store)
    crossed = await w.engine.place(w.me, limit(price="4990", oco="pair"))
    sibling = await w.engine.place(w.me, limit(Side.SELL, price="5100", oco="pair"))
    await w.engine.settle()

    w = await restart(w, quotes={"ES 12-26": ("4980.00", "4980.25")})
    await w.engine.settle()

    assert await w.status(crossed) is S.FILLED
    assert await w.status(sibling) is S.CANCELLED
    assert w.venue.resting() == []


async def test_restored_good_till_date_orders_expire_at_their_time(store):
    w = await world(store)
    soon = w.clock.now() + timedelta(milliseconds=400)
    gtd = [
        await w.engine.place(w.me, limit(price=p, tif=TimeInForce.GTD, expires_at=soon))
        for p in ("4990", "4989")
    ]
    gtc = await w.engine.place(w.me, limit(price="4988"))
    await w.engine.settle()

    w = await restart(w)
    await w.advance(0.399)
    assert [await w.status(o) for o in gtd] == [S.WORKING, S.WORKING]
    w.clock.advance(timedelta(seconds=0.001))

    async def expired():
        return [await w.status(o) for o in gtd] == [S.EXPIRED, S.EXPIRED]

    await w.until(expired)
    assert w.venue.resting() == [gtc.key]
