"""The migrations: the schema they build is the tables' metadata; 0004 (order_exposure)
derives its aggregate from the orders already stored and its triggers keep it; 0005 drops
the aggregate, its triggers and the orders' status indexes (the engine keeps the exposure in
memory); the way back to 0004 and 0003 gives the schema those revisions had; 0007 adds the webhook
ids and the Alert History, and its way back drops them."""

import itertools
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import insert, inspect, update

from ordergate.domain.orders import NON_TERMINAL, OrderStatus
from ordergate.store import SqlStore, create_engine
from ordergate.store.mapping import instrument_values, order_values
from ordergate.store.migrate import downgrade, upgrade
from ordergate.store.tables import (
    accounts,
    alerts,
    instruments,
    metadata,
    orders,
    users,
)
from ordergate.store.types import from_units
from tests.builders import NOW, es, new_order

D = Decimal
LOGINS, SYMBOLS = (1001, 2002), ("ES 12-26", "NQ 12-26")
#: 0004's aggregate, as that revision made it (no longer in the tables' metadata).
order_exposure = sa.table(
    "order_exposure", sa.column("login"), sa.column("symbol"), sa.column("open_quantity")
)
TRIGGERS_0004 = {
    "sqlite": {
        "orders_exposure_insert",
        "orders_exposure_update",
        "orders_exposure_move",
        "orders_exposure_delete",
    },
    "postgresql": {
        "orders_exposure_insert",
        "orders_exposure_update",
        "orders_exposure_delete",
        "orders_exposure_truncate",
    },
}
INDEXES_0004 = {"ix_orders_login_status_symbol", "ix_orders_status"}


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
                ticket=n + 1,
                login=login,
                symbol=symbol,
                quantity=quantity,
                filled=filled,
                status=status,
            )
            rows.append(_before_0006(order_values(order)))
            if status in NON_TERMINAL:
                left[(login, symbol)] += quantity - filled
        await conn.execute(insert(orders), rows)
    return left


def _before_0006(values: dict[str, object]) -> dict[str, object]:
    """An order's columns as revisions before 0006 have them (no client_id)."""
    return {k: v for k, v in values.items() if k != "client_id"}


async def _kept(store: SqlStore) -> dict[tuple[int, str], Decimal]:
    e = order_exposure.c
    async with store.engine.connect() as conn:
        rows = await conn.execute(sa.select(e.login, e.symbol, e.open_quantity))
        return {(login, symbol): from_units(int(units)) for login, symbol, units in rows}


async def _left(store: SqlStore) -> dict[tuple[int, str], Decimal]:
    """What the open orders leave, summed now (what order_exposure must keep)."""
    o = orders.c
    stmt = (
        sa.select(o.login, o.symbol, sa.func.sum(o.quantity - o.filled, type_=o.quantity.type))
        .where(o.status.in_([s.value for s in NON_TERMINAL]))
        .group_by(o.login, o.symbol)
    )
    async with store.engine.connect() as conn:
        return {(login, symbol): left for login, symbol, left in await conn.execute(stmt)}


async def _schema(store: SqlStore) -> tuple[set[str], set[str], set[str]]:
    """The tables, the orders' indexes and the orders' triggers."""

    def read(sync_conn: sa.Connection) -> tuple[set[str], set[str]]:
        found = inspect(sync_conn)
        return (
            set(found.get_table_names()),
            {i["name"] for i in found.get_indexes("orders")},  # type: ignore[misc]
        )

    async with store.engine.connect() as conn:
        tables, indexes = await conn.run_sync(read)
        if store.dialect == "postgresql":
            sql = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'orders'::regclass"
            sql += " AND NOT tgisinternal"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        triggers = set((await conn.execute(sa.text(sql))).scalars())
    return tables, indexes, triggers


async def _at_0004_with_orders(url: str) -> tuple[SqlStore, dict[tuple[int, str], Decimal]]:
    store = SqlStore(create_engine(url))
    await upgrade(store.engine, "0003")
    left = await _seed_orders(store)
    await upgrade(store.engine, "0004")
    return store, left


async def test_0004_backfills_order_exposure_and_its_triggers_keep_it(blank_db_url):
    store, left = await _at_0004_with_orders(blank_db_url)
    try:
        assert await _kept(store) == left
        async with store.engine.begin() as conn:  # cancel one open order
            await conn.execute(
                update(orders).where(orders.c.ticket == 1).values(status="cancelled")
            )
        assert await _kept(store) == await _left(store) != left
    finally:
        await store.engine.dispose()


async def test_0005_drops_order_exposure_its_triggers_and_the_status_indexes(blank_db_url):
    store, _ = await _at_0004_with_orders(blank_db_url)
    try:
        tables, indexes, triggers = await _schema(store)
        assert "order_exposure" in tables
        assert indexes >= INDEXES_0004
        assert triggers == TRIGGERS_0004[store.dialect]

        await upgrade(store.engine, "0005")

        tables, indexes, triggers = await _schema(store)
        assert "order_exposure" not in tables
        assert not indexes & INDEXES_0004
        assert "ix_orders_login" in indexes
        assert triggers == set()
        async with store.engine.begin() as conn:  # the orders take writes without them
            await conn.execute(update(orders).values(status="cancelled"))
            new = _before_0006(order_values(new_order(id="e" * 32)))
            await conn.execute(insert(orders).values(new))
    finally:
        await store.engine.dispose()


async def test_a_downgrade_to_0004_gives_back_0004s_schema_and_aggregate(blank_db_url):
    store, _ = await _at_0004_with_orders(blank_db_url)
    try:
        expected = await _schema(store)
        await upgrade(store.engine)
        async with store.engine.begin() as conn:  # written while order_exposure was gone
            await conn.execute(
                update(orders).where(orders.c.ticket == 1).values(status="cancelled")
            )

        await downgrade(store.engine, "0004")

        assert await _schema(store) == expected
        assert await _kept(store) == await _left(store)
    finally:
        await store.engine.dispose()


async def test_a_downgrade_to_0003_and_back_to_head(blank_db_url):
    store, _ = await _at_0004_with_orders(blank_db_url)
    try:
        await upgrade(store.engine)

        await downgrade(store.engine, "0003")

        tables, _, triggers = await _schema(store)
        assert "order_exposure" not in tables
        assert triggers == set()
        await upgrade(store.engine)
        tables, indexes, triggers = await _schema(store)
        assert ("order_exposure" in tables, triggers) == (False, set())
        assert "ix_orders_login" in indexes
    finally:
        await store.engine.dispose()


async def test_0006_adds_the_client_id_unique_per_account_and_its_downgrade_drops_it(
    blank_db_url,
):
    store, _ = await _at_0004_with_orders(blank_db_url)
    try:
        await upgrade(store.engine)
        _, indexes, _ = await _schema(store)
        assert "ux_orders_login_client_id" in indexes
        async with store.engine.begin() as conn:  # the orders seeded before keep no id
            await conn.execute(update(orders).where(orders.c.ticket == 1).values(client_id="a"))
            await conn.execute(update(orders).where(orders.c.ticket == 2).values(client_id="b"))
        with pytest.raises(sa.exc.IntegrityError):
            async with store.engine.begin() as conn:  # tickets 1 and 2: the same account
                await conn.execute(update(orders).where(orders.c.ticket == 2).values(client_id="a"))

        await downgrade(store.engine, "0005")

        _, indexes, _ = await _schema(store)
        assert "ux_orders_login_client_id" not in indexes
    finally:
        await store.engine.dispose()


async def _tables_and_alert_indexes(store: SqlStore) -> tuple[set[str], set[str]]:
    def read(sync_conn: sa.Connection) -> tuple[set[str], set[str]]:
        found = inspect(sync_conn)
        tables = set(found.get_table_names())
        if "alerts" not in tables:
            return tables, set()
        return tables, {i["name"] for i in found.get_indexes("alerts")}  # type: ignore[misc]

    async with store.engine.connect() as conn:
        return await conn.run_sync(read)


#: A webhook row as revision 0007 to 0008 have it (the kill switch on the row).
_WEBHOOK_0007 = sa.text(
    "INSERT INTO webhooks (user_id, webhook_id, created_at, kill_switch)"
    " VALUES (:user, :id, :at, :on)"
).bindparams(on=False)


async def test_0009_moves_a_users_kill_switch_to_kill_switches_and_back(blank_db_url):
    store = SqlStore(create_engine(blank_db_url))
    try:
        await upgrade(store.engine, "0008")
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(users), [{"name": n, "role": "trader", "created_at": NOW} for n in "uv"]
            )
            await conn.execute(_WEBHOOK_0007, {"user": 1, "id": "wh_1", "at": NOW, "on": True})
            await conn.execute(_WEBHOOK_0007, {"user": 2, "id": "wh_2", "at": NOW, "on": False})
        await upgrade(store.engine, "0009")
        async with store.engine.connect() as conn:
            switches = (await conn.execute(sa.text("SELECT scope, ref FROM kill_switches"))).all()
        assert [tuple(r) for r in switches] == [("user", 1)]
        await downgrade(store.engine, "0008")
        async with store.engine.connect() as conn:
            rows = await conn.execute(sa.text("SELECT user_id, kill_switch FROM webhooks"))
            assert sorted((r[0], bool(r[1])) for r in rows) == [(1, True), (2, False)]
    finally:
        await store.engine.dispose()


async def test_0007_adds_webhooks_and_alerts_and_its_downgrade_drops_them(blank_db_url):
    store = SqlStore(create_engine(blank_db_url))
    try:
        await upgrade(store.engine, "0006")
        tables, _ = await _tables_and_alert_indexes(store)
        assert not tables & {"webhooks", "alerts"}

        await upgrade(store.engine, "0007")

        tables, indexes = await _tables_and_alert_indexes(store)
        assert tables >= {"webhooks", "alerts"}
        assert "ix_alerts_user_id_received_at" in indexes
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(users), [{"name": n, "role": "trader", "created_at": NOW} for n in "uv"]
            )
            await conn.execute(_WEBHOOK_0007, {"user": 1, "id": "wh_1", "at": NOW})
            await conn.execute(insert(alerts).values(_ALERT))
        with pytest.raises(sa.exc.IntegrityError):
            async with store.engine.begin() as conn:  # one webhook id names one user
                await conn.execute(_WEBHOOK_0007, {"user": 2, "id": "wh_1", "at": NOW})

        await downgrade(store.engine, "0006")

        tables, _ = await _tables_and_alert_indexes(store)
        assert not tables & {"webhooks", "alerts"}
        assert "users" in tables
        await upgrade(store.engine)
        tables, _ = await _tables_and_alert_indexes(store)
        assert tables >= {"webhooks", "alerts"}
    finally:
        await store.engine.dispose()


_ALERT = {
    "alert_id": "al_1",
    "user_id": 1,
    "received_at": NOW,
    "sender": "127.0.0.1",
    "status": "Success",
    "accounts": "[]",
    "raw": "key=***;",
    "fields": "{}",
    "warnings": "[]",
    "order_ids": "[]",
}
