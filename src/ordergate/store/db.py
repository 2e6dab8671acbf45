"""Database engines: URL forms, SQLite pragmas (WAL, durable commits), write transactions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = ["POSTGRES_SETTINGS", "create_engine", "normalize_url", "sqlite_url"]


def sqlite_url(path: str) -> str:
    return f"sqlite+aiosqlite:///{path}"


def normalize_url(raw: str) -> URL:
    """Map plain ``sqlite:///…`` and ``postgresql://…`` forms to the async drivers."""
    url = make_url(raw)
    if url.drivername in ("sqlite", "sqlite+pysqlite"):
        url = url.set(drivername="sqlite+aiosqlite")
    elif url.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        url = url.set(drivername="postgresql+asyncpg")
    if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(f"unsupported database URL scheme {url.drivername!r}")
    return url


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transactions out of the driver's hands so that "begin" below decides their kind.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",  # durable commits: an acknowledged write survives power loss
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=30000",
    ):
        cursor.execute(pragma)
    cursor.close()


def _sqlite_begin(conn: Any) -> None:
    # Write transactions take the write lock up front, so two writers queue instead of
    # deadlocking on a lock upgrade; read-only ones stay deferred and run beside writers.
    mode = "DEFERRED" if conn.get_execution_options().get("readonly") else "IMMEDIATE"
    conn.exec_driver_sql(f"BEGIN {mode}")


def create_engine(raw_url: str, *, echo: bool = False) -> AsyncEngine:
    """An async engine for ``raw_url`` with ordergate's connection settings."""
    url = normalize_url(raw_url)
    if url.drivername.startswith("sqlite"):
        engine = create_async_engine(
            url,
            echo=echo,
            # Kept open, and no overflow: a burst of readers waits for one of these rather
            # than opening and closing connections (each a thread and four pragmas).
            pool_size=16,
            max_overflow=0,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(
        url,
        echo=echo,
        pool_size=16,  # no overflow, as for SQLite: a connection costs a backend process
        max_overflow=0,
        pool_pre_ping=True,
        connect_args={"server_settings": POSTGRES_SETTINGS},
    )


#: Set on every PostgreSQL connection. ``plan_cache_mode``: a statement is planned for its
#: tables as they are at each run, not once for the tables as they were (PostgreSQL otherwise
#: keeps a generic plan after five runs until the table is analyzed again, and a plan made
#: while ``orders`` was nearly empty scans it).
POSTGRES_SETTINGS: dict[str, str] = {"plan_cache_mode": "force_custom_plan"}
