"""Shared fixtures: a migrated database per test, on SQLite and on PostgreSQL.

PostgreSQL tests run against ORDERGATE_TEST_PG_URL (default: the local server's ``test``
database, where each test session makes and drops a database of its own). Without a server
they skip with the reason, unless ORDERGATE_REQUIRE_PG=1 (CI), where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ordergate.store import SqlStore, create_engine, sqlite_url, upgrade
from tests.builders import close_venues, truncate_all

PG_URL = os.environ.get(
    "ORDERGATE_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REQUIRE_PG = os.environ.get("ORDERGATE_REQUIRE_PG") == "1"


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _pg_admin(url: str, sql: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    asyncio.run(_migrate(sqlite_url(str(path))))
    return path


def _new_pg_database(prefix: str) -> tuple[str, str]:
    """A new, empty PostgreSQL database: (name, URL). Skips (fails with
    ORDERGATE_REQUIRE_PG=1) when the server cannot be reached."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    try:
        asyncio.run(_pg_admin(PG_URL, f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server is a reason to skip
        reason = f"PostgreSQL not reachable at {PG_URL}: {type(exc).__name__}: {exc}"
        if REQUIRE_PG:
            pytest.fail(f"ORDERGATE_REQUIRE_PG=1 but {reason}")
        pytest.skip(reason)
    return name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A freshly migrated PostgreSQL database of this test session's own."""
    name, url = _new_pg_database("ordergate_t")
    asyncio.run(_migrate(url))
    yield url
    asyncio.run(_pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty, migrated database: a copy of the SQLite template, or the
    session's PostgreSQL database (emptied before each test)."""
    if request.param == "sqlite":
        path = tmp_path / "ordergate.db"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return sqlite_url(str(path))
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def blank_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of a database without any schema (for migration tests): a new SQLite file, or
    a PostgreSQL database of this test's own, dropped afterwards."""
    if request.param == "sqlite":
        yield sqlite_url(str(tmp_path / "blank.db"))
        return
    name, url = _new_pg_database("ordergate_b")
    yield url
    asyncio.run(_pg_admin(PG_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SqlStore]:
    store = SqlStore(create_engine(db_url))
    if store.dialect == "postgresql":
        await truncate_all(store)
    yield store
    await close_venues()
    await store.engine.dispose()
