"""The journal for a database URL: SQLite or PostgreSQL."""

from __future__ import annotations

from ordergate.store.db import normalize_url
from ordergate.store.journal_pg import PgJournal
from ordergate.store.journal_sqlite import SqliteJournal

__all__ = ["ensure_free", "open_journal"]


async def open_journal(url: str) -> SqliteJournal | PgJournal:
    """The journal of the database at ``url``, open: its writer's lock held (``JournalLocked``
    if another server holds it) and its connection made."""
    parsed = normalize_url(url)
    journal: SqliteJournal | PgJournal
    if parsed.drivername.startswith("sqlite"):
        if parsed.database in (None, "", ":memory:"):
            raise ValueError("the journal needs a SQLite database file, not one in memory")
        journal = SqliteJournal(parsed.database)
    else:
        journal = PgJournal(parsed.render_as_string(hide_password=False))
    await journal.open()
    return journal


async def ensure_free(url: str) -> None:
    """Raise ``JournalLocked`` if a server writes to the database at ``url`` now (what a
    server checks before it starts listening, to refuse in one line)."""
    journal = await open_journal(url)
    await journal.close()
