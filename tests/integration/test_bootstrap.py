"""The composition root on SQLite and PostgreSQL: it wires a working engine, opens the market,
recovers open orders after a restart, and keeps one JWT secret."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from ordergate.bootstrap import bootstrap, opening_quote, shutdown
from ordergate.domain.clock import ManualClock
from ordergate.domain.commands import CancelOrder
from ordergate.domain.errors import AuthError, InvalidInput
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import OrderStatus, Side
from ordergate.engine import queries
from ordergate.settings import Settings
from ordergate.store import SqlStore
from ordergate.store.tables import settings as settings_table
from ordergate.venue.sim import SimVenue
from tests.builders import NOW, account, add_user, es, limit, market, trader

D = Decimal


def unpriced() -> Instrument:
    """An instrument with no reference price and no fills: nothing to open its market at."""
    return Instrument(
        symbol="ZZ 12-26",
        tick_size=D("0.5"),
        point_value=D("10"),
        digits=1,
        lot_min=D("1"),
        lot_max=D("10"),
        lot_step=D("1"),
    )


@pytest.fixture
async def settings(store: SqlStore, db_url: str) -> Settings:
    """Settings on an empty migrated database holding user ``demo`` (id 1), account Sim101
    and instruments ES 12-26 (a demo symbol, no sessions) and ZZ 12-26."""
    owner = await add_user(store, "demo")
    assert owner == trader().user_id, "the tests act as trader(): user 1"
    async with store.transaction() as tx:
        await tx.accounts.add_instrument(es())
        await tx.accounts.add_instrument(unpriced())
        await tx.accounts.add(account())
        await tx.commit()
    return Settings(database_url=db_url, secret=None)


async def test_bootstrap_opens_the_market_and_the_engine_trades(settings: Settings) -> None:
    container = await bootstrap(settings)
    try:
        quote = container.venue.quote("ES 12-26")
        assert quote is not None
        assert (quote.bid, quote.ask) == (D("6000.00"), D("6000.25"))
        assert container.venue.quote("ZZ 12-26") is None

        bought = await container.engine.place(trader(), market(Side.BUY, "1"))
        resting = await container.engine.place(trader(), limit(price="5990"))
        await container.engine.settle()

        filled = await queries.get_order(container.engine, trader(), "sim101", bought.id)
        assert filled.status is OrderStatus.FILLED
        assert filled.avg_fill_price == D("6000.25")
        working = await queries.get_order(container.engine, trader(), 1001, resting.id)
        assert working.status is OrderStatus.WORKING
        assert container.venue.resting() == [resting.ticket]
    finally:
        await shutdown(container)


async def test_a_restart_quotes_at_the_last_fill_and_recovers_open_orders(
    settings: Settings,
) -> None:
    first = await bootstrap(settings)
    try:
        await first.engine.place(trader(), market(Side.BUY, "2"))
        resting = await first.engine.place(trader(), limit(price="5990"))
        await first.engine.settle()
    finally:
        await shutdown(first)

    second = await bootstrap(settings)
    try:
        quote = second.venue.quote("ES 12-26")
        assert quote is not None
        assert quote.bid == D("6000.25")
        assert second.venue.resting() == [resting.ticket]
        await second.engine.cancel(trader(), CancelOrder(account=1001, order=resting.id))
        await second.engine.settle()
        got = await queries.get_order(second.engine, trader(), 1001, resting.id)
        assert got.status is OrderStatus.CANCELLED
    finally:
        await shutdown(second)


async def test_the_jwt_secret_is_generated_once_and_kept(
    settings: Settings, store: SqlStore
) -> None:
    first = await bootstrap(settings)
    token = first.jwt.issue(login=1001)
    await shutdown(first)

    second = await bootstrap(settings)
    try:
        assert second.jwt.verify(token).login == 1001
    finally:
        await shutdown(second)
    async with store.transaction(readonly=True) as tx:
        rows = await tx.connection.scalar(select(func.count()).select_from(settings_table))
    assert rows == 1

    own_secret = Settings(database_url=settings.database_url, secret="s" * 40)
    configured = await bootstrap(own_secret, migrate=False)
    try:
        with pytest.raises(AuthError):
            configured.jwt.verify(token)
    finally:
        await shutdown(configured)


async def test_tests_can_hand_in_their_own_venue_and_clock(settings: Settings) -> None:
    clock = ManualClock(NOW)
    venue = SimVenue(ack_delay_ms=20, clock=clock)
    container = await bootstrap(settings, venue=venue, clock=clock, migrate=False)
    try:
        assert container.venue is venue
        assert container.engine.venue is venue
        assert container.engine.clock is clock
        order = await container.engine.place(trader(), limit(price="5990"))
        assert order.created_at == NOW
        clock.advance(timedelta(seconds=0.019))
        await container.engine.settle()
        seen = await queries.get_order(container.engine, trader(), 1001, order.id)
        assert seen.status is OrderStatus.SUBMITTED  # the venue has not answered yet
        clock.advance(timedelta(seconds=0.001))
        await container.engine.settle()
        seen = await queries.get_order(container.engine, trader(), 1001, order.id)
        assert seen.status is OrderStatus.WORKING
    finally:
        await shutdown(container)


async def test_the_ack_delay_setting_reaches_the_venue(settings: Settings) -> None:
    slow = Settings(database_url=settings.database_url, sim_ack_delay_ms=30)
    container = await bootstrap(slow, migrate=False)
    try:
        assert container.venue.ack_delay_ms == 30
    finally:
        await shutdown(container)


def test_an_opening_quote_is_one_tick_wide_on_the_grid() -> None:
    assert opening_quote(es(), D("6000.10")) == (D("6000.00"), D("6000.25"))
    assert opening_quote(es(), D("0.10")) == (D("0.25"), D("0.50"))


def test_venue_rules_come_from_the_sim_settings(monkeypatch):
    from ordergate.settings import venue_config

    monkeypatch.setenv("ORDERGATE_SIM_ACK_DELAY_MS", "25")
    monkeypatch.setenv("ORDERGATE_SIM_FILL_DELAY_MS", "40")
    monkeypatch.setenv("ORDERGATE_SIM_CLOSED", '["NQ 12-26"]')
    monkeypatch.setenv("ORDERGATE_SIM_RULES", '{"ES 12-26": {"cancel_refusal_pct": 30}}')
    config = venue_config(Settings())
    assert (config.default.ack_delay_ms, config.default.cancel_delay_ms) == (25, 25)
    assert config.rules("NQ 12-26").market_closed
    es_rules = config.rules("ES 12-26")
    assert (es_rules.cancel_refusal_pct, es_rules.fill_delay_ms) == (30, 40)
    monkeypatch.setenv("ORDERGATE_SIM_RULES", '{"ES 12-26": {"warp_speed": 9}}')
    with pytest.raises(InvalidInput, match="warp_speed"):
        venue_config(Settings())


async def test_quotes_pushed_through_the_market_reach_venue_and_stop_loss(
    settings: Settings,
) -> None:
    from ordergate.domain.commands import PlaceOrder
    from ordergate.domain.orders import OrderType
    from ordergate.venue.base import Quote

    container = await bootstrap(settings)
    try:
        me = trader()
        protected = await container.engine.place(
            me,
            PlaceOrder(
                account=1001,
                symbol="ES 12-26",
                side=Side.BUY,
                type=OrderType.MARKET,
                quantity=Decimal("1"),
                stop_loss=Decimal("5900.00"),
            ),
        )
        resting = await container.engine.place(me, limit(price="5950"))
        await container.engine.settle()
        container.market.push(
            Quote("ES 12-26", Decimal("5899.75"), Decimal("5900.00"), container.clock.now())
        )
        await container.engine.settle()
        state = await queries.account_state(container.engine, me, 1001)
        got = await queries.get_order(container.engine, me, 1001, resting.id)
        assert got.status is OrderStatus.FILLED  # the venue filled the resting buy
        # and the stop loss closed the protected long: only the new buy's ticket is open
        assert [v.ticket.ticket for v in state.positions] == [resting.key]
        assert protected.key != resting.key
    finally:
        await shutdown(container)
