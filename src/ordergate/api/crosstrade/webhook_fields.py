"""The fields of a CrossTrade webhook alert (spec ``crosstrade-webhooks.md`` §3, §5) and the
parsers of their values. Pure: text in, typed values out.

Each parser takes the field's name (for the error) and its trimmed, non-empty text. Enum
values are case-insensitive; numbers use ``.`` and plain ASCII digits (no exponent)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from enum import StrEnum
from typing import Generic, TypeVar

from ordergate.api.crosstrade.webhook_model import (
    Action,
    AlertError,
    Command,
    MarketPosition,
    OrderType,
    PriceSpec,
    PriceUnit,
    TimeInForce,
)

__all__ = [
    "FIELDS",
    "AlertFields",
    "Field",
    "accounts",
    "choice",
    "clock_time",
    "count",
    "delay_seconds",
    "destination",
    "flag",
    "fraction",
    "is_atm_order_name",
    "minutes_as_seconds",
    "on_off",
    "positions",
    "positive",
    "price",
    "rate",
    "shown",
    "text",
    "whole",
]


def shown(value: str, limit: int = 40) -> str:
    """``value`` quoted for a message, shortened when long."""
    return repr(value if len(value) <= limit else value[: limit - 3] + "...")


E = TypeVar("E", bound=StrEnum)
T_co = TypeVar("T_co", covariant=True)


def choice(kind: type[E]) -> Callable[[str, str], E]:
    """A parser for the values of ``kind``, in any case."""
    by_name = {member.name: member for member in kind}
    listed = ", ".join(member.value for member in kind)

    def parse(name: str, value: str) -> E:
        member = by_name.get(value.upper())
        if member is None:
            raise AlertError(name, f"{name} must be one of {listed}, got {shown(value)}")
        return member

    return parse


def text(limit: int) -> Callable[[str, str], str]:
    """A parser for free text of at most ``limit`` characters (not echoed: it may be a key)."""

    def parse(name: str, value: str) -> str:
        if len(value) > limit:
            raise AlertError(name, f"{name} must be at most {limit} characters")
        return value

    return parse


_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_MAX_NUMBER = 30


def _number(name: str, value: str, what: str) -> Decimal:
    if len(value) > _MAX_NUMBER or _NUMBER.fullmatch(value) is None:
        raise AlertError(name, f"{name} must be {what}, got {shown(value)}")
    return Decimal(value)


def _whole(value: str) -> Decimal | None:
    """``value`` as an integral Decimal if it is a whole number >= 0 (``2``, ``2.0``)."""
    if len(value) > _MAX_NUMBER or _NUMBER.fullmatch(value) is None or value.startswith("-"):
        return None
    number = Decimal(value)
    return number.quantize(Decimal(1)) if number == number.to_integral_value() else None


def whole(name: str, value: str) -> Decimal:
    """A whole number >= 0 (``2``, ``2.0``), as an integral Decimal."""
    number = _whole(value)
    if number is None:
        raise AlertError(name, f"{name} must be a whole number, got {shown(value)}")
    return number


def positive(name: str, value: str) -> Decimal:
    """A whole number > 0, as an integral Decimal."""
    number = whole(name, value)
    if number == 0:
        raise AlertError(name, f"{name} must be greater than 0")
    return number


def count(low: int, high: int | None = None) -> Callable[[str, str], int]:
    """A parser for a whole number from ``low`` to ``high`` (no upper bound if None)."""
    span = f"from {low} to {high}" if high is not None else f"of at least {low}"

    def parse(name: str, value: str) -> int:
        number = _whole(value)
        if number is None or number < low or (high is not None and number > high):
            raise AlertError(name, f"{name} must be a whole number {span}, got {shown(value)}")
        return int(number)

    return parse


def minutes_as_seconds(name: str, value: str) -> int:
    """``cancel_after``: whole minutes from 1 to 60, returned in seconds."""
    return count(1, 60)(name, value) * 60


def delay_seconds(name: str, value: str) -> Decimal:
    """``delay``: seconds from 0 to 60, fractions allowed."""
    seconds = _number(name, value, "seconds from 0 to 60")
    if not 0 <= seconds <= 60:
        raise AlertError(name, f"{name} must be seconds from 0 to 60, got {shown(value)}")
    return seconds


def fraction(name: str, value: str) -> Decimal:
    """``percent`` of CLOSEPOSITION: a fraction above 0 and at most 1."""
    what = "a fraction above 0 and at most 1 (0.34 closes 34 %)"
    share = _number(name, value, what)
    if not 0 < share <= 1:
        raise AlertError(name, f"{name} must be {what}, got {shown(value)}")
    return share


_PRICE = re.compile(
    r"(?P<sign>[+-]?)(?P<dollar>\$?)(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"\s*(?P<unit>%|\$|ticks?|points?|dollars?)?",
    re.IGNORECASE,
)
_UNITS = {
    "%": PriceUnit.PERCENT,
    "tick": PriceUnit.TICKS,
    "ticks": PriceUnit.TICKS,
    "point": PriceUnit.POINTS,
    "points": PriceUnit.POINTS,
    "$": PriceUnit.DOLLARS,
    "dollar": PriceUnit.DOLLARS,
    "dollars": PriceUnit.DOLLARS,
}


def price(name: str, value: str) -> PriceSpec:
    """A price (``21480.25``) or an offset: ``-8 ticks``, ``1tick``, ``+1.5%``, ``15 points``,
    ``-$250``, ``250 dollars``. A plain number is a price and may not be negative."""
    found = _PRICE.fullmatch(value) if len(value) <= _MAX_NUMBER else None
    if found is None or (found["dollar"] and found["unit"]):
        raise AlertError(
            name,
            f"{name} must be a price such as 21480.25 or an offset such as -8 ticks, 1.5%, "
            f"15 points or -$250, got {shown(value)}",
        )
    number = Decimal(found["sign"] + found["number"])
    if found["dollar"]:
        return PriceSpec(number, PriceUnit.DOLLARS)
    if found["unit"]:
        return PriceSpec(number, _UNITS[found["unit"].lower()])
    if number < 0:
        raise AlertError(
            name, f"{name} {value} is a negative price: an offset needs a unit, as in -8 ticks"
        )
    return PriceSpec(number, PriceUnit.PRICE)


def positions(name: str, value: str) -> frozenset[MarketPosition]:
    """``require_market_position``: ``flat``, ``long``, ``short`` or several joined by ``,``
    or ``/`` (any of them)."""
    parse = choice(MarketPosition)
    return frozenset(parse(name, item.strip()) for item in re.split(r"[,/]", value))


def accounts(name: str, value: str) -> tuple[str, ...]:
    """``account``: one NT8 account name or several joined by ``,``; trimmed, repeats
    (in any case) dropped, first spelling kept."""
    names: dict[str, str] = {}
    for item in value.split(","):
        account = item.strip()
        if not account:
            raise AlertError(name, f"{name} has an empty name in its list {shown(value)}")
        if len(account) > 64:
            raise AlertError(name, f"{name} names must be at most 64 characters")
        names.setdefault(account.lower(), account)
    return tuple(names.values())


_RATE = re.compile(r"([0-9]{1,9})(?:\s*/\s*([0-9]{1,9}))?")


def rate(name: str, value: str) -> tuple[int, int]:
    """``rate_limit``: ``N`` (per 60 s) or ``N/S`` (per S seconds); N at most 1000, S at
    most 86400."""
    found = _RATE.fullmatch(value)
    count_, seconds = (int(found[1]), int(found[2] or 60)) if found else (0, 0)
    if not (1 <= count_ <= 1000 and 1 <= seconds <= 86400):
        raise AlertError(
            name,
            f"{name} must be N or N/S (N alerts per S seconds, N 1-1000, S 1-86400), "
            f"got {shown(value)}",
        )
    return count_, seconds


_TIME = re.compile(r"([0-9]{1,2}):([0-9]{2})\s*([AP]M)?", re.IGNORECASE)


def clock_time(name: str, value: str) -> time:
    """A time of day: ``13:30``, ``9:05``, ``1:30PM``, ``01:30 pm``."""
    found = _TIME.fullmatch(value)
    hour, minute = (int(found[1]), int(found[2])) if found else (-1, -1)
    if found and found[3]:
        valid = 1 <= hour <= 12
        hour = hour % 12 + (12 if found[3].upper() == "PM" else 0)
    else:
        valid = 0 <= hour <= 23
    if not valid or not 0 <= minute <= 59:
        raise AlertError(
            name, f"{name} must be a time such as 13:30 or 1:30 PM (US/Eastern), got {shown(value)}"
        )
    return time(hour, minute)


def on_off(name: str, value: str) -> bool:
    """``kill_switch``: ``on`` or ``off``."""
    if value.lower() not in ("on", "off"):
        raise AlertError(name, f"{name} must be on or off, got {shown(value)}")
    return value.lower() == "on"


def flag(name: str, value: str) -> bool:
    """A boolean: ``true`` (any case) enables; any other value means false."""
    return value.lower() == "true"


def destination(name: str, value: str) -> str:
    """``destination``: ``nt8``. Tradovate is refused: ordergate routes to NT8 only."""
    if value.lower() == "tradovate":
        raise AlertError(
            name, "destination=tradovate is not supported: this server routes alerts to NT8 only"
        )
    if value.lower() != "nt8":
        raise AlertError(name, f"{name} must be nt8 (or left out), got {shown(value)}")
    return "nt8"


_ATM_ORDER = re.compile(r"(?:ENTRY|EXIT|STOP|SIMSTOP|TARGET)[0-9]+", re.IGNORECASE)


def is_atm_order_name(order_id: str) -> bool:
    """Whether ``order_id`` names an order of an ATM strategy (``TARGET1``, ``STOP2``...)."""
    return _ATM_ORDER.fullmatch(order_id) is not None


@dataclass(frozen=True, slots=True)
class Field(Generic[T_co]):
    """A field of the alert grammar: its lower-case name and the parser of its value."""

    name: str
    parse: Callable[[str, str], T_co]


class AlertFields:
    """Every field the alert grammar knows (spec §3), with the parser of its value."""

    KEY = Field("key", text(256))
    COMMAND = Field("command", choice(Command))
    ACCOUNT = Field("account", accounts)
    INSTRUMENT = Field("instrument", text(32))
    ACTION = Field("action", choice(Action))
    QTY = Field("qty", whole)
    ORDER_TYPE = Field("order_type", choice(OrderType))
    TIF = Field("tif", choice(TimeInForce))
    LIMIT_PRICE = Field("limit_price", price)
    STOP_PRICE = Field("stop_price", price)
    OCO_ID = Field("oco_id", text(64))
    ORDER_ID = Field("order_id", text(64))
    STRATEGY = Field("strategy", text(64))
    STRATEGY_ID = Field("strategy_id", text(64))
    APPEND_ATM = Field("append_atm", flag)
    QUANTITY = Field("quantity", positive)
    PERCENT = Field("percent", fraction)
    MARKET_POSITION = Field("market_position", choice(MarketPosition))
    TAKE_PROFIT = Field("take_profit", price)
    STOP_LOSS = Field("stop_loss", price)
    STOP_LOSS_LIMIT = Field("stop_loss_limit", price)
    STOP_LOSS_STOP = Field("stop_loss_stop", price)
    FLATTEN_FIRST = Field("flatten_first", flag)
    REQUIRE_MARKET_POSITION = Field("require_market_position", positions)
    MAX_POSITIONS = Field("max_positions", count(1))
    CANCEL_AFTER = Field("cancel_after", minutes_as_seconds)
    START_TIME = Field("start_time", clock_time)
    END_TIME = Field("end_time", clock_time)
    CLOSING_ONLY_AFTER = Field("closing_only_after", clock_time)
    BYPASS_TRADE_WINDOWS = Field("bypass_trade_windows", flag)
    DELAY = Field("delay", delay_seconds)
    RATE_LIMIT = Field("rate_limit", rate)
    ID = Field("id", text(64))
    KILL_SWITCH = Field("kill_switch", on_off)
    SYNC_STRATEGY = Field("sync_strategy", flag)
    PREV_MARKET_POSITION = Field("prev_market_position", choice(MarketPosition))
    TARGET_QUANTITY = Field("target_quantity", whole)
    DESTINATION = Field("destination", destination)
    COMMENT = Field("comment", text(500))


#: The fields by name.
FIELDS: dict[str, Field[object]] = {
    f.name: f for f in vars(AlertFields).values() if isinstance(f, Field)
}
