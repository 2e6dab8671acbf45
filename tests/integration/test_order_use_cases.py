"""Place, change, cancel one, close and flatten, with their checks, on SQLite and PostgreSQL."""

from datetime import timedelta
from decimal import Decimal

import pytest

from ordergate.domain.accounts import PositionMode
from ordergate.domain.commands import (
    CancelOrder,
    ChangeOrder,
    ClosePosition,
    Flatten,
    PlaceOrder,
)
from ordergate.domain.errors import (
    AccountDisabled,
    AccountNotFound,
    InstrumentNotFound,
    InsufficientMargin,
    InvalidInput,
    InvalidPrice,
    InvalidQuantity,
    MarketClosed,
    OrderLocked,
    OrderNotCancellable,
    OrderNotFound,
    PermissionDenied,
    PositionNotFound,
)
from ordergate.domain.ids import UserId
from ordergate.domain.orders import OrderStatus as S
from ordergate.domain.orders import OrderType, Side, TimeInForce
from ordergate.domain.principal import Principal, Role
from ordergate.engine import queries
from tests.builders import account, events_of, limit, market, memory, snapshot, world
from tests.invariants import violations

D = Decimal


def stop(side=Side.BUY, price="5010", **kw):
    return PlaceOrder(
        account=1001,
        symbol="ES 12-26",
        side=side,
        type=OrderType.STOP,
        quantity=D("1"),
        stop_price=D(price),
        **kw,
    )


async def test_each_order_type_rests_or_fills_at_the_quote(store):
    w = await world(store)
    buy_mkt = await w.engine.place(w.me, market())
    sell_mkt = await w.engine.place(w.me, market(Side.SELL))
    rest = await w.engine.place(w.me, limit(price="4990"))
    through = await w.engine.place(w.me, limit(price="5001"))  # marketable: fills at the ask
    stp = await w.engine.place(w.me, stop())
    stp_lmt = await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001,
            symbol="ES 12-26",
            side=Side.SELL,
            type=OrderType.STOP_LIMIT,
            quantity=D("1"),
            stop_price=D("4990"),
            limit_price=D("4989"),
        ),
    )
    await w.engine.settle()
    got = {o.id: await w.order(o.id) for o in (buy_mkt, sell_mkt, rest, through, stp, stp_lmt)}
    assert (got[buy_mkt.id].status, got[buy_mkt.id].avg_fill_price) == (S.FILLED, D("5000.25"))
    assert (got[sell_mkt.id].status, got[sell_mkt.id].avg_fill_price) == (S.FILLED, D("5000.00"))
    assert got[rest.id].status is S.WORKING
    assert (got[through.id].status, got[through.id].avg_fill_price) == (S.FILLED, D("5000.25"))
    assert got[stp.id].status is S.ACCEPTED
    assert got[stp_lmt.id].status is S.ACCEPTED
    w.venue.set_quote("ES 12-26", D("5010.00"), D("5010.25"))  # the buy stop triggers
    await w.engine.settle()
    assert (await w.order(stp.id)).avg_fill_price == D("5010.25")


async def test_stop_limit_triggers_into_a_working_limit(store):
    w = await world(store)
    order = await w.engine.place(
        w.me,
        PlaceOrder(
            account=1001,
            symbol="ES 12-26",
            side=Side.SELL,
            type=OrderType.STOP_LIMIT,
            quantity=D("1"),
            stop_price=D("4990"),
            limit_price=D("4995"),
        ),
    )
    await w.engine.settle()
    w.venue.set_quote("ES 12-26", D("4990.00"), D("4990.25"))
    await w.engine.settle()
    assert (await w.order(order.id)).status is S.WORKING
    assert [e[1] for e in await events_of(store, order.ticket)] == [
        "submitted",
        "accepted",
        "working",
    ]


async def test_oco_sibling_is_cancelled_when_one_fills(store):
    w = await world(store)
    tp = await w.engine.place(w.me, limit(Side.SELL, price="5010", oco="bracket-1"))
    sl = await w.engine.place(w.me, stop(Side.SELL, price="4990", oco="bracket-1"))
    await w.engine.settle()
    w.venue.set_quote("ES 12-26", D("5010.00"), D("5010.25"))
    await w.engine.settle()
    assert (await w.order(tp.id)).status is S.FILLED
    assert (await w.order(sl.id)).status is S.CANCELLED


async def test_orders_wait_in_submitted_until_the_venue_acknowledges(store):
    w = await world(store, ack_delay_ms=100)
    order = await w.engine.place(w.me, limit(price="4990"))
    await w.advance(0.099)
    assert (await w.order(order.id)).status is S.SUBMITTED
    with pytest.raises(OrderLocked):
        await w.engine.cancel(w.me, CancelOrder(account=1001, order=order.id))
    await w.advance(0.001)
    assert (await w.order(order.id)).status is S.WORKING


async def test_change_moves_prices_through_pending_change(store):
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990", qty="2"))
    await w.engine.settle()
    await w.engine.change(
        w.me,
        ChangeOrder(account=1001, order=order.ticket, quantity=D("3"), limit_price=D("4991.25")),
    )
    await w.engine.settle()
    got = await w.order(order.id)
    assert (got.status, got.quantity, got.limit_price) == (S.WORKING, D("3"), D("4991.25"))
    assert [e[1] for e in await events_of(store, order.ticket)][-2:] == [
        "pending_change",
        "working",
    ]


async def test_cancel_one_order_by_id_or_ticket(store):
    w = await world(store)
    a = await w.engine.place(w.me, limit(price="4990"))
    b = await w.engine.place(w.me, limit(price="4991"))
    await w.engine.settle()
    await w.engine.cancel(w.me, CancelOrder(account=1001, order=a.id))
    await w.engine.cancel(w.me, CancelOrder(account="SIM101", order=b.ticket))
    await w.engine.settle()
    for o in (a, b):
        assert (await w.order(o.id)).status is S.CANCELLED
    with pytest.raises(OrderNotCancellable, match="cancelled"):
        await w.engine.cancel(w.me, CancelOrder(account=1001, order=a.id))


async def test_close_position_whole_and_in_part_netting(store):
    w = await world(store)
    await w.engine.place(w.me, market(qty="3"))
    await w.engine.settle()
    await w.engine.close_position(
        w.me, ClosePosition(account=1001, symbol="ES 12-26", quantity=D("1"))
    )
    await w.engine.settle()
    (held,) = w.open_tickets()
    assert (held.side, held.quantity) == (Side.BUY, D("2"))
    await w.engine.close_position(w.me, ClosePosition(account=1001, symbol="ES 12-26"))
    await w.engine.settle()
    assert w.open_tickets() == []
    (closed,) = await w.closed_tickets()
    assert closed.realized_pnl == D(
        "-37.50"
    )  # bought at 5000.25, sold 3 at 5000.00, point value 50
    with pytest.raises(PositionNotFound):
        await w.engine.close_position(w.me, ClosePosition(account=1001, symbol="ES 12-26"))


async def test_close_position_hedging_closes_each_ticket(store):
    w = await world(store, mode=PositionMode.HEDGING)
    await w.engine.place(w.me, market())
    await w.engine.place(w.me, market(Side.SELL))
    await w.engine.settle()
    tickets = w.open_tickets()
    assert sorted(t.side for t in tickets) == [Side.BUY, Side.SELL]
    await w.engine.close_position(w.me, ClosePosition(account=1001, ticket=tickets[0].ticket))
    await w.engine.settle()
    assert [t.ticket for t in w.open_tickets()] == [tickets[1].ticket]


async def test_flatten_cancels_orders_and_closes_positions_of_one_instrument(store):
    w = await world(store)
    await w.engine.place(w.me, market(qty="2"))
    await w.engine.place(w.me, market(symbol="NQ 12-26"))
    resting = await w.engine.place(w.me, limit(price="4990"))
    nq_resting = await w.engine.place(w.me, limit(price="17000", symbol="NQ 12-26"))
    await w.engine.settle()
    report = await w.engine.flatten(w.me, Flatten(account=1001, symbol="ES 12-26"))
    await w.engine.settle()
    assert [a.order_id for a in report.cancel.accepted] == [resting.id]
    assert len(report.closing_orders) == 1
    assert [t.symbol for t in w.open_tickets()] == ["NQ 12-26"]
    assert (await w.order(nq_resting.id)).status is S.WORKING
    await w.engine.flatten(w.me, Flatten(account=1001))
    await w.engine.settle()
    assert w.open_tickets() == []
    assert await queries.open_orders(w.engine, w.me, 1001) == []
    assert await violations(store, w.venue, w.engine) == []


BAD_PLACEMENTS = [
    (limit(qty="0"), InvalidQuantity),
    (limit(qty="1.5"), InvalidQuantity),
    (limit(qty="501"), InvalidQuantity),
    (limit(price="4990.10"), InvalidPrice),
    (limit(symbol="XYZ"), InstrumentNotFound),
    (limit(account_ref="nobody"), AccountNotFound),
    (limit(account_ref=2002), PermissionDenied),
    (limit(qty="400", price="5000"), InsufficientMargin),
    (limit(tif=TimeInForce.GTD), InvalidInput),
    (
        PlaceOrder(
            account=1001, symbol="ES 12-26", side=Side.BUY, type=OrderType.LIMIT, quantity=D("1")
        ),
        InvalidInput,
    ),
    (
        PlaceOrder(
            account=1001,
            symbol="ES 12-26",
            side=Side.BUY,
            type=OrderType.MARKET,
            quantity=D("1"),
            limit_price=D("1"),
        ),
        InvalidInput,
    ),
    (stop(price="-5"), InvalidPrice),
]


@pytest.mark.parametrize(("cmd", "error"), BAD_PLACEMENTS)
async def test_bad_placements_raise_a_domain_error_and_change_nothing(store, cmd, error):
    w = await world(store)
    await w.engine.place(w.me, limit(price="4990"))
    await w.engine.settle()
    before = (await snapshot(store), memory(w.engine))
    with pytest.raises(error):
        await w.engine.place(w.me, cmd)
    await w.engine.settle()
    assert (await snapshot(store), memory(w.engine)) == before


async def test_gtd_in_the_past_is_refused(store):
    w = await world(store)
    past = w.engine.clock.now() - timedelta(minutes=1)
    with pytest.raises(InvalidInput, match="future"):
        await w.engine.place(w.me, limit(tif=TimeInForce.GTD, expires_at=past))


async def test_disabled_account_and_closed_market_refuse_orders(store):
    w = await world(store)
    async with store.transaction() as tx:
        await tx.accounts.add(account(3003, "Frozen", enabled=False))
        await tx.commit()
    with pytest.raises(AccountDisabled):
        await w.engine.place(w.me, limit(account_ref=3003))
    w.venue.set_market_closed("ES 12-26")
    with pytest.raises(MarketClosed):
        await w.engine.place(w.me, limit())


async def test_bad_changes_and_cancels_change_nothing(store):
    w = await world(store)
    order = await w.engine.place(w.me, limit(price="4990", qty="3"))
    done = await w.engine.place(w.me, market())
    await w.engine.settle()
    before = (await snapshot(store), memory(w.engine))
    bad = [
        (w.engine.change(w.me, ChangeOrder(account=1001, order=order.id)), InvalidInput),
        (
            w.engine.change(
                w.me, ChangeOrder(account=1001, order=order.id, limit_price=D("4990.1"))
            ),
            InvalidPrice,
        ),
        (
            w.engine.change(w.me, ChangeOrder(account=1001, order=order.id, stop_price=D("4990"))),
            InvalidInput,
        ),
        (
            w.engine.change(w.me, ChangeOrder(account=1001, order=done.id, quantity=D("2"))),
            OrderNotCancellable,
        ),
        (
            w.engine.change(w.me, ChangeOrder(account=2002, order=order.id, quantity=D("2"))),
            PermissionDenied,
        ),
        (w.engine.cancel(w.me, CancelOrder(account=1001, order="f" * 32)), OrderNotFound),
        (w.engine.cancel(w.me, CancelOrder(account=1001, order=done.id)), OrderNotCancellable),
        (
            w.engine.close_position(
                w.me, ClosePosition(account=1001, symbol="ES 12-26", quantity=D("5"))
            ),
            InvalidQuantity,
        ),
        (
            w.engine.close_position(
                w.me, ClosePosition(account=1001, symbol="ES 12-26", quantity=D("-1"))
            ),
            InvalidQuantity,
        ),
        (w.engine.close_position(w.me, ClosePosition(account=1001)), InvalidInput),
        (w.engine.flatten(w.me, Flatten(account=2002)), PermissionDenied),
    ]
    for call, error in bad:
        with pytest.raises(error):
            await call
    assert (await snapshot(store), memory(w.engine)) == before


@pytest.mark.parametrize(
    ("principal", "allowed"),
    [
        (Principal(user_id=UserId(1), role=Role.TRADER), {1001}),
        (Principal(user_id=UserId(2), role=Role.TRADER), {2002}),
        (Principal(user_id=UserId(9), role=Role.MANAGER, groups=frozenset({"other"})), {2002}),
        (Principal(user_id=UserId(9), role=Role.MANAGER, groups=frozenset({"vip"})), set()),
        (Principal(user_id=None, role=Role.ADMIN), {1001, 2002}),
        (Principal(user_id=None, role=Role.TRADER, login=2002), {2002}),
    ],
)
async def test_only_permitted_principals_act_on_an_account(store, principal, allowed):
    w = await world(store)
    for login in (1001, 2002):
        if login in allowed:
            order = await w.engine.place(principal, limit(price="4990", account_ref=login))
            await w.engine.settle()
            await w.engine.cancel(principal, CancelOrder(account=login, order=order.id))
            await w.engine.settle()
        else:
            before = (await snapshot(store), memory(w.engine))
            with pytest.raises(PermissionDenied):
                await w.engine.place(principal, limit(price="4990", account_ref=login))
            with pytest.raises(PermissionDenied):
                await queries.open_orders(w.engine, principal, login)
            assert (await snapshot(store), memory(w.engine)) == before
