"""A CrossTrade webhook alert (a TradingView alert's message) parsed into a typed ``Alert``
(spec ``crosstrade-webhooks.md``). Pure: no clock, store or quote; accounts, instruments and
relative prices are resolved later, by the endpoint.

Checks run in this order, and the first failure is raised as ``AlertError``: the grammar
(``webhook_text``); each known field's value, in payload order; the key; the command (or a
bare kill switch); the command's required fields (§4); fields the command cannot honour
(refused if they guard, §5.3-5.7, else ignored with a warning); then rules across fields."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal
from types import MappingProxyType
from typing import TypeVar

from ordergate.api.crosstrade.webhook_fields import (
    FIELDS,
    AlertFields,
    Field,
    flag,
    is_atm_order_name,
    shown,
)
from ordergate.api.crosstrade.webhook_model import (
    Alert,
    AlertError,
    Bracket,
    Command,
    MarketPosition,
    OrderType,
    PriceSpec,
    RateLimit,
    TradingWindow,
)
from ordergate.api.crosstrade.webhook_text import read_pairs, redacted

__all__ = ["PLACE_FAMILY", "REQUIRED", "Alert", "AlertError", "parse_alert", "redacted"]

F = AlertFields
T = TypeVar("T")
_FORMAT = "Check message format"

#: The commands that place an order the way PLACE does, with all its options.
PLACE_FAMILY = frozenset(
    {Command.PLACE, Command.FLATPLACE, Command.REVERSEPOSITION, Command.CANCELREPLACE}
)
_ORDER = ("account", "instrument", "action", "qty", "order_type", "tif")
#: Each command's required fields (§4), in the order a missing one is reported.
REQUIRED: Mapping[Command, tuple[str, ...]] = {
    Command.PLACE: _ORDER,
    Command.FLATPLACE: _ORDER,
    Command.REVERSEPOSITION: _ORDER,
    Command.CANCELREPLACE: (*_ORDER, "order_id"),
    Command.CLOSEPOSITION: ("account", "instrument"),
    Command.REVERSE: ("account", "instrument"),
    Command.FLATTEN: (),
    Command.FLATTENEVERYTHING: (),
    Command.CANCEL: ("order_id",),
    Command.CANCELORDERS: ("account",),
    Command.CANCELALLORDERS: (),
    Command.CHANGE: ("order_id",),
    Command.CLOSESTRATEGY: ("strategy_id",),
    Command.CANCELANDBRACKET: ("account", "instrument", "action", "qty"),
}
_PRICES_FOR = {
    OrderType.LIMIT: ("limit_price",),
    OrderType.STOPMARKET: ("stop_price",),
    OrderType.STOPLIMIT: ("limit_price", "stop_price"),
}
_BRACKET = frozenset({"take_profit", "stop_loss", "stop_loss_limit", "stop_loss_stop"})
_PLACE_OPTIONS = _BRACKET | {
    "limit_price",
    "stop_price",
    "oco_id",
    "order_id",
    "strategy",
    "strategy_id",
    "append_atm",
    "flatten_first",
    "require_market_position",
    "max_positions",
    "cancel_after",
    "sync_strategy",
    "market_position",
    "prev_market_position",
    "target_quantity",
}
_OPTIONAL: Mapping[Command, frozenset[str]] = {
    **dict.fromkeys(PLACE_FAMILY, _PLACE_OPTIONS),
    Command.CLOSEPOSITION: frozenset({"quantity", "percent", "require_market_position"}),
    Command.REVERSE: frozenset(),
    Command.FLATTEN: frozenset(
        {"account", "instrument", "market_position", "require_market_position"}
    ),
    Command.FLATTENEVERYTHING: frozenset(),
    Command.CANCEL: frozenset({"account", "strategy_id"}),
    Command.CANCELORDERS: frozenset({"instrument", "require_market_position"}),
    Command.CANCELALLORDERS: frozenset(),
    Command.CHANGE: frozenset({"account", "qty", "limit_price", "stop_price", "strategy_id"}),
    Command.CLOSESTRATEGY: frozenset({"account"}),
    Command.CANCELANDBRACKET: _BRACKET,
}
_WINDOWS = frozenset({"start_time", "end_time", "closing_only_after", "bypass_trade_windows"})
_EVERY = _WINDOWS | {"key", "command", "destination", "delay", "rate_limit", "id", "comment"}
# Fields that protect or gate: sent where the command cannot honour them, the alert is
# refused, as dropping one would trade where the sender meant it not to.
_GUARDS = _BRACKET | {"require_market_position", "max_positions", "cancel_after"}
_KILL_SWITCH = frozenset({"key", "kill_switch", "comment"})
_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{\{")


def parse_alert(body: bytes, content_type: str | None) -> Alert:
    """The alert ``body`` (text or JSON) describes; AlertError names the first bad field."""
    pairs = read_pairs(body, content_type)
    given = _known_values(pairs)
    warnings = [f"unknown field {name} ignored" for name, _ in pairs if name not in FIELDS]
    fields = MappingProxyType({name: value for name, value in pairs if name != "key"})
    key = _get(given, F.KEY)
    if key is None:
        raise _missing("key")
    command, kill_switch = _get(given, F.COMMAND), _get(given, F.KILL_SWITCH)
    if command is None:
        if kill_switch is None:
            raise _missing("command")
        warnings += [
            f"{n} is ignored by a kill_switch message" for n in given if n not in _KILL_SWITCH
        ]
        comment = _get(given, F.COMMENT)
        return Alert(
            key=key,
            command=None,
            kill_switch=kill_switch,
            comment=comment,
            warnings=tuple(warnings),
            fields=fields,
        )
    if kill_switch is not None:
        raise AlertError("kill_switch", "kill_switch is a message of its own: send it alone")
    _require(command, given)
    used, ignored = _split_by_use(command, given)
    warnings += ignored + _flag_warnings(used) + _orphan_warnings(used)
    alert = _checked(_alert(key, command, used))
    alert, unused = _without_unused(alert)
    warnings += unused
    return replace(alert, warnings=tuple(warnings), fields=fields)


def _known_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The known fields with a value, in payload order, each value checked."""
    given = {}
    for name, value in pairs:
        known = FIELDS.get(name)
        if known is None or not value:
            continue  # an empty value is as good as absent
        try:
            if name != "key":
                _no_placeholder(name, value)
            known.parse(name, value)
        except AlertError as exc:
            if name == "key" or "=" not in value:
                raise
            raise AlertError(name, f"{exc.message} (is a ';' missing?)") from None
        given[name] = value
    return given


def _no_placeholder(name: str, value: str) -> None:
    found = _PLACEHOLDER.search(value)
    if found is not None:
        raise AlertError(
            name,
            f"{name} holds the TradingView placeholder {shown(found[0])}, which was not "
            "replaced (strategy.* placeholders work only in strategy alerts)",
        )


def _get(given: Mapping[str, str], field: Field[T]) -> T | None:
    value = given.get(field.name)
    return None if value is None else field.parse(field.name, value)


def _missing(name: str) -> AlertError:
    return AlertError(name, f"{_FORMAT}, missing required field: {name.upper()}")


def _require(command: Command, given: Mapping[str, str]) -> None:
    names = REQUIRED[command]
    order_type = _get(given, F.ORDER_TYPE)
    if command in PLACE_FAMILY and order_type is not None:
        names += _PRICES_FOR.get(order_type, ())
    for name in names:
        if name not in given:
            raise _missing(name)


def _split_by_use(command: Command, given: Mapping[str, str]) -> tuple[dict[str, str], list[str]]:
    """The fields ``command`` uses, and a warning for each other one; AlertError for a guard
    it cannot honour."""
    accepted = _EVERY | set(REQUIRED[command]) | _OPTIONAL[command]
    if command is Command.CANCELANDBRACKET:
        accepted -= _WINDOWS  # not an opening order: windows do not block it (§4)
    used, ignored = {}, []
    for name, value in given.items():
        if name in accepted:
            used[name] = value
        elif name in _GUARDS:
            raise AlertError(name, f"{name} does not apply to {command}: nothing would enforce it")
        else:
            ignored.append(f"{name} is ignored by {command}")
    return used, ignored


def _flag_warnings(used: Mapping[str, str]) -> list[str]:
    return [
        f"{name}={shown(value)} is not true: taken as false"
        for name, value in used.items()
        if FIELDS[name].parse is flag and value.lower() not in ("true", "false")
    ]


def _orphan_warnings(used: Mapping[str, str]) -> list[str]:
    """Fields that mean nothing without another one."""
    needs = {"stop_loss_stop": "stop_loss_limit", "id": "rate_limit"}
    return [
        f"{name} is ignored without {other}"
        for name, other in needs.items()
        if name in used and other not in used
    ]


def _alert(key: str, command: Command, used: Mapping[str, str]) -> Alert:
    change = command is Command.CHANGE
    return Alert(
        key=key,
        command=command,
        accounts=_get(used, F.ACCOUNT) or (),
        instrument=_get(used, F.INSTRUMENT),
        action=_get(used, F.ACTION),
        qty=_qty(used, zero_unchanged=change),
        order_type=_get(used, F.ORDER_TYPE),
        tif=_get(used, F.TIF),
        limit_price=_price(used, F.LIMIT_PRICE, zero_unchanged=change),
        stop_price=_price(used, F.STOP_PRICE, zero_unchanged=change),
        bracket=_bracket(used),
        oco_id=_get(used, F.OCO_ID),
        order_id=_get(used, F.ORDER_ID),
        strategy=_get(used, F.STRATEGY),
        strategy_id=_get(used, F.STRATEGY_ID),
        append_atm=bool(_get(used, F.APPEND_ATM)),
        flatten_first=bool(_get(used, F.FLATTEN_FIRST)),
        require_market_position=_get(used, F.REQUIRE_MARKET_POSITION),
        max_positions=_get(used, F.MAX_POSITIONS),
        cancel_after=_get(used, F.CANCEL_AFTER),
        quantity=_get(used, F.QUANTITY),
        percent=_get(used, F.PERCENT),
        market_position=_get(used, F.MARKET_POSITION),
        sync_strategy=bool(_get(used, F.SYNC_STRATEGY)),
        prev_market_position=_get(used, F.PREV_MARKET_POSITION),
        target_quantity=_get(used, F.TARGET_QUANTITY),
        window=_window(used),
        bypass_trade_windows=bool(_get(used, F.BYPASS_TRADE_WINDOWS)),
        delay=_get(used, F.DELAY),
        rate_limit=_rate_limit(used),
        comment=_get(used, F.COMMENT),
        destination=_get(used, F.DESTINATION) or "nt8",
    )


def _qty(used: Mapping[str, str], zero_unchanged: bool) -> Decimal | None:
    qty = _get(used, F.QTY)
    if qty is None or qty > 0:
        return qty
    if zero_unchanged:
        return None  # CHANGE: 0 leaves the quantity as it is
    raise AlertError("qty", "qty must be greater than 0")


def _price(
    used: Mapping[str, str], field: Field[PriceSpec], zero_unchanged: bool = False
) -> PriceSpec | None:
    spec = _get(used, field)
    if spec is None or not spec.is_absolute or spec.value > 0:
        return spec
    if zero_unchanged:
        return None  # CHANGE: 0 leaves the price as it is
    raise AlertError(field.name, f"{field.name} must be greater than 0")


def _bracket(used: Mapping[str, str]) -> Bracket | None:
    take_profit, stop_loss = _price(used, F.TAKE_PROFIT), _price(used, F.STOP_LOSS)
    stop_limit = _price(used, F.STOP_LOSS_LIMIT)
    if stop_loss is not None and stop_limit is not None:
        raise AlertError(
            "stop_loss_limit", "a bracket takes one stop leg: send stop_loss or stop_loss_limit"
        )
    if stop_limit is not None:
        # stop = limit unless stop_loss_stop sets the trigger (§5.5).
        stop_loss = _price(used, F.STOP_LOSS_STOP) or stop_limit
    if take_profit is None and stop_loss is None:
        return None
    return Bracket(take_profit, stop_loss, stop_limit)


def _window(used: Mapping[str, str]) -> TradingWindow | None:
    start, end = _get(used, F.START_TIME), _get(used, F.END_TIME)
    closing_only_after = _get(used, F.CLOSING_ONLY_AFTER)
    if start is None and end is None and closing_only_after is None:
        return None
    return TradingWindow(start, end, closing_only_after)


def _rate_limit(used: Mapping[str, str]) -> RateLimit | None:
    limit, tag = _get(used, F.RATE_LIMIT), _get(used, F.ID)
    if limit is None:
        return None
    if tag is None:
        raise AlertError("id", f"{_FORMAT}, missing required field: ID (rate_limit counts per id)")
    return RateLimit(limit[0], limit[1], tag)


def _checked(alert: Alert) -> Alert:
    """``alert`` if its fields agree with each other; AlertError for the first that does not."""
    command = alert.command
    if alert.cancel_after is not None and alert.order_type is not OrderType.LIMIT:
        raise AlertError("cancel_after", "cancel_after applies to LIMIT orders only")
    if alert.order_id and is_atm_order_name(alert.order_id) and alert.strategy_id is None:
        raise AlertError(
            "order_id", f"order_id {shown(alert.order_id)} names an ATM order: send strategy_id"
        )
    if command is Command.CHANGE and not (alert.qty or alert.limit_price or alert.stop_price):
        raise AlertError("qty", "CHANGE needs qty, limit_price or stop_price other than 0")
    if command is Command.CANCELANDBRACKET and alert.bracket is None:
        raise AlertError(
            "take_profit", f"{_FORMAT}, CANCELANDBRACKET needs take_profit or a stop loss"
        )
    if command is Command.FLATTEN and alert.market_position is MarketPosition.FLAT:
        raise AlertError("market_position", "FLATTEN filters on market_position long or short")
    if alert.sync_strategy and alert.market_position is None:
        raise _missing("market_position")
    return alert


def _without_unused(alert: Alert) -> tuple[Alert, list[str]]:
    """``alert`` less the fields its other fields leave without effect, with a warning each."""
    warnings = []
    kind = alert.order_type
    if alert.limit_price and kind in (OrderType.MARKET, OrderType.STOPMARKET):
        alert = replace(alert, limit_price=None)
        warnings.append(f"limit_price is ignored by a {kind} order")
    if alert.stop_price and kind in (OrderType.MARKET, OrderType.LIMIT):
        alert = replace(alert, stop_price=None)
        warnings.append(f"stop_price is ignored by a {kind} order")
    if alert.command in PLACE_FAMILY and not alert.sync_strategy:
        sync = {
            "market_position": alert.market_position,
            "prev_market_position": alert.prev_market_position,
            "target_quantity": alert.target_quantity,
        }
        warnings += [
            f"{n} is ignored without sync_strategy=true" for n, v in sync.items() if v is not None
        ]
        alert = replace(alert, market_position=None, prev_market_position=None)
        alert = replace(alert, target_quantity=None)
    if alert.quantity is not None and alert.percent is not None:
        alert = replace(alert, percent=None)
        warnings.append("percent is ignored when quantity is given")
    if alert.append_atm and alert.strategy is None:
        alert = replace(alert, append_atm=False)
        warnings.append("append_atm is ignored without strategy")
    return alert, warnings
