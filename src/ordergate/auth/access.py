"""Disabling and enabling users and accounts, and the server noticing it within a second.

A disabled user's every entry point stops: its API tokens, the ScaleTrade sessions of its
staff login and of the accounts it owns (sessions already issued included), sign-in, and
its open WebSocket connections. A disabled account signs in no more (its sessions end) and
takes no new exposure: placing, changing and closing are refused with ``AccountDisabled``
whoever asks; cancelling stays open, so that its resting orders can still be taken off.

The flag may change in another process (``ordergate user disable``) or by plain SQL, so the
server reads the disabled sets every ``interval`` seconds (``AccessWatch``): two queries over
the few disabled rows. On a change it drops the callers kept for tokens and sessions, tells
the engine which accounts are disabled, and wakes the open connections to check their
credentials again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import select, update

from ordergate.auth.users import User, UserService
from ordergate.domain.errors import AccountNotFound
from ordergate.domain.ids import Login, UserId
from ordergate.store import SqlStore
from ordergate.store.tables import accounts, users

__all__ = ["AccessWatch", "Disabled", "disabled", "set_account_enabled", "set_user_enabled"]

log = logging.getLogger(__name__)

_MAX_BIGINT = 2**63 - 1

#: Disabled user ids and disabled account logins.
Disabled = tuple[frozenset[UserId], frozenset[Login]]


async def set_user_enabled(service: UserService, name: str, enabled: bool) -> User:
    """Enable or disable the user ``name``; ``UserNotFound`` if there is none."""
    user = await service.get_user(name)
    async with service.store.transaction() as tx:
        await tx.connection.execute(
            update(users).where(users.c.id == user.id).values(enabled=enabled)
        )
        await tx.commit()
    service.forget()
    return await service.get_user(name)


async def set_account_enabled(service: UserService, ref: str, enabled: bool) -> Login:
    """Enable or disable the account named ``ref`` (its login, or its name in any case);
    its login. ``AccountNotFound`` if there is none."""
    where = accounts.c.name_key == ref.casefold()
    if ref.isdigit() and int(ref) <= _MAX_BIGINT:
        where = where | (accounts.c.login == int(ref))
    async with service.store.transaction() as tx:
        conn = tx.connection
        login = (await conn.execute(select(accounts.c.login).where(where))).scalar()
        if login is None:
            raise AccountNotFound(f"account {ref} not found")
        await conn.execute(
            update(accounts).where(accounts.c.login == login).values(enabled=enabled)
        )
        await tx.commit()
    service.forget()
    return Login(login)


async def disabled(store: SqlStore) -> Disabled:
    """The users and the accounts disabled now."""
    async with store.transaction(readonly=True) as tx:
        conn = tx.connection
        user_ids = (await conn.execute(select(users.c.id).where(~users.c.enabled))).scalars()
        found_users = frozenset(UserId(i) for i in user_ids)
        logins = (await conn.execute(select(accounts.c.login).where(~accounts.c.enabled))).scalars()
        return found_users, frozenset(Login(i) for i in logins)


class AccessWatch:
    """Reads the disabled sets every ``interval`` seconds and acts on a change: forgets the
    kept callers, hands the disabled logins to ``on_accounts``, and wakes ``changed()``."""

    def __init__(
        self,
        service: UserService,
        on_accounts: Callable[[frozenset[Login]], None],
        interval: float,
    ) -> None:
        self._service = service
        self._on_accounts = on_accounts
        self.interval = interval
        self._seen: Disabled | None = None
        self._changed = asyncio.Event()

    async def check(self) -> bool:
        """Read the disabled sets now; whether they changed since the last check."""
        now = await disabled(self._service.store)
        if now == self._seen:
            return False
        first = self._seen is None
        self._seen = now
        self._service.forget()
        self._on_accounts(now[1])
        if not first:
            woken, self._changed = self._changed, asyncio.Event()
            woken.set()
        return True

    async def changed(self) -> None:
        """Return at the next change the watch notices."""
        await self._changed.wait()

    async def run(self) -> None:
        """Check every ``interval`` seconds until cancelled; a failed read is logged and
        tried again (the database may be away for a moment)."""
        while True:
            try:
                await self.check()
            except Exception:
                log.warning("could not read the disabled users and accounts", exc_info=True)
            await asyncio.sleep(self.interval)
