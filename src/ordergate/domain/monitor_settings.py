"""The settings of an account's risk monitor (CrossTrade's Account Manager), in their wire form.

``MonitorSettings.from_wire`` reads the camelCase JSON that CrossTrade writes; every refusal
is an ``InvalidInput`` whose message names the field as the wire spells it
(``trailingDrawdown.trail``, ``tradingWindows[2].end``). Amounts are ``Decimal``: the edge
parses JSON numbers as ``Decimal``, so a ``float`` here is refused as a bug, not rounded.
Trading windows only restrict anything once at least one of them is enabled.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ordergate.domain.errors import InvalidInput

__all__ = [
    "MAX_TRADING_WINDOWS",
    "Action",
    "MinProfitDrawdown",
    "MonitorSettings",
    "TradingWindow",
    "TrailMetric",
    "TrailUnit",
    "TrailingDrawdown",
]

MAX_TRADING_WINDOWS = 5
_HH_MM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)


class Action(enum.StrEnum):
    """What a rule does when it fires, besides stopping the monitor."""

    FLATTEN = "flatten"
    NONE = "none"


class TrailMetric(enum.StrEnum):
    SESSION_PNL = "sessionPnl"
    NET_LIQUIDATION = "netLiquidation"


class TrailUnit(enum.StrEnum):
    DOLLARS = "$"
    PERCENT = "%"


def _zone(key: str, name: str = "timeZone") -> ZoneInfo:
    """The IANA zone ``key``; an unknown or malformed key is ``InvalidInput`` naming ``name``."""
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"{name} {key!r} is not a known time zone") from None


def _finite(value: Decimal, name: str) -> Decimal:
    if not value.is_finite():
        raise InvalidInput(f"{name} must be a finite number")
    return value


def _not_negative(value: Decimal, name: str) -> None:
    if _finite(value, name) < 0:
        raise InvalidInput(f"{name} must not be negative")


def _whole_minute(value: time, name: str) -> None:
    if value.second or value.microsecond or value.tzinfo is not None:
        raise InvalidInput(f"{name} must be a local HH:MM time")


@dataclass(frozen=True, slots=True)
class MinProfitDrawdown:
    """Once session P/L reaches ``trigger``, act if it falls back below ``floor``."""

    trigger: Decimal
    floor: Decimal
    action: Action = Action.FLATTEN

    def __post_init__(self) -> None:
        if _finite(self.trigger, "minProfitDrawdown.trigger") <= 0:
            raise InvalidInput("minProfitDrawdown.trigger must be positive")
        _not_negative(self.floor, "minProfitDrawdown.floor")
        if self.floor >= self.trigger:
            raise InvalidInput("minProfitDrawdown.floor must be below minProfitDrawdown.trigger")

    def to_wire(self) -> dict[str, object]:
        return {"trigger": self.trigger, "floor": self.floor, "action": self.action.value}


@dataclass(frozen=True, slots=True)
class TrailingDrawdown:
    """Once ``metric`` reaches ``trigger``, act if it falls ``trail`` ($ or % of the high)
    below its high-water mark."""

    metric: TrailMetric
    trigger: Decimal
    trail: Decimal
    unit: TrailUnit = TrailUnit.DOLLARS
    action: Action = Action.FLATTEN

    def __post_init__(self) -> None:
        _not_negative(self.trigger, "trailingDrawdown.trigger")
        if _finite(self.trail, "trailingDrawdown.trail") <= 0:
            raise InvalidInput("trailingDrawdown.trail must be positive")
        if self.unit is TrailUnit.PERCENT and self.trail > _HUNDRED:
            raise InvalidInput("trailingDrawdown.trail must be at most 100 (%)")

    def stop(self, high: Decimal) -> Decimal:
        """The level below which the rule fires, for a high-water mark of ``high``."""
        if self.unit is TrailUnit.PERCENT:
            # The spec's FAQ arithmetic: HWM - trail% x HWM (95 % of 125 -> 6.25).
            return high - high * self.trail / _HUNDRED
        return high - self.trail

    def to_wire(self) -> dict[str, object]:
        return {
            "metric": self.metric.value,
            "trigger": self.trigger,
            "trail": self.trail,
            "unit": self.unit.value,
            "action": self.action.value,
        }


@dataclass(frozen=True, slots=True)
class TradingWindow:
    """Local wall-clock hours in which opening orders are allowed; ``start > end`` wraps past
    midnight (22:00-02:00)."""

    start: time
    end: time
    enabled: bool = True
    flatten_after: bool = False

    def contains(self, local: time) -> bool:
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def to_wire(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "start": _hh_mm(self.start),
            "end": _hh_mm(self.end),
            "flattenAfter": self.flatten_after,
        }


@dataclass(frozen=True, slots=True)
class MonitorSettings:
    """One account's monitor settings; invalid combinations raise ``InvalidInput``."""

    enabled: bool = False
    loss_threshold: Decimal = _ZERO
    profit_threshold: Decimal = _ZERO
    action: Action = Action.FLATTEN
    include_unrealized: bool = False
    include_commission: bool = False
    min_profit_drawdown: MinProfitDrawdown | None = None
    trailing_drawdown: TrailingDrawdown | None = None
    auto_flatten: time | None = None
    trading_windows: tuple[TradingWindow, ...] = field(default=())
    time_zone: str = "US/Eastern"
    session_reset: time = time(18)

    def __post_init__(self) -> None:
        _not_negative(self.loss_threshold, "lossThreshold")
        _not_negative(self.profit_threshold, "profitThreshold")
        if self.auto_flatten is not None:
            _whole_minute(self.auto_flatten, "autoFlatten")
        _whole_minute(self.session_reset, "sessionReset")
        if len(self.trading_windows) > MAX_TRADING_WINDOWS:
            raise InvalidInput(f"tradingWindows holds at most {MAX_TRADING_WINDOWS} windows")
        for index, window in enumerate(self.trading_windows):
            _whole_minute(window.start, f"tradingWindows[{index}].start")
            _whole_minute(window.end, f"tradingWindows[{index}].end")
            if window.start == window.end:
                raise InvalidInput(f"tradingWindows[{index}].end must differ from its start")
        _zone(self.time_zone)

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.time_zone)

    @property
    def windows_apply(self) -> bool:
        """Whether the trading windows restrict anything (at least one is enabled)."""
        return any(window.enabled for window in self.trading_windows)

    @classmethod
    def from_wire(cls, data: Mapping[str, object]) -> MonitorSettings:
        """Settings from their camelCase JSON form; missing keys take the defaults."""
        return cls().merged(data)

    def merged(self, data: Mapping[str, object]) -> MonitorSettings:
        """These settings with the keys present in ``data`` (camelCase) applied over them."""
        changes: dict[str, object] = {}
        for key, value in _object(data, "settings").items():
            name, parse = _field(_SETTINGS, key, "")
            changes[name] = parse(value, getattr(self, name))
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def to_wire(self) -> dict[str, object]:
        """The camelCase JSON form: Decimals stay Decimal, times are ``HH:MM``."""
        return {
            "enabled": self.enabled,
            "lossThreshold": self.loss_threshold,
            "profitThreshold": self.profit_threshold,
            "action": self.action.value,
            "includeUnrealized": self.include_unrealized,
            "includeCommission": self.include_commission,
            "minProfitDrawdown": _wire_or_none(self.min_profit_drawdown),
            "trailingDrawdown": _wire_or_none(self.trailing_drawdown),
            "autoFlatten": None if self.auto_flatten is None else _hh_mm(self.auto_flatten),
            "tradingWindows": [window.to_wire() for window in self.trading_windows],
            "timeZone": self.time_zone,
            "sessionReset": _hh_mm(self.session_reset),
        }


def _wire_or_none(rule: MinProfitDrawdown | TrailingDrawdown | None) -> dict[str, object] | None:
    return None if rule is None else rule.to_wire()


def _hh_mm(value: time) -> str:
    return value.strftime("%H:%M")


# Parsers take the wire value and the current value of the field (for partial updates).
_Parse = Callable[[object, object], object]


def _field(table: Mapping[str, tuple[str, _Parse]], key: str, prefix: str) -> tuple[str, _Parse]:
    if key not in table:
        raise InvalidInput(f"unknown key {prefix}{key}")
    return table[key]


def _object(value: object, name: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping) or not all(isinstance(key, str) for key in value):
        raise InvalidInput(f"{name} must be an object")
    return value


def _bool(name: str) -> _Parse:
    def parse(value: object, _current: object) -> bool:
        if not isinstance(value, bool):
            raise InvalidInput(f"{name} must be true or false")
        return value

    return parse


def _decimal_value(value: object, name: str) -> Decimal:
    # bool is an int: "lossThreshold": true is a mistake, not 1.
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise InvalidInput(f"{name} must be a number")
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise InvalidInput(f"{name} must be a number, not {value!r}") from None
    if not number.is_finite():
        raise InvalidInput(f"{name} must be a finite number")
    if number < 0:
        raise InvalidInput(f"{name} must not be negative")
    return number


def _decimal(name: str) -> _Parse:
    return lambda value, _current: _decimal_value(value, name)


def _choice(name: str, kind: type[enum.StrEnum]) -> _Parse:
    def parse(value: object, _current: object) -> enum.StrEnum:
        if isinstance(value, str):
            for member in kind:
                if member.value == value:
                    return member
        choices = " or ".join(repr(member.value) for member in kind)
        raise InvalidInput(f"{name} must be {choices}")

    return parse


def _time_value(value: object, name: str) -> time:
    if isinstance(value, time):
        _whole_minute(value, name)
        return value
    match = _HH_MM.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(f"{name} must be a 24-hour HH:MM time")
    return time(int(match[1]), int(match[2]))


def _time(name: str) -> _Parse:
    return lambda value, _current: _time_value(value, name)


def _optional_time(name: str) -> _Parse:
    return lambda value, _current: None if value is None else _time_value(value, name)


def _time_zone(value: object, _current: object) -> str:
    if not isinstance(value, str):
        raise InvalidInput("timeZone must be a time zone name such as 'US/Eastern'")
    _zone(value)
    return value


def _rule(name: str, table: Mapping[str, tuple[str, _Parse]], kind: type[object]) -> _Parse:
    """A nested rule object (or null); keys present are applied over the current rule."""

    def parse(value: object, current: object) -> object:
        if value is None:
            return None
        given = _object(value, name)
        base = {} if current is None else {f.name: getattr(current, f.name) for f in _fields(kind)}
        for key, item in given.items():
            attr, parse_item = _field(table, key, f"{name}.")
            base[attr] = parse_item(item, base.get(attr))
        for f in _fields(kind):
            if f.name not in base and f.default is dataclasses.MISSING:
                raise InvalidInput(f"{name}.{_wire_name(table, f.name)} is required")
        return kind(**base)

    return parse


def _fields(kind: type[object]) -> tuple[dataclasses.Field[object], ...]:
    return dataclasses.fields(kind)  # type: ignore[arg-type]


def _wire_name(table: Mapping[str, tuple[str, _Parse]], attr: str) -> str:
    return next(key for key, (name, _parse) in table.items() if name == attr)


def _window(index: int) -> Callable[[object], TradingWindow]:
    name = f"tradingWindows[{index}]"
    table: dict[str, tuple[str, _Parse]] = {
        "enabled": ("enabled", _bool(f"{name}.enabled")),
        "start": ("start", _time(f"{name}.start")),
        "end": ("end", _time(f"{name}.end")),
        "flattenAfter": ("flatten_after", _bool(f"{name}.flattenAfter")),
    }
    parse = _rule(name, table, TradingWindow)
    return lambda value: parse(value, None)  # type: ignore[return-value]


def _windows(value: object, _current: object) -> tuple[TradingWindow, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidInput("tradingWindows must be a list")
    if len(value) > MAX_TRADING_WINDOWS:
        raise InvalidInput(f"tradingWindows holds at most {MAX_TRADING_WINDOWS} windows")
    windows = []
    for index, item in enumerate(value):
        if item is None:
            raise InvalidInput(f"tradingWindows[{index}] must be an object")
        windows.append(_window(index)(item))
    return tuple(windows)


_MPD: dict[str, tuple[str, _Parse]] = {
    "trigger": ("trigger", _decimal("minProfitDrawdown.trigger")),
    "floor": ("floor", _decimal("minProfitDrawdown.floor")),
    "action": ("action", _choice("minProfitDrawdown.action", Action)),
}
_TD: dict[str, tuple[str, _Parse]] = {
    "metric": ("metric", _choice("trailingDrawdown.metric", TrailMetric)),
    "trigger": ("trigger", _decimal("trailingDrawdown.trigger")),
    "trail": ("trail", _decimal("trailingDrawdown.trail")),
    "unit": ("unit", _choice("trailingDrawdown.unit", TrailUnit)),
    "action": ("action", _choice("trailingDrawdown.action", Action)),
}
_SETTINGS: dict[str, tuple[str, _Parse]] = {
    "enabled": ("enabled", _bool("enabled")),
    "lossThreshold": ("loss_threshold", _decimal("lossThreshold")),
    "profitThreshold": ("profit_threshold", _decimal("profitThreshold")),
    "action": ("action", _choice("action", Action)),
    "includeUnrealized": ("include_unrealized", _bool("includeUnrealized")),
    "includeCommission": ("include_commission", _bool("includeCommission")),
    "minProfitDrawdown": (
        "min_profit_drawdown",
        _rule("minProfitDrawdown", _MPD, MinProfitDrawdown),
    ),
    "trailingDrawdown": ("trailing_drawdown", _rule("trailingDrawdown", _TD, TrailingDrawdown)),
    "autoFlatten": ("auto_flatten", _optional_time("autoFlatten")),
    "tradingWindows": ("trading_windows", _windows),
    "timeZone": ("time_zone", _time_zone),
    "sessionReset": ("session_reset", _time("sessionReset")),
}
