"""Dated futures contracts: their names, month codes and expiries, and which are live on a day.

A contract is named as NT8 names it, ``ES 03-27``: the root, a space, the month and the
two-digit year. The exchange's own name puts the month's letter before the year, ``ESH27``
(``F`` January ... ``Z`` December), sometimes with the four-digit year, ``ESH2027``.

The expiry rule is the one of CME's equity index futures, applied to every root: a contract
expires on the third Friday of its month and is live up to and including that day (UTC dates);
from the Saturday after, the next contract is the front month. Quarterly contracts (``H M U
Z``: March, June, September, December) are the ones listed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from ordergate.domain.errors import InvalidInput

__all__ = [
    "MONTH_CODES",
    "QUARTERLY",
    "ContractMonth",
    "front_months",
    "parse_contract",
    "third_friday",
]

#: The exchange's month letters, January to December.
MONTH_CODES = "FGHJKMNQUVXZ"
#: The months of the quarterly cycle (H, M, U, Z).
QUARTERLY = (3, 6, 9, 12)
_FRIDAY = 4
_NAME = re.compile(r"(?P<root>[A-Z0-9]+) (?P<month>\d\d)-(?P<year>\d\d)")


def third_friday(year: int, month: int) -> date:
    """The third Friday of ``month`` in ``year``."""
    first = date(year, month, 1)
    return first + timedelta(days=(_FRIDAY - first.weekday()) % 7 + 14)


@dataclass(frozen=True, slots=True, order=True)
class ContractMonth:
    """The month a contract expires in. Names carry two-digit years, so 2000-2099."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 2000 <= self.year <= 2099 or not 1 <= self.month <= 12:
            raise InvalidInput(f"no contract month {self.month:02d}-{self.year}")

    @property
    def code(self) -> str:
        """The month's letter: ``H`` for March."""
        return MONTH_CODES[self.month - 1]

    @property
    def expiry(self) -> date:
        """The contract's last trading day: the month's third Friday."""
        return third_friday(self.year, self.month)

    def is_live(self, today: date) -> bool:
        """Whether the contract still trades on ``today`` (its expiry day included)."""
        return today <= self.expiry

    def symbol(self, root: str) -> str:
        """The contract's NT8 name: ``ES 03-27``."""
        return f"{root} {self.month:02d}-{self.year % 100:02d}"

    def after(self, months: tuple[int, ...] = QUARTERLY) -> ContractMonth:
        """The next contract month of the cycle ``months``."""
        later = [m for m in months if m > self.month]
        return (
            ContractMonth(self.year, later[0]) if later else ContractMonth(self.year + 1, months[0])
        )


def front_months(
    today: date, count: int = 2, months: tuple[int, ...] = QUARTERLY
) -> tuple[ContractMonth, ...]:
    """The ``count`` contract months of the cycle ``months`` live on ``today``, nearest
    first: the front month, then the next ones."""
    if count < 1:
        raise InvalidInput("count must be at least 1")
    cycle = sorted(set(months))
    if not cycle or tuple(cycle) != months or not 1 <= cycle[0] <= cycle[-1] <= 12:
        raise InvalidInput("months must be ascending, distinct and within 1..12")
    # The cycle's first month from this one on; it has expired if its third Friday is past.
    later = [m for m in months if m >= today.month]
    current = (
        ContractMonth(today.year, later[0]) if later else ContractMonth(today.year + 1, months[0])
    )
    if not current.is_live(today):
        current = current.after(months)
    found = [current]
    while len(found) < count:
        found.append(found[-1].after(months))
    return tuple(found)


def parse_contract(symbol: str) -> tuple[str, ContractMonth] | None:
    """The root and month of a dated future's NT8 name (``ES 03-27``), None for any other
    symbol (a spot pair, an undated contract)."""
    m = _NAME.fullmatch(symbol.upper())
    if m is None or not 1 <= int(m["month"]) <= 12:
        return None
    return m["root"], ContractMonth(2000 + int(m["year"]), int(m["month"]))
