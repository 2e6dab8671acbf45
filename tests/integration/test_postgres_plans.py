"""PostgreSQL plans each run of a statement for its tables as they are (store/db.py
``POSTGRES_SETTINGS``), the foreign-key checks of the events included.

Found by the load bench: a connection's check that each event's order exists was planned
while ``orders`` was small (as it was last analyzed: a scan of the table), kept, and run for
every event written as the table grew, so placements at 2,000/s fell behind within seconds.
PostgreSQL plans it again only once the table is analyzed again.
"""

import pytest
from sqlalchemy import text

from ordergate.store import SqlStore, create_engine
from tests.builders import account, add_user, es, truncate_all

pytestmark = pytest.mark.pg

ORDERS = """
    INSERT INTO orders (id, login, symbol, side, type, quantity, filled, tif, comment, status,
                        version, created_at, updated_at, limit_price)
    SELECT md5(n::text || :salt), 1001, 'ES 12-26', 'buy', 'limit', 100, 0, 'gtc', '',
           'working', 1, now(), now(), 490000
    FROM generate_series(1, :n) AS n
"""
EVENTS = """
    INSERT INTO order_events (order_ticket, from_status, to_status, reason, actor, at)
    SELECT ticket, NULL, 'working', 'placed', 'test', now()
    FROM orders ORDER BY ticket DESC LIMIT :n
"""
SEQ_SCANS = "SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relname = 'orders'"


async def scans_of_events_after_growth(store: SqlStore) -> tuple[int, int]:
    """In one transaction: events for a near-empty ``orders`` (their check planned), then
    3,000 more orders and 200 events for them: (scans of ``orders`` by those 200, events)."""
    async with store.engine.connect() as conn, conn.begin():
        await conn.execute(text(ORDERS), {"n": 1, "salt": "a"})
        for _ in range(10):  # past the five runs after which a generic plan may be kept
            await conn.execute(text(EVENTS), {"n": 1})
        await conn.execute(text(ORDERS), {"n": 3000, "salt": "b"})
        before = (await conn.execute(text(SEQ_SCANS))).scalar_one()
        await conn.execute(text(EVENTS), {"n": 200})
        after = (await conn.execute(text(SEQ_SCANS))).scalar_one()
    return after - before, 200


async def test_the_events_order_check_uses_the_index_once_orders_has_grown(pg_url):
    store = SqlStore(create_engine(pg_url))
    try:
        await truncate_all(store)
        await add_user(store, "demo")
        async with store.transaction() as tx:
            await tx.accounts.add_instrument(es())
            await tx.accounts.add(account())
            await tx.commit()
        async with store.engine.begin() as conn:  # as autovacuum does on a small database
            await conn.execute(text("ANALYZE orders"))
        scans, events = await scans_of_events_after_growth(store)
        # One scan of orders for the LIMIT's read itself, none per event checked.
        assert scans <= 1, f"{scans} scans of orders for {events} events"
    finally:
        await truncate_all(store)
        await store.engine.dispose()
