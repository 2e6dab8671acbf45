"""Accounts and instruments."""

from __future__ import annotations

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.domain.accounts import Account
from ordergate.domain.commands import AccountRef
from ordergate.domain.errors import AlreadyExists
from ordergate.domain.instruments import Instrument
from ordergate.store.mapping import account_from_row, instrument_from_row, instrument_values
from ordergate.store.tables import accounts, instruments, users

__all__ = ["SqlAccountRepository"]


_BY_LOGIN = select(accounts).where(accounts.c.login == bindparam("login"))
_BY_NAME = select(accounts).where(accounts.c.name_key == bindparam("name_key"))


class SqlAccountRepository:
    """Accounts and instruments on ``conn``: added here (the command line, the admin API,
    the tests); the engine learns them when first named."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, ref: AccountRef) -> Account | None:
        if isinstance(ref, bool):
            return None
        given: dict[str, int | str]
        if isinstance(ref, int):
            statement, given = _BY_LOGIN, {"login": ref}
        else:
            statement, given = _BY_NAME, {"name_key": ref.casefold()}
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
