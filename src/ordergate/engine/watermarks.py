"""P&L and net-liquidation high-water marks per account, kept in the engine's memory.

A session is a UTC day. Every valuation of an account the dialects make is observed; the
highs are of the values observed, so they are as fine-grained as the valuations are. They
start again at 00:00 UTC and when the process restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

__all__ = ["Mark", "Watermarks"]


@dataclass(slots=True)
class Mark:
    """One account's session: where it started and the highs seen since."""

    session: date
    since: datetime
    #: the account's realized P&L (ever) when the session's first valuation was taken
    realized_start: Decimal
    pnl_high: Decimal
    netliq_high: Decimal
    unrealized_high: Decimal


class Watermarks:
    """The highs of every account observed, by login."""

    def __init__(self) -> None:
        self._marks: dict[int, Mark] = {}

    def observe(
        self, login: int, realized: Decimal, unrealized: Decimal, equity: Decimal, now: datetime
    ) -> Mark:
        """Take one valuation of account ``login``: its realized P&L ever, its unrealized
        P&L and its equity now."""
        mark = self._marks.get(login)
        if mark is None or mark.session != now.date():
            mark = Mark(
                session=now.date(),
                since=now,
                realized_start=realized,
                pnl_high=unrealized,
                netliq_high=equity,
                unrealized_high=unrealized,
            )
            self._marks[login] = mark
        pnl = realized - mark.realized_start + unrealized
        mark.pnl_high = max(mark.pnl_high, pnl)
        mark.netliq_high = max(mark.netliq_high, equity)
        mark.unrealized_high = max(mark.unrealized_high, unrealized)
        return mark
