"""Bring a database to the newest schema with Alembic (the only way the schema changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["alembic_config", "upgrade"]

_SCRIPTS = Path(__file__).with_name("migrations")


def alembic_config(connection: Any = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Any) -> None:
    command.upgrade(alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every pending migration in one transaction."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)
