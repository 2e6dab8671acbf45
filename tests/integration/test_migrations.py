"""The migrations: the schema they build is the tables' metadata, and 0004 (order_exposure)
derives its aggregate from the orders already stored."""

import itertools
from decimal import Decimal

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, select

from ordergate.domain.orders import NON_TERMINAL, OrderStatus
from ordergate.store import SqlStore, create_engine
from ordergate.store.mapping import instrument_values, order_values
from ordergate.store.migrate import downgrade, upgrade
from ordergate.store.tables import accounts, instruments, metadata, order_exposure, orders, users
from tests.builders import NOW, es, new_order
from tests.invariants import exposure_drift

D = Decimal
LOGINS, SYMBOLS = (1001, 2002), ("ES 12-26", "NQ 12-26")


async def test_the_migrations_build_exactly_the_tables_metadata(db_url):
    engine = create_engine(db_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(c, opts={"compare_type": True}), metadata
                )
            )
    finally:
        await engine.dispose()
    assert diff == []


async def _seed_orders(store: SqlStore) -> dict[tuple[int, str], Decimal]:
    """Orders in every status for two accounts and two symbols; what is left open of them."""
    async with store.engine.begin() as conn:
        await conn.execute(insert(users).values(name="u", role="trader", created_at=NOW))
        for symbol in SYMBOLS:
            await conn.execute(insert(instruments).values(instrument_values(es(symbol))))
        for login in LOGINS:
            await conn.execute(
                insert(accounts).values(
                    login=login,
                    name=f"A{login}",
                    name_key=f"a{login}",
                    owner_id=1,
                    group_name="g",
                    currency="USD",
                    balance=D(10**6),
                    leverage=100,
                    mode="netting",
                    enabled=True,
                    created_at=NOW,
                )
            )
        rows, left = [], dict.fromkeys(itertools.product(LOGINS, SYMBOLS), D(0))
        for n, (login, symbol, status) in enumerate(
            itertools.product(LOGINS, SYMBOLS, OrderStatus)
        ):
            quantity, filled = D(n % 7 + 2), D(n % 2) + D("0.5")
            order = new_order(
                id=f"{n:032x}",
                login=login,
                symbol=symbol,
                quantity=quantity,
                filled=filled,
                status=status,
            )
            rows.append(order_values(order))
            if status in NON_TERMINAL:
                left[(login, symbol)] += quantity - filled
        await conn.execute(insert(orders), rows)
    return left


async def _kept(store: SqlStore) -> dict[tuple[int, str], Decimal]:
    e = order_exposure.c
    async with store.engine.connect() as conn:
        rows = await conn.execute(select(e.login, e.symbol, e.open_quantity))
        return {(login, symbol): quantity for login, symbol, quantity in rows}


async def test_order_exposure_is_backfilled_from_the_orders_already_stored(blank_db_url):
    store = SqlStore(create_engine(blank_db_url))
    try:
        await upgrade(store.engine, "0003")
        left = await _seed_orders(store)
        await upgrade(store.engine)
        assert await _kept(store) == left
        assert await exposure_drift(store) == []
        async with store.transaction() as tx:  # and from now on the triggers keep it
            order = await tx.orders.by_ticket(1, lock=True)
            assert order is not None
            assert order.status is OrderStatus.SUBMITTED
            order.status = OrderStatus.CANCELLED
            await tx.orders.save(order, [], "test", "r" * 32, expected_version=order.version)
            await tx.commit()
        assert await exposure_drift(store) == []

        await downgrade(store.engine, "0003")
        async with store.engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert "order_exposure" not in tables
        await upgrade(store.engine)
        assert await exposure_drift(store) == []
        assert sum((await _kept(store)).values()) == sum(left.values()) - (
            order.quantity - order.filled
        )
    finally:
        await store.engine.dispose()
