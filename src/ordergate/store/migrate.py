"""Bring a database to the newest schema with Alembic (the only way the schema changes)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["alembic_config", "downgrade", "upgrade"]

_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


@cache
def _head() -> str | None:
    """The newest revision of the scripts (read once: loading them is most of the cost of an
    upgrade that has nothing to do)."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _upgrade(connection: Connection, revision: str) -> None:
    if (
        revision == "head"
        and MigrationContext.configure(connection).get_current_revision() == _head()
    ):
        return  # at the newest schema already: nothing to load or run
    command.upgrade(alembic_config(connection), revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply every pending migration (up to ``revision``) in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Undo the migrations after ``revision``, in one transaction (tests of a migration)."""
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: command.downgrade(alembic_config(c), revision))
