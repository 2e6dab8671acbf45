"""Storage: SQLAlchemy Core tables, repositories and the unit of work."""

from ordergate.store.db import create_engine, normalize_url, sqlite_url
from ordergate.store.migrate import upgrade
from ordergate.store.uow import SqlStore, SqlTransaction

__all__ = ["SqlStore", "SqlTransaction", "create_engine", "normalize_url", "sqlite_url", "upgrade"]
