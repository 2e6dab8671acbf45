"""Statements run on the sqlite3 connection itself (``sqlite_driver.Direct``).

Every placement writes the same few statements: its order, its event, and with the venue's
acknowledgement an UPDATE of its status and one more event. Through SQLAlchemy each
execution also built an execution context, keyed and looked up its compiled form, processed
every parameter, wrapped the cursor and switched greenlets, and under load that came to
more of a core than SQLite spent running them (bench/README.md, ``load.py``). Here their SQL
is rendered once, from the same tables and the same SQLAlchemy statements, and each value is
bound by its column type's own bind processor, as SQLAlchemy binds it: the rows are the same.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, CompoundSelect, Dialect, Select, Table
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.types import TypeEngine

__all__ = ["CompiledQuery", "CompiledStatement", "PerDialect", "RowInsert"]

Processor = Callable[[Any], Any] | None
T = TypeVar("T")


class PerDialect(Generic[T]):
    """``build(dialect)`` once for each dialect: a repository's direct statements, built
    the first time they are run and kept as long as the process."""

    def __init__(self, build: Callable[[Dialect], T]) -> None:
        self._build = build
        self._built: dict[str, T] = {}

    def __call__(self, dialect: Dialect) -> T:
        found = self._built.get(dialect.name)
        if found is None:
            found = self._built[dialect.name] = self._build(dialect)
        return found


def _processor(type_: TypeEngine[Any], dialect: Dialect) -> Processor:
    processor: Processor = type_.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _bound(order: Sequence[tuple[str, Processor]], values: Mapping[str, Any]) -> tuple[Any, ...]:
    """The parameters named in ``order`` from ``values``, each through its processor."""
    return tuple([values[n] if process is None else process(values[n]) for n, process in order])


class RowInsert:
    """INSERT of rows of ``table``'s ``columns`` (dicts of Python values by column name).
    With ``returning`` the rows go as multi-row VALUES statements and the returned columns
    come back, in no promised order; without, as one ``executemany``."""

    #: Rows per statement: under SQLite's limit of 32,766 parameters for the widest table.
    CHUNK = 500

    def __init__(
        self,
        table: Table,
        columns: Sequence[Column[Any]],
        dialect: Dialect,
        returning: Sequence[Column[Any]] = (),
    ) -> None:
        quote = dialect.identifier_preparer.quote
        self._order = [(c.name, _processor(c.type, dialect)) for c in columns]
        names = ", ".join(quote(c.name) for c in columns)
        self._head = f"INSERT INTO {quote(table.name)} ({names}) "
        self._row = f"({', '.join('?' for _ in columns)})"
        self._returning = (
            f" RETURNING {', '.join(quote(c.name) for c in returning)}" if returning else ""
        )
        self._sql: dict[int, str] = {}

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """One row's parameters, each value as its column type binds it."""
        return _bound(self._order, values)

    def _statement(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            values = ", ".join([self._row] * rows)
            sql = self._sql[rows] = f"{self._head}VALUES {values}{self._returning}"
        return sql

    def run(self, db: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> list[Any]:
        """Insert ``rows`` (``bind``'s); the returned rows, if any were asked for."""
        if not rows:
            return []
        if not self._returning:
            db.executemany(self._statement(1), rows)
            return []
        returned: list[Any] = []
        for start in range(0, len(rows), self.CHUNK):
            chunk = rows[start : start + self.CHUNK]
            flat = [value for row in chunk for value in row]
            returned += db.execute(self._statement(len(chunk)), flat).fetchall()
        return returned


class CompiledStatement:
    """A SQLAlchemy statement compiled once for SQLite, run with its named parameters bound
    as SQLAlchemy binds them (literal values in it included). Refuses statements whose SQL
    depends on the parameters (expanding IN lists)."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise ValueError("not a positional SQL statement")
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("a statement with expanding parameters has no one SQL text")
        self.sql = compiled.string
        self._compiled = compiled
        self._order = [
            (name, _processor(compiled.binds[name].type, dialect)) for name in compiled.positiontup
        ]

    def parameters(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        return _bound(self._order, self._compiled.construct_params(dict(given)))

    def run(self, db: sqlite3.Connection, given: Mapping[str, Any]) -> list[Any]:
        """Run with ``given`` parameters: the rows it returns, if any."""
        return db.execute(self.sql, self.parameters(given)).fetchall()


class CompiledQuery(CompiledStatement):
    """A SELECT compiled once for SQLite whose rows come back as SQLAlchemy's would: each a
    dict by column key, every value through its column type's result processor (exact
    decimals, booleans, UTC datetimes). For the reads of every batch of placements (its
    accounts and their exposure), which cost more in SQLAlchemy than in SQLite."""

    def __init__(self, statement: Select[Any] | CompoundSelect[Any], dialect: Dialect) -> None:
        super().__init__(statement, dialect)
        self._columns = [
            (str(column.key), column.type.dialect_impl(dialect).result_processor(dialect, None))
            for column in statement.selected_columns
        ]

    def rows(self, db: sqlite3.Connection, given: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The rows for ``given`` parameters."""
        columns = self._columns
        return [
            {key: value if process is None else process(value)
             for (key, process), value in zip(columns, row, strict=True)}
            for row in db.execute(self.sql, self.parameters(given)).fetchall()
        ]  # fmt: skip
