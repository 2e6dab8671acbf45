"""Bars in the database, on SQLite and PostgreSQL: exact values, upserts, ranges, and the
market data wired by bootstrap (opening quotes, the feed task, bars kept across restarts)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ordergate.bootstrap import bootstrap, shutdown
from ordergate.domain.orders import OrderStatus, Side
from ordergate.engine import queries
from ordergate.settings import Settings
from ordergate.store import SqlStore
from ordergate.store.bars import SqlBarRepository
from ordergate.venue.bars import Bar, floor_to
from ordergate.venue.base import Quote
from ordergate.venue.feeds import SyntheticFeed
from ordergate.venue.marketdata import MarketData
from tests.builders import account, add_user, es, limit, trader

D = Decimal
T0 = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)


def bar(minute: int, close: str = "5000.25", volume: str = "3", symbol: str = "ES 12-26") -> Bar:
    return Bar(
        symbol,
        T0 + timedelta(minutes=minute),
        D("5000.00"),
        D("5001.50"),
        D("4999.125"),
        D(close),
        D(volume),
    )


async def test_bars_are_kept_exactly_with_utc_times(store: SqlStore) -> None:
    repo = SqlBarRepository(store)
    odd = Bar("EURUSD", T0, D("1.085005"), D("1.99999999"), D("0.00000001"), D("1.1"), D("0.001"))
    await repo.save_bar(odd)
    (got,) = await repo.bars("EURUSD")
    assert got == odd
    assert got.start.tzinfo is not None
    assert got.start.utcoffset() == timedelta(0)


async def test_saving_a_bar_again_replaces_it(store: SqlStore) -> None:
    repo = SqlBarRepository(store)
    await repo.save_bars([bar(0), bar(1)])
    await repo.save_bars([bar(1, close="5001.00", volume="9"), bar(2)])
    got = await repo.bars("ES 12-26")
    assert [(b.start.minute, b.close, b.volume) for b in got] == [
        (30, D("5000.25"), D("3")),
        (31, D("5001.00"), D("9")),
        (32, D("5000.25"), D("3")),
    ]


async def test_bars_are_read_by_symbol_range_and_newest_first_limit(store: SqlStore) -> None:
    repo = SqlBarRepository(store)
    await repo.save_bars([bar(m) for m in range(10)] + [bar(3, symbol="NQ 12-26")])
    window = await repo.bars("ES 12-26", T0 + timedelta(minutes=2), T0 + timedelta(minutes=5))
    assert [b.start.minute for b in window] == [32, 33, 34]
    newest = await repo.bars("ES 12-26", limit=3)
    assert [b.start.minute for b in newest] == [37, 38, 39]  # oldest first
    assert [b.symbol for b in await repo.bars("NQ 12-26")] == ["NQ 12-26"]
    assert await repo.bars("GC 12-26") == []


async def test_a_thousand_bars_are_saved_in_one_call(store: SqlStore) -> None:
    repo = SqlBarRepository(store)
    await repo.save_bars([bar(m) for m in range(1200)])
    assert len(await repo.bars("ES 12-26")) == 1200


async def test_market_data_saves_closed_minutes_and_rolls_them_up(store: SqlStore) -> None:
    repo = SqlBarRepository(store)
    market = MarketData([es()], bars=repo)
    for minute in range(6):
        price = D("5000.00") + D("0.25") * minute
        market.push(
            Quote("ES 12-26", price, price + D("0.25"), T0 + timedelta(minutes=minute, seconds=5),
                  last=price, last_size=D(minute + 1))
        )  # fmt: skip
    assert await market.flush() == 5
    assert len(await repo.bars("ES 12-26")) == 5
    (five,) = await market.bars("ES 12-26", period_minutes=5, end=T0 + timedelta(minutes=5))
    assert (five.open, five.high, five.low, five.close, five.volume) == (
        D("5000.00"),
        D("5001.00"),
        D("5000.00"),
        D("5001.00"),
        D("15"),
    )


# -- wired by bootstrap ---------------------------------------------------------------------


@pytest.fixture
async def settings(store: SqlStore, db_url: str) -> Settings:
    """User ``demo`` (id 1) with account Sim101 and ES 12-26 (always open, a demo symbol)."""
    await add_user(store, "demo")
    async with store.transaction() as tx:
        await tx.accounts.add_instrument(es())
        await tx.accounts.add(account())
        await tx.commit()
    return Settings(database_url=db_url, market_source="synthetic", market_interval_ms=10)


async def test_bootstrap_opens_the_market_through_market_data_without_a_feed(
    settings: Settings,
) -> None:
    container = await bootstrap(settings)
    try:
        assert container.feed is None  # tests and the CLI get no ticking market
        snapshot = container.market.snapshot("ES 12-26")
        assert snapshot is not None
        assert (snapshot.bid, snapshot.ask) == (D("6000.00"), D("6000.25"))
        quote = container.venue.quote("ES 12-26")
        assert quote is not None
        assert quote.bid == D("6000.00")
    finally:
        await shutdown(container)


async def test_the_feed_ticks_until_shutdown_and_its_bars_are_kept(
    settings: Settings, store: SqlStore
) -> None:
    container = await bootstrap(settings, feed=True)
    try:
        assert container.feed is not None
        seen: list[Quote] = []
        container.market.subscribe(seen.append)
        while len(seen) < 5:
            await asyncio.sleep(0.01)
    finally:
        await shutdown(container)
    assert container.feed.done()
    count = len(seen)
    await asyncio.sleep(0.05)
    assert len(seen) == count  # stopped
    bars = await SqlBarRepository(store).bars("ES 12-26")
    assert bars[-1].start == floor_to(seen[-1].at)  # the open minute was saved at shutdown


async def test_a_restart_opens_where_the_market_stopped(settings: Settings) -> None:
    first = await bootstrap(settings)
    try:
        now = first.clock.now()
        first.market.push(Quote("ES 12-26", D("6100.00"), D("6100.50"), now + timedelta(minutes=1)))
    finally:
        await shutdown(first)
    second = await bootstrap(settings)
    try:
        snapshot = second.market.snapshot("ES 12-26")
        assert snapshot is not None
        assert (snapshot.bid, snapshot.ask) == (D("6100.25"), D("6100.50"))  # the mid, snapped
    finally:
        await shutdown(second)


async def test_a_limit_order_near_a_moving_market_fills_within_a_minute(
    settings: Settings,
) -> None:
    container = await bootstrap(settings)
    try:
        order = await container.engine.place(trader(), limit(Side.BUY, price="5999.75"))
        await container.engine.settle()
        feed = SyntheticFeed(container.market.instruments(), seed=42, clock=container.clock)
        for _ in range(240):  # one minute at the default 250 ms
            feed.step(container.market)
            await container.engine.settle()  # the venue matches each quote, as when live
        got = await queries.get_order(container.engine, trader(), 1001, order.id)
        assert got.status is OrderStatus.FILLED
    finally:
        await shutdown(container)


async def test_a_csv_source_replays_its_file_into_the_market(
    settings: Settings, tmp_path: Path
) -> None:
    tape = tmp_path / "tape.csv"
    tape.write_text(
        "time,symbol,bid,ask\n"
        "2026-11-20T15:30:00Z,ES 12-26,5990.00,5990.25\n"
        "2026-11-20T15:30:00.01Z,ES 12-26,5991.00,5991.25\n"
    )
    replay = settings.model_copy(update={"market_source": "csv", "market_csv": tape})
    container = await bootstrap(replay, feed=True)
    try:
        assert container.feed is not None
        await asyncio.wait_for(container.feed, timeout=5)  # a replay ends with its file
        snapshot = container.market.snapshot("ES 12-26")
        assert snapshot is not None
        assert (snapshot.bid, snapshot.ask) == (D("5991.00"), D("5991.25"))
    finally:
        await shutdown(container)
