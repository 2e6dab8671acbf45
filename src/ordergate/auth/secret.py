"""The JWT signing secret: configured, or generated once and kept in the database."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from ordergate.auth.jwt import MIN_SECRET_LENGTH
from ordergate.domain.errors import InvalidInput
from ordergate.store import SqlStore
from ordergate.store.tables import settings

__all__ = ["SETTING_NAME", "load_or_create_secret"]

#: The ``settings`` row that holds a generated secret.
SETTING_NAME = "jwt_secret"


async def load_or_create_secret(store: SqlStore, configured: str | None) -> str:
    """The secret to sign sessions with, for the composition root: ``configured``
    (``ORDERGATE_SECRET``) when given, else the one stored in ``settings``, made on
    first start. Every process sharing the database ends up with the same secret."""
    if configured is not None:
        if len(configured) < MIN_SECRET_LENGTH:
            raise InvalidInput(
                f"the configured JWT secret must be at least {MIN_SECRET_LENGTH} characters"
            )
        return configured
    stored = await _read(store)
    if stored is not None:
        return stored
    candidate = secrets.token_urlsafe(48)
    try:
        async with store.transaction() as tx:
            await tx.connection.execute(insert(settings).values(key=SETTING_NAME, value=candidate))
            await tx.commit()
    except IntegrityError:
        # Another process stored its secret between our read and our insert: use that one.
        stored = await _read(store)
        if stored is None:  # the failure was something else: the row is not there
            raise
        return stored
    return candidate


async def _read(store: SqlStore) -> str | None:
    async with store.transaction(readonly=True) as tx:
        stmt = select(settings.c.value).where(settings.c.key == SETTING_NAME)
        value: str | None = (await tx.connection.execute(stmt)).scalar_one_or_none()
    return value
