"""SQLite finds the orders a cancel names by their own keys, not by reading every order of
their account.

SQLite keeps no statistics unless asked (ANALYZE), and without them it chose the account's
index for ``login = ? AND id IN (…)``: each batch of cancels read all of the account's
orders, which under the load bench (20,000-40,000 orders in one account) was a third of the
server's time.
"""

import asyncio
import shutil
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import event

from ordergate.domain.commands import CancelOrder
from ordergate.store import SqlStore, create_engine, sqlite_url
from tests.builders import close_venues, limit, world


@pytest.fixture
async def sqlite_store(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[SqlStore]:
    path = tmp_path / "ordergate.db"
    shutil.copyfile(sqlite_template, path)
    store = SqlStore(create_engine(sqlite_url(str(path))))
    yield store
    await close_venues()
    await store.engine.dispose()


async def test_a_cancel_batch_reads_its_orders_by_id_and_ticket(sqlite_store, tmp_path):
    store = sqlite_store
    w = await world(store)
    orders = await asyncio.gather(
        *(w.engine.place(w.me, limit(price=str(4900 + i % 50))) for i in range(200))
    )
    await w.engine.settle()
    w.venue.cancel_delay_ms = 60_000
    seen: list[tuple[str, tuple[object, ...]]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.startswith("SELECT") and "FROM orders" in statement:
            seen.append((statement, tuple(parameters)))

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        await asyncio.gather(
            *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.id)) for o in orders[:5]),
            *(w.engine.cancel(w.me, CancelOrder(account=1001, order=o.key)) for o in orders[5:9]),
        )
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)

    assert seen, "no read of orders seen"
    with sqlite3.connect(tmp_path / "ordergate.db") as db:
        for statement, parameters in seen:
            plan = " | ".join(
                row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)
            )
            assert "ix_orders_login_status_symbol" not in plan, plan
            assert "sqlite_autoindex_orders_1" in plan or "INTEGER PRIMARY KEY" in plan, plan
