"""Trading accounts."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from ordergate.domain.errors import AccountDisabled, InvalidInput
from ordergate.domain.ids import Login, UserId

__all__ = ["Account", "PositionMode"]


class PositionMode(enum.StrEnum):
    NETTING = "netting"
    HEDGING = "hedging"


@dataclass(frozen=True, slots=True)
class Account:
    """One account: ``login`` for ScaleTrade, ``name`` (case-insensitive) for CrossTrade."""

    login: Login
    name: str
    owner_id: UserId
    group: str
    currency: str
    balance: Decimal
    leverage: int
    mode: PositionMode
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.login < 0:
            raise InvalidInput("login must not be negative")
        if not self.name or len(self.name) > 64:
            raise InvalidInput("account name must be 1 to 64 characters")
        if not 1 <= self.leverage <= 1000:
            raise InvalidInput("leverage must be 1..1000")

    @property
    def key(self) -> str:
        """The case-insensitive lookup key of the name."""
        return self.name.casefold()

    def ensure_enabled(self) -> None:
        if not self.enabled:
            raise AccountDisabled(f"account {self.name} is disabled")
