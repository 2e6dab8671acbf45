"""The typed form of a CrossTrade webhook alert (spec ``crosstrade-webhooks.md``): the
``Alert`` a payload parses into, the values it is made of, and the one error a refused
alert raises. Plain data: nothing here reads a body or a clock."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from ordergate.domain.errors import InvalidInput

__all__ = [
    "EASTERN",
    "Action",
    "Alert",
    "AlertError",
    "Bracket",
    "Command",
    "MarketPosition",
    "OrderType",
    "PriceSpec",
    "PriceUnit",
    "RateLimit",
    "TimeInForce",
    "TradingWindow",
]


class AlertError(InvalidInput):
    """A webhook alert refused as malformed. ``field`` names the first bad field (None when
    the body as a whole is unreadable); ``message`` tells the sender what to fix and never
    holds the key."""

    code = "INVALID_ALERT"

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field


class Command(StrEnum):
    PLACE = "PLACE"
    FLATPLACE = "FLATPLACE"
    CLOSEPOSITION = "CLOSEPOSITION"
    REVERSE = "REVERSE"
    REVERSEPOSITION = "REVERSEPOSITION"
    FLATTEN = "FLATTEN"
    FLATTENEVERYTHING = "FLATTENEVERYTHING"
    CANCEL = "CANCEL"
    CANCELORDERS = "CANCELORDERS"
    CANCELALLORDERS = "CANCELALLORDERS"
    CANCELREPLACE = "CANCELREPLACE"
    CHANGE = "CHANGE"
    CANCELANDBRACKET = "CANCELANDBRACKET"
    CLOSESTRATEGY = "CLOSESTRATEGY"


class Action(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOPMARKET = "STOPMARKET"
    STOPLIMIT = "STOPLIMIT"


class TimeInForce(StrEnum):
    DAY = "DAY"
    GTC = "GTC"


class MarketPosition(StrEnum):
    LONG = "long"
    FLAT = "flat"
    SHORT = "short"


class PriceUnit(StrEnum):
    """What a price field's number means: a price, or an offset from the current price."""

    PRICE = "price"
    TICKS = "ticks"
    PERCENT = "percent"
    POINTS = "points"
    DOLLARS = "dollars"


@dataclass(frozen=True, slots=True)
class PriceSpec:
    """A price as the alert gives it: absolute (``PRICE``), or an offset from the current
    price in ``unit`` whose sign says above (+) or below (-). Percent is in percent (1.5 for
    1.5 %); dollars are per contract. Conversion to a price needs a quote: not done here."""

    value: Decimal
    unit: PriceUnit

    @property
    def is_absolute(self) -> bool:
        return self.unit is PriceUnit.PRICE


@dataclass(frozen=True, slots=True)
class Bracket:
    """Exit legs attached to an entry: a take-profit LIMIT and one stop leg whose trigger is
    ``stop_loss``; ``stop_limit`` makes that leg a STOPLIMIT (None: a STOPMARKET)."""

    take_profit: PriceSpec | None = None
    stop_loss: PriceSpec | None = None
    stop_limit: PriceSpec | None = None


#: The time zone of alert trading windows: the spec's US/Eastern.
EASTERN = "America/New_York"


def _within(moment: time, start: time | None, end: time | None) -> bool:
    """``start <= moment < end``; an absent bound is open; ``start > end`` wraps midnight."""
    after = start is None or moment >= start
    before = end is None or moment < end
    if start is not None and end is not None and start > end:
        return after or before
    return after and before


@dataclass(frozen=True, slots=True)
class TradingWindow:
    """The alert's own window: times of day in ``time_zone`` (the spec's US/Eastern). Alerts
    pass from ``start`` (inclusive) to ``end`` (exclusive); a bound left out is open;
    ``start > end`` wraps past midnight. From ``closing_only_after`` to ``end`` only closing
    commands pass."""

    start: time | None = None
    end: time | None = None
    closing_only_after: time | None = None
    time_zone: str = EASTERN

    def __post_init__(self) -> None:
        if self.start is not None and self.start == self.end:
            raise AlertError("end_time", "end_time equals start_time: the window would be empty")
        after = self.closing_only_after
        if after is None:
            return
        if self.start is None or self.end is None:
            raise AlertError(
                "closing_only_after", "closing_only_after needs both start_time and end_time"
            )
        if not self.contains(after):
            raise AlertError(
                "closing_only_after", "closing_only_after must fall between start_time and end_time"
            )

    @property
    def wraps(self) -> bool:
        return self.start is not None and self.end is not None and self.start > self.end

    def contains(self, moment: time) -> bool:
        """Whether an alert at ``moment`` (a time of day in ``time_zone``) is inside."""
        return _within(moment, self.start, self.end)

    def closing_only(self, moment: time) -> bool:
        """Whether only closing commands pass at ``moment``."""
        after = self.closing_only_after
        return after is not None and _within(moment, after, self.end)


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` alerts tagged ``id`` per ``seconds``; later ones are blocked."""

    count: int
    seconds: int
    id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One webhook alert, validated and typed but not yet resolved against accounts,
    instruments or quotes. ``command`` is None for a bare kill-switch message. Absent
    fields are None (flags False). ``fields`` holds every field as sent (names lower-cased,
    values trimmed, unknown ones included) except the key, for the Alert History."""

    key: str = field(repr=False)
    command: Command | None
    accounts: tuple[str, ...] = ()
    instrument: str | None = None
    action: Action | None = None
    qty: Decimal | None = None
    order_type: OrderType | None = None
    tif: TimeInForce | None = None
    limit_price: PriceSpec | None = None
    stop_price: PriceSpec | None = None
    bracket: Bracket | None = None
    oco_id: str | None = None
    order_id: str | None = None
    strategy: str | None = None
    strategy_id: str | None = None
    append_atm: bool = False
    flatten_first: bool = False
    require_market_position: frozenset[MarketPosition] | None = None
    max_positions: int | None = None
    #: Seconds (the payload gives whole minutes).
    cancel_after: int | None = None
    #: CLOSEPOSITION's partial close: a quantity, else a fraction of the position.
    quantity: Decimal | None = None
    percent: Decimal | None = None
    #: FLATTEN's side filter, or the strategy's side for ``sync_strategy``.
    market_position: MarketPosition | None = None
    sync_strategy: bool = False
    prev_market_position: MarketPosition | None = None
    target_quantity: Decimal | None = None
    window: TradingWindow | None = None
    bypass_trade_windows: bool = False
    delay: Decimal | None = None
    rate_limit: RateLimit | None = None
    kill_switch: bool | None = None
    comment: str | None = None
    destination: str = "nt8"
    warnings: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), hash=False)
