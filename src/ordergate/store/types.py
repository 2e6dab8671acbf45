"""Column types that keep ordergate's numbers exact and its times UTC on every database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from ordergate.domain.values import SCALE

__all__ = ["Fixed", "UtcDateTime", "from_units", "from_units_cached", "to_units"]

_FACTOR: int = 10**SCALE


def to_units(value: Decimal | int) -> int:
    """A Decimal as an integer count of 10**-SCALE; refuses anything finer."""
    if isinstance(value, int):
        return value * _FACTOR
    scaled: Decimal = value.scaleb(SCALE)
    units = int(scaled)
    if units != scaled:
        raise ValueError(f"{value} has more than {SCALE} decimal places")
    return units


def from_units(units: int) -> Decimal:
    return Decimal(units).scaleb(-SCALE)


@lru_cache(maxsize=4096)
def from_units_cached(units: int) -> Decimal:
    """``from_units`` for bulk reads, where a few quantities repeat (Decimal is immutable)."""
    return from_units(units)


class Fixed(TypeDecorator[Decimal]):
    """A Decimal stored as a 64-bit integer of 10**-SCALE units: exact, fast, the same on
    SQLite and PostgreSQL (SQLite has no exact decimal type)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> int | None:
        return None if value is None else to_units(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else from_units(int(value))


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes in, timezone-aware UTC datetimes out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite the stored text in one step: SQLAlchemy's own DATETIME text (its
        default storage format, what the rows already hold), which it builds from a dict of
        the seven fields, a few of them per row in every batch insert. The last text is
        kept for its datetime: a batch's rows share one moment (its orders' creation and
        update, their events), so one text serves them all."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        # (datetime, its text), swapped as one object: the processor may run on two threads.
        last: list[tuple[datetime | None, str]] = [(None, "")]

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            moment, text = last[0]
            if value is moment:  # the very object: datetimes are immutable
                return text
            if value.tzinfo is None:
                raise ValueError("naive datetime given to a UTC column")
            text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
            last[0] = (value, text)
            return text

        return process

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
