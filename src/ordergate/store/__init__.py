"""Storage: the engine's journal, the records it reads, SQLAlchemy Core tables and the unit
of work for what is not the engine's (users, tokens, reference data, bars)."""

from ordergate.store.db import create_engine, normalize_url, sqlite_url
from ordergate.store.journals import open_journal
from ordergate.store.locks import JournalLocked
from ordergate.store.migrate import upgrade
from ordergate.store.records import SqlRecords
from ordergate.store.uow import SqlStore, SqlTransaction

__all__ = [
    "JournalLocked",
    "SqlRecords",
    "SqlStore",
    "SqlTransaction",
    "create_engine",
    "normalize_url",
    "open_journal",
    "sqlite_url",
    "upgrade",
]
