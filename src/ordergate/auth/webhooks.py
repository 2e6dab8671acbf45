"""Each user's CrossTrade webhook id: the random, unguessable part of the URL its TradingView
alerts are posted to (``/v1/send/<webhookId>``), made on first use and replaceable.

The id only says whose alert it is; the payload's ``key`` (the user's API token) still
authenticates it. It is stored as is, unlike tokens, so that its URL can be shown again.

Resolving an id is on every alert's path, so the user an id names is kept for
``cache_seconds`` (shared by every ``Webhooks`` on one store, emptied by a rotation made in
this process; a rotation made elsewhere shows within ``cache_seconds``). The caller itself
comes from ``UserService.principal_for_user``, whose kept callers are dropped whenever users
change (``AccessWatch``): a disabled user's webhook resolves to nothing within about a second.
"""

from __future__ import annotations

import re
import secrets
import weakref

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from ordergate.auth.kept import Kept
from ordergate.auth.users import UserService
from ordergate.domain.clock import Clock, SystemClock
from ordergate.domain.errors import AuthError
from ordergate.domain.ids import UserId
from ordergate.domain.principal import Principal
from ordergate.store import SqlStore
from ordergate.store.tables import webhooks

__all__ = ["Webhooks", "looks_like_webhook_id", "new_webhook_id", "webhook_url"]

_PREFIX = "wh_"
# token_urlsafe(24) is 32 characters of the URL-safe base64 alphabet (192 random bits).
_WEBHOOK_ID = re.compile(re.escape(_PREFIX) + r"[A-Za-z0-9_-]{32}")


def new_webhook_id() -> str:
    """A fresh webhook id."""
    return _PREFIX + secrets.token_urlsafe(24)


def looks_like_webhook_id(text: str) -> bool:
    """Whether ``text`` has the shape ``new_webhook_id`` makes; others need no look-up."""
    return _WEBHOOK_ID.fullmatch(text) is not None


def webhook_url(base_url: str, webhook_id: str) -> str:
    """The URL alerts for ``webhook_id`` are posted to, under ``base_url``."""
    return f"{base_url.rstrip('/')}/v1/send/{webhook_id}"


#: The user each webhook id was recently found to name, per store (see ``auth/kept.py``).
_OWNERS: weakref.WeakKeyDictionary[SqlStore, Kept[UserId]] = weakref.WeakKeyDictionary()


class Webhooks:
    """Webhook ids of the users of ``users``: shown and rotated by administration, resolved
    to a caller by the webhook endpoint."""

    def __init__(
        self, users: UserService, clock: Clock | None = None, *, cache_seconds: float = 0
    ) -> None:
        self._users = users
        self._store = users.store
        self._clock: Clock = clock or SystemClock()
        self._cache_seconds = cache_seconds
        self._owners: Kept[UserId] = _OWNERS.setdefault(self._store, Kept())

    async def webhook_id(self, user_name: str) -> str:
        """The webhook id of ``user_name``, made on first use; ``UserNotFound`` if there is
        no such user."""
        user_id = (await self._users.get_user(user_name)).id
        while True:
            found = await self._stored(user_id)
            if found is not None:
                return found
            new = new_webhook_id()
            if await self._insert(user_id, new):
                return new
            # Made by someone else meanwhile: read theirs.

    async def rotate_webhook(self, user_name: str) -> str:
        """Give ``user_name`` a new webhook id; the old one names no one from now on (in
        this process at once, elsewhere within ``cache_seconds``)."""
        user_id = (await self._users.get_user(user_name)).id
        new = new_webhook_id()
        while not await self._replace(user_id, new) and not await self._insert(user_id, new):
            pass  # made by someone else between the two: replace it
        self._owners.forget()
        return new

    async def user_for_webhook(self, webhook_id: str) -> Principal | None:
        """The caller whose webhook id is ``webhook_id``; None if it names no one or its
        user is disabled."""
        if not isinstance(webhook_id, str) or not looks_like_webhook_id(webhook_id):
            return None
        user_id = await self._owners.find(
            webhook_id, self._cache_seconds, lambda: self._owner(webhook_id)
        )
        if user_id is None:
            return None
        try:
            return await self._users.principal_for_user(user_id)
        except AuthError:
            return None

    async def _owner(self, webhook_id: str) -> UserId | None:
        stmt = select(webhooks.c.user_id).where(webhooks.c.webhook_id == webhook_id)
        async with self._store.transaction(readonly=True) as tx:
            found = (await tx.connection.execute(stmt)).scalar()
        return None if found is None else UserId(found)

    async def _stored(self, user_id: UserId) -> str | None:
        stmt = select(webhooks.c.webhook_id).where(webhooks.c.user_id == user_id)
        async with self._store.transaction(readonly=True) as tx:
            found: str | None = (await tx.connection.execute(stmt)).scalar()
        return found

    async def _insert(self, user_id: UserId, webhook_id: str) -> bool:
        """Store the first webhook id of ``user_id``; False if it has one already."""
        stmt = insert(webhooks).values(
            user_id=user_id, webhook_id=webhook_id, created_at=self._clock.now()
        )
        try:
            async with self._store.transaction() as tx:
                await tx.connection.execute(stmt)
                await tx.commit()
        except IntegrityError:
            if await self._stored(user_id) is None:
                raise  # not a row of this user's: say so
            return False
        return True

    async def _replace(self, user_id: UserId, webhook_id: str) -> bool:
        """Replace the webhook id of ``user_id``; False if it has none yet."""
        stmt = (
            update(webhooks)
            .where(webhooks.c.user_id == user_id)
            .values(webhook_id=webhook_id, created_at=self._clock.now())
        )
        async with self._store.transaction() as tx:
            result = await tx.connection.execute(stmt)
            await tx.commit()
        return bool(result.rowcount)
