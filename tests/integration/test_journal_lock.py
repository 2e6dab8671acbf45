"""One writer per database: a second journal on the same SQLite file or PostgreSQL database
is refused with a one-line message while the first is open, and is taken once it closes; a
second server refuses to start the same way."""

from __future__ import annotations

import pytest

from ordergate.bootstrap import bootstrap, shutdown
from ordergate.settings import Settings
from ordergate.store import JournalLocked, SqlStore, open_journal
from tests.builders import db_url_of, limit, world


async def test_a_second_journal_on_the_database_is_refused_in_one_line(store: SqlStore) -> None:
    url = db_url_of(store)
    first = await open_journal(url)
    try:
        with pytest.raises(JournalLocked) as refused:
            await open_journal(url)
        message = str(refused.value)
        assert "another ordergate server is writing to" in message
        assert "\n" not in message
    finally:
        await first.close()

    second = await open_journal(url)  # the first has gone: its lock with it
    await second.close()


async def test_the_lock_holds_while_the_first_journal_writes(store: SqlStore) -> None:
    w = await world(store)
    await w.engine.place(w.me, limit(price="4990"))

    with pytest.raises(JournalLocked):
        await open_journal(db_url_of(store))

    await w.engine.place(w.me, limit(price="4991"))  # the first writer is undisturbed
    await w.engine.settle()
    assert len(w.engine.state.open_orders(1001)) == 2  # type: ignore[arg-type]


async def test_a_second_server_on_the_database_refuses_to_start(
    store: SqlStore, db_url: str
) -> None:
    await world(store)  # a server with its engine writing

    with pytest.raises(JournalLocked):
        await bootstrap(Settings(database_url=db_url, secret=None), migrate=False)


async def test_a_server_starts_once_the_other_has_shut_down(store: SqlStore, db_url: str) -> None:
    settings = Settings(database_url=db_url, secret=None)
    first = await bootstrap(settings)
    with pytest.raises(JournalLocked):
        await bootstrap(settings, migrate=False)
    await shutdown(first)

    second = await bootstrap(settings, migrate=False)
    await shutdown(second)
