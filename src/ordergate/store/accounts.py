"""Accounts and instruments."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import Dialect, bindparam, func, insert, literal, select, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.domain.accounts import Account
from ordergate.domain.commands import AccountRef
from ordergate.domain.errors import AlreadyExists
from ordergate.domain.ids import Login
from ordergate.domain.instruments import Instrument
from ordergate.store.direct import CompiledQuery, PerDialect
from ordergate.store.mapping import account_from_row, instrument_from_row, instrument_values
from ordergate.store.sqlite_driver import Direct
from ordergate.store.tables import accounts, instruments, order_exposure, positions, users
from ordergate.store.types import Fixed

__all__ = ["SqlAccountRepository"]


#: An account by login or by name, built once: every batch of placements reads its accounts.
_BY_LOGIN = select(accounts).where(accounts.c.login == bindparam("login"))
_BY_NAME = select(accounts).where(accounts.c.name_key == bindparam("name_key"))

#: The margin check's read, built once (every batch of placements runs it): the resting
#: quantity per symbol and the held one, in one statement (one trip to the database).
_EXPOSURE = union_all(
    select(order_exposure.c.symbol, order_exposure.c.open_quantity).where(
        order_exposure.c.login == bindparam("login"), order_exposure.c.open_quantity != 0
    ),
    select(positions.c.symbol, func.sum(positions.c.quantity, type_=Fixed))
    .where(positions.c.login == bindparam("login"), positions.c.quantity > 0)
    .group_by(positions.c.symbol),
)


class _DirectQueries:
    """The reads every batch of placements makes, for direct work on SQLite (store/direct.py)."""

    def __init__(self, dialect: Dialect) -> None:
        self.by_login = CompiledQuery(_BY_LOGIN, dialect)
        self.by_name = CompiledQuery(_BY_NAME, dialect)
        self.exposure = CompiledQuery(_EXPOSURE, dialect)


_direct_queries = PerDialect(_DirectQueries)


class SqlAccountRepository:
    """Accounts and instruments on ``conn``; with ``direct`` (SQLite) a batch's reads of its
    accounts and their exposure run on the sqlite3 connection itself."""

    def __init__(self, conn: AsyncConnection, direct: Direct | None = None) -> None:
        self._conn = conn
        self._direct = direct

    async def get(self, ref: AccountRef) -> Account | None:
        if isinstance(ref, bool):
            return None
        given: dict[str, int | str]
        if isinstance(ref, int):
            statement, given = _BY_LOGIN, {"login": ref}
        else:
            statement, given = _BY_NAME, {"name_key": ref.casefold()}
        if self._direct is not None:
            queries = _direct_queries(self._conn.dialect)
            query = queries.by_login if statement is _BY_LOGIN else queries.by_name
            rows = await self._direct.run(lambda db: query.rows(db, given))
            return None if not rows else account_from_row(rows[0])
        row = (await self._conn.execute(statement, given)).mappings().first()
        return None if row is None else account_from_row(row)

    async def add(self, account: Account, password_hash: str | None = None) -> None:
        # Accounts and staff users sign in to ScaleTrade with logins from one number space.
        staff = select(users.c.id).where(users.c.login == account.login)
        if (await self._conn.execute(staff)).first() is not None:
            raise AlreadyExists(f"login {account.login} is taken by a user")
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(
                    insert(accounts).values(
                        login=account.login,
                        name=account.name,
                        name_key=account.key,
                        owner_id=account.owner_id,
                        group_name=account.group,
                        currency=account.currency,
                        balance=account.balance,
                        leverage=account.leverage,
                        mode=account.mode.value,
                        password_hash=password_hash,
                        enabled=account.enabled,
                        created_at=func.now(),
                    )
                )
        except IntegrityError:
            raise AlreadyExists(
                f"an account with login {account.login} or name {account.name} exists"
            ) from None

    async def credit(self, login: Login, amount: Decimal) -> None:
        await self._conn.execute(
            update(accounts)
            .where(accounts.c.login == login)
            .values(balance=accounts.c.balance + literal(amount, Fixed()))
        )

    async def instrument(self, symbol: str) -> Instrument | None:
        stmt = select(instruments).where(instruments.c.symbol == symbol)
        row = (await self._conn.execute(stmt)).mappings().first()
        return None if row is None else instrument_from_row(row)

    async def add_instrument(self, instrument: Instrument) -> None:
        try:
            async with self._conn.begin_nested():
                await self._conn.execute(insert(instruments).values(instrument_values(instrument)))
        except IntegrityError:
            raise AlreadyExists(f"instrument {instrument.symbol} exists") from None

    async def instruments(self) -> list[Instrument]:
        rows = await self._conn.execute(select(instruments).order_by(instruments.c.symbol))
        return [instrument_from_row(r) for r in rows.mappings()]

    async def exposure(self, login: Login) -> dict[str, Decimal]:
        # The resting part is kept per symbol by triggers on orders (tables.order_exposure):
        # one row per symbol, however many orders rest.
        totals: dict[str, Decimal] = {}
        given = {"login": login}
        rows: Iterable[tuple[str, Decimal]]
        if self._direct is not None:
            query = _direct_queries(self._conn.dialect).exposure
            found = await self._direct.run(lambda db: query.rows(db, given))
            rows = [(row["symbol"], row["open_quantity"]) for row in found]
        else:
            rows = (tuple(row) for row in await self._conn.execute(_EXPOSURE, given))
        for symbol, qty in rows:
            totals[symbol] = totals.get(symbol, Decimal(0)) + qty
        return totals
