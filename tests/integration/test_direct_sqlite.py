"""On SQLite the statements every placement writes run on the sqlite3 connection itself
(store/direct.py): the rows they leave are the rows SQLAlchemy would have written."""

import asyncio
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import bindparam, event, select, update

from ordergate.domain.commands import CancelOrder, PlaceOrder
from ordergate.domain.orders import OrderType, Side, TimeInForce
from ordergate.store import SqlStore, create_engine, sqlite_url, uow
from ordergate.store.direct import CompiledQuery, CompiledStatement
from ordergate.store.tables import orders
from ordergate.venue.base import Filled
from tests.builders import close_venues, limit, statements_run, world

D = Decimal
MOMENT = datetime(2026, 11, 21, 9, 30, 15, 250001, tzinfo=UTC)


class StillClock:
    def now(self) -> datetime:
        return MOMENT


def _orders() -> list[PlaceOrder]:
    """Placements whose rows use every kind of column: NULLs, eight decimal places, an
    expiry, text beyond ASCII."""
    return [
        limit(price="4990.25", qty="2"),
        limit(
            side=Side.SELL,
            price="5010",
            tag="tag-ü",
            comment="caf\u00e9 \u2713",
            tif=TimeInForce.GTD,
            expires_at=MOMENT + timedelta(days=2, microseconds=7),
        ),
        PlaceOrder(
            account=1001,
            symbol="EURUSD",
            side=Side.BUY,
            type=OrderType.STOP_LIMIT,
            quantity=D("0.01"),
            stop_price=D("1.20000"),
            limit_price=D("1.20001"),
            stop_loss=D("1.10000"),
            take_profit=D("1.30000"),
        ),
    ]


def _rows(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the order tables, with each value's SQLite storage class, the ids that
    differ from run to run left out."""
    db = sqlite3.connect(path)
    try:
        found = {}
        for table, skip in (("orders", {"id", "request_id"}), ("order_events", {"request_id"})):
            columns = [r[1] for r in db.execute(f"PRAGMA table_info({table})") if r[1] not in skip]
            listed = ", ".join(f"{c}, typeof({c})" for c in columns)
            query = f"SELECT {listed} FROM {table} ORDER BY 1"  # noqa: S608 - our own names
            found[table] = db.execute(query).fetchall()
        return found
    finally:
        db.close()


async def _scenario(path: Path) -> None:
    store = SqlStore(create_engine(sqlite_url(str(path))))
    try:
        w = await world(store, clock=StillClock())
        placed = await asyncio.gather(*(w.engine.place(w.me, cmd) for cmd in _orders()))
        await w.engine.settle()
        await w.engine.on_venue_reports([Filled(placed[0].key, D("1"), D("4990.25"), MOMENT)])
        await w.engine.cancel(w.me, CancelOrder(account=1001, order=placed[1].id))
        await w.engine.settle()
    finally:
        await close_venues()
        await store.engine.dispose()


async def test_direct_writes_leave_the_rows_sqlalchemy_writes(
    sqlite_template, tmp_path, monkeypatch
):
    paths = {}
    for way in ("direct", "sqlalchemy"):
        paths[way] = tmp_path / f"{way}.db"
        paths[way].write_bytes(sqlite_template.read_bytes())
        with monkeypatch.context() as patch:
            if way == "sqlalchemy":
                patch.setattr(uow, "_direct", lambda conn: None)
            await _scenario(paths[way])
    direct, through_sqlalchemy = _rows(paths["direct"]), _rows(paths["sqlalchemy"])
    assert len(direct["orders"]) == 3
    assert len(direct["order_events"]) >= 8
    assert direct == through_sqlalchemy


async def test_a_batch_of_placements_runs_every_statement_directly(
    sqlite_template, tmp_path, monkeypatch
):
    path = tmp_path / "ordergate.db"
    path.write_bytes(sqlite_template.read_bytes())
    store = SqlStore(create_engine(sqlite_url(str(path))))
    through_sqlalchemy: list[str] = []

    def seen_by_sqlalchemy(conn, cursor, statement, *args):
        through_sqlalchemy.append(statement)

    try:
        w = await world(store)
        await w.engine.place(w.me, limit(price="4900"))  # the first goes alone
        await w.engine.settle()
        with statements_run(store, monkeypatch) as everything:
            event.listen(store.engine.sync_engine, "before_cursor_execute", seen_by_sqlalchemy)
            try:
                batch = [w.engine.place(w.me, limit(price=str(4800 + i))) for i in range(30)]
                await asyncio.gather(*batch)
                await w.engine.settle()
            finally:
                event.remove(store.engine.sync_engine, "before_cursor_execute", seen_by_sqlalchemy)
    finally:
        await close_venues()
        await store.engine.dispose()
    # Nothing through SQLAlchemy's execution: the reads (the account, its exposure), the
    # orders, their events, and the acknowledgements' UPDATEs and events went directly.
    assert through_sqlalchemy == []
    for statement in (
        "SELECT accounts.",
        "SELECT order_exposure.",
        "INSERT INTO orders",
        "INSERT INTO order_events",
        "UPDATE orders",
    ):
        assert any(s.startswith(statement) for s in everything), statement


async def _reads(path: Path) -> list[object]:
    """What the account reads of a batch answer on the database at ``path``: accounts by
    login and by name (in another case, and missing), and exposures with resting orders
    and held positions."""
    store = SqlStore(create_engine(sqlite_url(str(path))))
    try:
        async with store.transaction(readonly=True) as tx:
            return [
                await tx.accounts.get(1001),
                await tx.accounts.get("sIM101"),
                await tx.accounts.get("Other"),
                await tx.accounts.get(4242),
                await tx.accounts.get("nobody"),
                await tx.accounts.exposure(1001),
                await tx.accounts.exposure(2002),
                await tx.accounts.exposure(4242),
            ]
    finally:
        await store.engine.dispose()


async def test_direct_reads_answer_what_sqlalchemy_reads_answer(
    sqlite_template, tmp_path, monkeypatch
):
    path = tmp_path / "ordergate.db"
    path.write_bytes(sqlite_template.read_bytes())
    await _scenario(path)  # resting orders, a fill (a position), a cancel
    queried = []
    rows = CompiledQuery.rows

    def counted(self, *args):
        queried.append(self)
        return rows(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(CompiledQuery, "rows", counted)
        direct = await _reads(path)
    assert len(queried) == 8  # each read went directly
    monkeypatch.setattr(uow, "_direct", lambda conn: None)
    through_sqlalchemy = await _reads(path)
    assert direct == through_sqlalchemy
    sim101, exposure = direct[0], direct[5]
    assert sim101 is not None
    assert sim101 == direct[1]
    assert direct[3] is None
    assert direct[4] is None
    # Exact decimals and Python booleans, as SQLAlchemy's result processors make them.
    assert isinstance(sim101.balance, Decimal)
    assert sim101.enabled is True
    assert exposure == {"ES 12-26": D("2"), "EURUSD": D("0.01")}  # 1 resting + 1 held
    assert all(isinstance(q, Decimal) for q in exposure.values())


def test_a_statement_whose_sql_depends_on_its_parameters_is_not_compiled_once():
    from sqlalchemy.dialects import sqlite

    listed = select(orders.c.ticket).where(
        orders.c.id.in_(bindparam("ids", expanding=True, type_=orders.c.id.type))
    )
    with pytest.raises(ValueError, match="expanding"):
        CompiledStatement(listed, sqlite.dialect())


def test_a_compiled_statement_binds_its_literals_and_its_types():
    from sqlalchemy.dialects import sqlite

    stmt = (
        update(orders)
        .where(orders.c.ticket == bindparam("t"))
        .values(version=orders.c.version + 1, quantity=bindparam("q", type_=orders.c.quantity.type))
    )
    compiled = CompiledStatement(stmt, sqlite.dialect())
    # version + 1 keeps its literal; the quantity goes as integer units (Fixed), as stored.
    assert compiled.parameters({"t": 7, "q": D("1.5")}) == (150_000_000, 1, 7)
