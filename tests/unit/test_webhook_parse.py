"""The CrossTrade webhook payload parser (spec ``crosstrade-webhooks.md``): the alert text or
JSON a TradingView alert sends becomes a typed Alert, or one AlertError naming the first bad
field; the key never shows in the Alert, its errors, or the redacted body."""

from __future__ import annotations

import contextlib
import json
from datetime import time
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.api.crosstrade.webhook_fields import FIELDS
from ordergate.api.crosstrade.webhook_model import (
    Action,
    Bracket,
    Command,
    MarketPosition,
    OrderType,
    PriceSpec,
    PriceUnit,
    RateLimit,
    TimeInForce,
    TradingWindow,
)
from ordergate.api.crosstrade.webhook_parse import (
    REQUIRED,
    Alert,
    AlertError,
    parse_alert,
    redacted,
)
from ordergate.domain.errors import InvalidInput

KEY = "MY-SECRET-7f3a9c"
PLACE = {
    "key": KEY,
    "command": "PLACE",
    "account": "Sim101",
    "instrument": "ES 12-26",
    "action": "BUY",
    "qty": "1",
    "order_type": "MARKET",
    "tif": "DAY",
}
#: A minimal valid payload of each command.
MINIMAL = {
    Command.PLACE: PLACE,
    Command.FLATPLACE: {**PLACE, "command": "FLATPLACE"},
    Command.REVERSEPOSITION: {**PLACE, "command": "REVERSEPOSITION"},
    Command.CANCELREPLACE: {**PLACE, "command": "CANCELREPLACE", "order_id": "e1"},
    Command.CLOSEPOSITION: {"command": "CLOSEPOSITION", "account": "Sim101", "instrument": "ES"},
    Command.REVERSE: {"command": "REVERSE", "account": "Sim101", "instrument": "ES"},
    Command.FLATTEN: {"command": "FLATTEN"},
    Command.FLATTENEVERYTHING: {"command": "FLATTENEVERYTHING"},
    Command.CANCEL: {"command": "CANCEL", "order_id": "e1"},
    Command.CANCELORDERS: {"command": "CANCELORDERS", "account": "Sim101"},
    Command.CANCELALLORDERS: {"command": "CANCELALLORDERS"},
    Command.CHANGE: {"command": "CHANGE", "order_id": "e1", "qty": "3"},
    Command.CLOSESTRATEGY: {"command": "CLOSESTRATEGY", "strategy_id": "s1"},
    Command.CANCELANDBRACKET: {
        "command": "CANCELANDBRACKET",
        "account": "Sim101",
        "instrument": "MNQ1!",
        "action": "BUY",
        "qty": "2",
        "take_profit": "21620",
    },
}


def payload(fields: dict[str, str], sep: str = "; ", end: str = ";") -> bytes:
    """The text form of ``fields``, the key first unless given."""
    fields = {"key": KEY, **fields}
    return (sep.join(f"{name}={value}" for name, value in fields.items()) + end).encode()


def parse(fields: dict[str, str]) -> Alert:
    return parse_alert(payload(fields), "text/plain")


def place(**extra: str) -> Alert:
    return parse({**PLACE, **extra})


def refusal(body: bytes | dict[str, str], content_type: str | None = "text/plain") -> AlertError:
    raw = payload(body) if isinstance(body, dict) else body
    with pytest.raises(AlertError) as caught:
        parse_alert(raw, content_type)
    return caught.value


def without(fields: dict[str, str], *names: str) -> dict[str, str]:
    return {name: value for name, value in fields.items() if name not in names}


# The spec's examples and the grammar.


def test_the_spec_place_example_over_three_lines_parses_into_a_typed_order() -> None:
    body = b"""key=MY-SECRET; command=place; account=Sim202; instrument=MNQ 03-27; action=sell;
qty=2; order_type=stoplimit; stop_price=-8 ticks; limit_price=-10 ticks; tif=gtc;
oco_id=swing-7; order_id=swing-7-entry;
"""
    alert = parse_alert(body, "text/plain")
    assert alert.key == "MY-SECRET"
    assert alert.command is Command.PLACE
    assert alert.accounts == ("Sim202",)
    assert alert.instrument == "MNQ 03-27"
    assert alert.action is Action.SELL
    assert alert.qty == Decimal(2)
    assert alert.order_type is OrderType.STOPLIMIT
    assert alert.tif is TimeInForce.GTC
    assert alert.stop_price == PriceSpec(Decimal(-8), PriceUnit.TICKS)
    assert alert.limit_price == PriceSpec(Decimal(-10), PriceUnit.TICKS)
    assert (alert.oco_id, alert.order_id) == ("swing-7", "swing-7-entry")
    assert alert.warnings == ()
    assert alert.destination == "nt8"


def test_the_spec_closeposition_example_closes_a_fraction() -> None:
    body = (
        b"key=MY-SECRET; command=CLOSEPOSITION; account=Sim202; instrument=MNQ 03-27; percent=0.34;"
    )
    alert = parse_alert(body, None)
    assert alert.command is Command.CLOSEPOSITION
    assert alert.percent == Decimal("0.34")
    assert alert.quantity is None


def test_the_spec_change_example_needs_no_account_or_instrument() -> None:
    alert = parse_alert(
        b"key=MY-SECRET; command=CHANGE; order_id=swing-7-entry; stop_price=21480.25;", None
    )
    assert alert.command is Command.CHANGE
    assert alert.stop_price == PriceSpec(Decimal("21480.25"), PriceUnit.PRICE)
    assert alert.accounts == ()
    assert alert.instrument is None


def test_the_spec_flatten_example_filters_on_short_positions() -> None:
    alert = parse_alert(b"key=MY-SECRET; command=flatten; market_position=short;", None)
    assert alert.command is Command.FLATTEN
    assert alert.market_position is MarketPosition.SHORT


def test_the_spec_cancelandbracket_example_carries_its_two_legs() -> None:
    body = (
        b"key=MY-SECRET; command=CANCELANDBRACKET; account=Sim202; instrument=MNQ1!; action=BUY;\n"
        b"qty=2; take_profit=21620; stop_loss=21455.5;"
    )
    alert = parse_alert(body, None)
    assert alert.bracket == Bracket(
        take_profit=PriceSpec(Decimal(21620), PriceUnit.PRICE),
        stop_loss=PriceSpec(Decimal("21455.5"), PriceUnit.PRICE),
    )


def test_one_field_per_line_and_all_on_one_line_read_the_same() -> None:
    one_line = parse_alert(payload(PLACE), None)
    many_lines = parse_alert(payload(PLACE, sep=";\n"), None)
    crlf = parse_alert(payload(PLACE, sep=";\r\n  "), None)
    assert one_line == many_lines == crlf


def test_the_final_semicolon_may_be_left_out() -> None:
    assert parse_alert(payload(PLACE, end=""), None) == parse_alert(payload(PLACE), None)


def test_names_and_enum_values_are_case_insensitive() -> None:
    body = (
        b"KEY=k; Command=Place; ACCOUNT=Sim101; Instrument=ES; Action=Buy; QTY=1;"
        b" Order_Type=Market; TIF=day"
    )
    alert = parse_alert(body, None)
    assert (alert.command, alert.action, alert.order_type) == (
        Command.PLACE,
        Action.BUY,
        OrderType.MARKET,
    )
    assert alert.fields["order_type"] == "Market"


def test_values_are_trimmed_and_keep_their_inner_spaces() -> None:
    alert = parse_alert(
        b"key = k ;command =  place;account=  Sim101\t;instrument=  ES  12-26 ;"
        b"action=buy;qty=1;order_type=market;tif=day",
        None,
    )
    assert alert.instrument == "ES  12-26"
    assert alert.key == "k"


def test_a_value_is_split_from_its_name_on_the_first_equals_sign() -> None:
    assert parse({**MINIMAL[Command.CANCEL], "order_id": "a=b"}).order_id == "a=b"


def test_empty_parts_between_semicolons_are_skipped() -> None:
    assert parse_alert(payload(PLACE, sep=";; ;"), None).command is Command.PLACE


def test_whole_lines_starting_with_hash_or_slashes_are_comments() -> None:
    body = (
        b"# entry on the breakout\nkey=k;\n  // long only\ncommand=flatten;\n#market_position=long;"
    )
    alert = parse_alert(body, None)
    assert alert.market_position is None
    assert dict(alert.fields) == {"command": "flatten"}


def test_a_json_object_carries_the_same_fields_with_numbers_as_exact_decimals() -> None:
    body = json.dumps({**PLACE, "qty": 2, "order_type": "limit", "limit_price": 5000.1}).encode()
    alert = parse_alert(body, "application/json")
    assert alert.qty == Decimal(2)
    assert alert.limit_price == PriceSpec(Decimal("5000.1"), PriceUnit.PRICE)
    assert alert.fields["limit_price"] == "5000.1"


def test_a_json_body_is_recognised_whatever_its_content_type_says() -> None:
    body = b'  {"key": "k", "command": "flatten", "flatten_first": true}'
    assert parse_alert(body, "text/plain").command is Command.FLATTEN
    assert parse_alert(body, None).fields["flatten_first"] == "true"


def test_a_utf8_byte_order_mark_is_ignored() -> None:
    assert parse_alert(b"\xef\xbb\xbf" + payload(PLACE), None).command is Command.PLACE


@pytest.mark.parametrize(
    ("body", "content_type", "field", "text"),
    [
        (b"", None, None, "the message is empty"),
        (b" \n\t ", None, None, "the message is empty"),
        (b"\xff\xfe key=k;", None, None, "not UTF-8"),
        (b"key=k; command place;", None, None, "line 1 has text that is not name=value"),
        (b"key=k;\n\nhello;", None, None, "line 3 has text"),
        (b"key=k; order-type=market;", None, None, "'order-type' on line 1 is not a field name"),
        (b"key=k; key=other;", None, "key", "duplicate field key"),
        (b"key=k; QTY=1; qty=2;", None, "qty", "duplicate field qty"),
        (b"key=k;\ncommand=flatten\naccount=Sim101;", None, "command", "is a ';' missing?"),
        (b"key=k; comment=a\x00b;", None, "comment", "control character"),
        (b"[1, 2]", "application/json", None, "must be an object"),
        (b'{"key": ', None, None, "not valid JSON"),
        (b"key=k; command=flatten;", "application/json", None, "not valid JSON"),
        (b'{"key": "k", "qty": [1]}', None, "qty", "must be a string, a number or true/false"),
        (b'{"key": "k", "qty": null}', None, "qty", "must be a string, a number or true/false"),
        (b'{"key": "k", "qty": 1, "qty": 2}', None, "qty", "duplicate field qty"),
        (b'{"key": "k", "Qty": 1, "qty": 2}', None, "qty", "duplicate field qty"),
        (b'{"key": "k", "order type": 1}', None, None, "a field name holds a space"),
        (b'{"key": "\\ud800"}', None, None, "surrogate"),
        (b'{"key": "k", "qty": NaN}', None, None, "NaN is not a number"),
    ],
)
def test_a_body_that_breaks_the_grammar_is_refused_with_the_reason(
    body: bytes, content_type: str | None, field: str | None, text: str
) -> None:
    error = refusal(body, content_type)
    assert error.field == field
    assert text in error.message
    assert error.message.startswith("Check message format")


def test_the_error_is_the_invalid_input_the_dialects_answer_with_400() -> None:
    error = refusal(b"")
    assert isinstance(error, InvalidInput)
    assert error.code == "INVALID_ALERT"


def test_unknown_fields_are_kept_as_sent_and_ignored_with_a_warning() -> None:
    alert = place(foo="bar", Sync_Mode="x")
    assert alert.warnings == ("unknown field foo ignored", "unknown field sync_mode ignored")
    assert alert.fields["foo"] == "bar"


def test_fields_hold_every_field_as_sent_except_the_key() -> None:
    alert = place(comment="  breakout  ", oco_id="")
    assert "key" not in alert.fields
    assert dict(alert.fields) == {
        **without(PLACE, "key"),
        "comment": "breakout",
        "oco_id": "",
    }


def test_an_empty_value_counts_as_absent() -> None:
    assert place(oco_id="", limit_price="").oco_id is None
    assert refusal(without(PLACE, "qty") | {"qty": " "}).field == "qty"


# Commands and their required fields.


@pytest.mark.parametrize("command", list(Command))
def test_every_command_parses_with_only_its_required_fields(command: Command) -> None:
    alert = parse(MINIMAL[command])
    assert alert.command is command
    assert alert.warnings == ()


@pytest.mark.parametrize(
    ("command", "name"),
    [(command, name) for command in Command for name in REQUIRED[command]],
)
def test_a_missing_required_field_is_refused_in_upstreams_words(
    command: Command, name: str
) -> None:
    error = refusal(without(MINIMAL[command], name))
    assert error.field == name
    assert error.message == f"Check message format, missing required field: {name.upper()}"


def test_a_place_without_qty_gets_nt8s_own_text() -> None:
    assert (
        str(refusal(without(PLACE, "qty"))) == "Check message format, missing required field: QTY"
    )


def test_the_first_missing_required_field_is_the_one_named() -> None:
    assert refusal(without(PLACE, "tif", "qty", "instrument")).field == "instrument"


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"key": "k"}, "command"),
        ({"command": "place"}, "key"),
        ({"key": "", "command": "flatten"}, "key"),
    ],
)
def test_key_and_command_are_required(fields: dict[str, str], missing: str) -> None:
    body = "; ".join(f"{n}={v}" for n, v in fields.items()).encode()
    assert refusal(body).field == missing


@pytest.mark.parametrize(
    ("order_type", "needs"),
    [
        ("LIMIT", ["limit_price"]),
        ("STOPMARKET", ["stop_price"]),
        ("STOPLIMIT", ["limit_price", "stop_price"]),
    ],
)
def test_priced_order_types_require_their_prices(order_type: str, needs: list[str]) -> None:
    prices = dict.fromkeys(needs, "5000")
    assert place(order_type=order_type, **prices).order_type == OrderType(order_type)
    for name in needs:
        assert refusal({**PLACE, "order_type": order_type, **without(prices, name)}).field == name


def test_an_unknown_command_is_refused_with_the_choices() -> None:
    error = refusal({**PLACE, "command": "BUYNOW"})
    assert error.field == "command"
    assert "PLACE, FLATPLACE" in error.message
    assert "'BUYNOW'" in error.message


def test_value_errors_are_reported_in_payload_order() -> None:
    body = payload({**PLACE, "tif": "week", "action": "hold"})
    assert refusal(body).field == "action"
    reordered = payload({"tif": "week", **without(PLACE, "tif"), "action": "hold"})
    assert refusal(reordered).field == "tif"


def test_a_bad_value_comes_before_a_missing_field() -> None:
    assert refusal(without({**PLACE, "qty": "two"}, "account")).field == "qty"


def test_a_bad_value_with_an_equals_sign_hints_at_a_missing_semicolon() -> None:
    error = refusal(b"key=k; command=place; qty=2 order_type=market;")
    assert error.field == "qty"
    assert "is a ';' missing?" in error.message


def test_fields_a_command_does_not_use_are_ignored_with_a_warning() -> None:
    alert = parse({**MINIMAL[Command.CLOSEPOSITION], "qty": "2", "tif": "GTC"})
    assert alert.qty is None
    assert alert.tif is None
    assert alert.warnings == ("qty is ignored by CLOSEPOSITION", "tif is ignored by CLOSEPOSITION")


@pytest.mark.parametrize(
    ("command", "name", "value"),
    [
        (Command.CLOSEPOSITION, "take_profit", "10 ticks"),
        (Command.REVERSE, "require_market_position", "long"),
        (Command.FLATTEN, "max_positions", "2"),
        (Command.CHANGE, "stop_loss", "5000"),
        (Command.CANCELANDBRACKET, "cancel_after", "5"),
    ],
)
def test_a_guard_the_command_cannot_honour_is_refused_not_ignored(
    command: Command, name: str, value: str
) -> None:
    error = refusal({**MINIMAL[command], name: value})
    assert error.field == name
    assert f"does not apply to {command}" in error.message


def test_cancelandbracket_is_not_held_by_trade_windows() -> None:
    alert = parse({**MINIMAL[Command.CANCELANDBRACKET], "start_time": "9:30"})
    assert alert.window is None
    assert alert.warnings == ("start_time is ignored by CANCELANDBRACKET",)


def test_cancelandbracket_needs_a_take_profit_or_a_stop_loss() -> None:
    fields = without(MINIMAL[Command.CANCELANDBRACKET], "take_profit")
    error = refusal(fields)
    assert error.field == "take_profit"
    assert parse({**fields, "stop_loss_limit": "-4 ticks"}).bracket is not None


def test_change_needs_something_to_change_and_zero_leaves_a_value_as_it_is() -> None:
    change = without(MINIMAL[Command.CHANGE], "qty")
    assert refusal(change).field == "qty"
    assert refusal({**change, "qty": "0", "limit_price": "0"}).field == "qty"
    alert = parse({**change, "qty": "0", "stop_price": "21480.25", "limit_price": "0"})
    assert (alert.qty, alert.limit_price) == (None, None)
    assert alert.stop_price == PriceSpec(Decimal("21480.25"), PriceUnit.PRICE)


def test_an_atm_order_name_needs_its_strategy_id() -> None:
    cancel = {"command": "CANCEL", "order_id": "Target1"}
    error = refusal(cancel)
    assert error.field == "order_id"
    assert "strategy_id" in error.message
    assert parse({**cancel, "strategy_id": "atm-1"}).order_id == "Target1"
    assert parse({"command": "CANCEL", "order_id": "Target"}).order_id == "Target"


def test_cancel_and_change_accept_an_account_to_search_in() -> None:
    assert parse({**MINIMAL[Command.CANCEL], "account": "Sim101"}).accounts == ("Sim101",)
    assert parse({**MINIMAL[Command.CHANGE], "account": "Sim101"}).accounts == ("Sim101",)


# Field values.


def test_accounts_are_a_comma_list_trimmed_and_without_repeats() -> None:
    alert = place(account=" Sim202 , Sim303,sim202, Apex-12 ")
    assert alert.accounts == ("Sim202", "Sim303", "Apex-12")


@pytest.mark.parametrize("value", ["Sim202,", "Sim202,,Sim303", "A" * 65])
def test_an_account_list_with_an_empty_or_overlong_name_is_refused(value: str) -> None:
    assert refusal({**PLACE, "account": value}).field == "account"


@pytest.mark.parametrize(
    "raw",
    [
        "ES 12-26",
        "es 12-26",
        "CL 4-26",
        "ES SEP25",
        "ESU5",
        "ESZ26",
        "ESZ2026",
        "ES",
        "ES1!",
        "ES2!",
        "MBT1!",
        "AAPL",
    ],
)
def test_every_instrument_form_is_passed_through_unresolved(raw: str) -> None:
    assert place(instrument=raw).instrument == raw


def test_an_instrument_longer_than_any_name_is_refused() -> None:
    assert refusal({**PLACE, "instrument": "E" * 33}).field == "instrument"


@pytest.mark.parametrize(("value", "qty"), [("2", 2), ("2.0", 2), ("+3", 3), ("007", 7)])
def test_qty_is_a_whole_number(value: str, qty: int) -> None:
    alert = place(qty=value)
    assert alert.qty == Decimal(qty)
    assert str(alert.qty) == str(qty)


@pytest.mark.parametrize("value", ["0", "1.5", "-1", "-0", "two", "1e2", "1,5", "\u0661"])
def test_qty_that_is_not_a_whole_number_above_zero_is_refused(value: str) -> None:
    error = refusal({**PLACE, "qty": value})
    assert error.field == "qty"


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("21480.25", PriceSpec(Decimal("21480.25"), PriceUnit.PRICE)),
        ("+21480", PriceSpec(Decimal(21480), PriceUnit.PRICE)),
        (".5", PriceSpec(Decimal("0.5"), PriceUnit.PRICE)),
        ("25 ticks", PriceSpec(Decimal(25), PriceUnit.TICKS)),
        ("1tick", PriceSpec(Decimal(1), PriceUnit.TICKS)),
        ("-7.5 Ticks", PriceSpec(Decimal("-7.5"), PriceUnit.TICKS)),
        ("1.5%", PriceSpec(Decimal("1.5"), PriceUnit.PERCENT)),
        ("-2.25 %", PriceSpec(Decimal("-2.25"), PriceUnit.PERCENT)),
        ("+3%", PriceSpec(Decimal(3), PriceUnit.PERCENT)),
        ("15 points", PriceSpec(Decimal(15), PriceUnit.POINTS)),
        ("-1 point", PriceSpec(Decimal(-1), PriceUnit.POINTS)),
        ("250 dollars", PriceSpec(Decimal(250), PriceUnit.DOLLARS)),
        ("-$250", PriceSpec(Decimal(-250), PriceUnit.DOLLARS)),
        ("$100.5", PriceSpec(Decimal("100.5"), PriceUnit.DOLLARS)),
        ("75$", PriceSpec(Decimal(75), PriceUnit.DOLLARS)),
    ],
)
def test_a_price_is_absolute_or_an_offset_with_its_unit(value: str, spec: PriceSpec) -> None:
    alert = place(order_type="LIMIT", limit_price=value, take_profit=value)
    assert alert.limit_price == spec
    assert alert.bracket == Bracket(take_profit=spec)
    assert spec.is_absolute is (spec.unit is PriceUnit.PRICE)


@pytest.mark.parametrize(
    "value", ["5000,25", "ten", "5 lots", "$25 ticks", "$5$", "1e3", "- 5 ticks", "5 ticks 2"]
)
def test_a_price_in_no_known_form_is_refused(value: str) -> None:
    error = refusal({**PLACE, "order_type": "LIMIT", "limit_price": value})
    assert error.field == "limit_price"
    assert "offset such as -8 ticks" in error.message


def test_a_negative_plain_number_is_refused_as_an_offset_without_a_unit() -> None:
    error = refusal({**PLACE, "stop_loss": "-20"})
    assert error.field == "stop_loss"
    assert "an offset needs a unit" in error.message


@pytest.mark.parametrize("name", ["limit_price", "take_profit", "stop_loss"])
def test_a_zero_price_is_refused_outside_change(name: str) -> None:
    assert refusal({**PLACE, "order_type": "LIMIT", "limit_price": "1", name: "0"}).field == name


def test_stop_loss_limit_makes_a_stop_limit_leg_triggered_at_its_price() -> None:
    bracket = place(take_profit="20 ticks", stop_loss_limit="-10 ticks").bracket
    ten_below = PriceSpec(Decimal(-10), PriceUnit.TICKS)
    assert bracket == Bracket(PriceSpec(Decimal(20), PriceUnit.TICKS), ten_below, ten_below)


def test_stop_loss_stop_sets_the_trigger_of_a_stop_limit_leg() -> None:
    bracket = place(stop_loss_limit="4990", stop_loss_stop="4992").bracket
    assert bracket == Bracket(
        stop_loss=PriceSpec(Decimal(4992), PriceUnit.PRICE),
        stop_limit=PriceSpec(Decimal(4990), PriceUnit.PRICE),
    )


def test_stop_loss_stop_alone_is_ignored_with_a_warning() -> None:
    alert = place(stop_loss_stop="4992")
    assert alert.bracket is None
    assert alert.warnings == ("stop_loss_stop is ignored without stop_loss_limit",)


def test_a_bracket_takes_one_stop_leg() -> None:
    error = refusal({**PLACE, "stop_loss": "4990", "stop_loss_limit": "4990"})
    assert error.field == "stop_loss_limit"


def test_flags_are_true_only_for_true_and_warn_on_other_words() -> None:
    assert place(flatten_first="TRUE").flatten_first is True
    assert place(flatten_first="false").warnings == ()
    alert = place(flatten_first="yes", bypass_trade_windows="1")
    assert (alert.flatten_first, alert.bypass_trade_windows) == (False, False)
    assert alert.warnings == (
        "flatten_first='yes' is not true: taken as false",
        "bypass_trade_windows='1' is not true: taken as false",
    )


def test_append_atm_needs_a_strategy() -> None:
    assert place(strategy="ATM 2x", append_atm="true").append_atm is True
    alert = place(append_atm="true")
    assert alert.append_atm is False
    assert alert.warnings == ("append_atm is ignored without strategy",)


@pytest.mark.parametrize(
    ("value", "states"),
    [
        ("flat", {MarketPosition.FLAT}),
        ("Long,FLAT", {MarketPosition.LONG, MarketPosition.FLAT}),
        ("flat/short", {MarketPosition.FLAT, MarketPosition.SHORT}),
        ("long, flat, short", set(MarketPosition)),
    ],
)
def test_require_market_position_is_one_state_or_any_of_several(
    value: str, states: set[MarketPosition]
) -> None:
    assert place(require_market_position=value).require_market_position == frozenset(states)


@pytest.mark.parametrize("value", ["up", "long,", "long,,flat", "long+flat"])
def test_require_market_position_with_an_unknown_state_is_refused(value: str) -> None:
    assert refusal({**PLACE, "require_market_position": value}).field == "require_market_position"


def test_max_positions_is_a_whole_number_above_zero() -> None:
    assert place(max_positions="3").max_positions == 3
    for bad in ("0", "-2", "1.5", "many"):
        assert refusal({**PLACE, "max_positions": bad}).field == "max_positions"


def test_cancel_after_gives_minutes_and_holds_seconds() -> None:
    alert = place(order_type="LIMIT", limit_price="5000", cancel_after="5")
    assert alert.cancel_after == 300
    for bad in ("0", "61", "2.5", "soon"):
        error = refusal({**PLACE, "order_type": "LIMIT", "limit_price": "1", "cancel_after": bad})
        assert error.field == "cancel_after"
        assert "from 1 to 60" in error.message


@pytest.mark.parametrize("order_type", ["MARKET", "STOPMARKET", "STOPLIMIT"])
def test_cancel_after_on_an_order_that_is_not_a_limit_is_refused(order_type: str) -> None:
    prices = {"limit_price": "1", "stop_price": "1"}
    error = refusal({**PLACE, "order_type": order_type, **prices, "cancel_after": "5"})
    assert error.field == "cancel_after"


@pytest.mark.parametrize(
    ("value", "at"),
    [
        ("13:30", time(13, 30)),
        ("9:05", time(9, 5)),
        ("1:30PM", time(13, 30)),
        ("01:30 pm", time(13, 30)),
        ("12:00 AM", time(0)),
        ("12:15pm", time(12, 15)),
        ("0:00", time(0)),
        ("23:59", time(23, 59)),
    ],
)
def test_times_of_day_are_24_hour_or_am_pm(value: str, at: time) -> None:
    assert place(start_time=value).window == TradingWindow(start=at)


@pytest.mark.parametrize("value", ["24:00", "13:30 PM", "0:30 AM", "9.30", "930", "9:5", "noon"])
def test_a_time_in_no_known_form_is_refused(value: str) -> None:
    error = refusal({**PLACE, "end_time": value})
    assert error.field == "end_time"
    assert "US/Eastern" in error.message


def test_a_trading_window_is_in_us_eastern_and_may_wrap_past_midnight() -> None:
    day = place(start_time="9:30", end_time="16:00").window
    assert day == TradingWindow(time(9, 30), time(16), time_zone="America/New_York")
    assert day is not None
    assert not day.wraps
    assert [day.contains(time(h)) for h in (9, 10, 16)] == [False, True, False]
    night = place(start_time="18:00", end_time="2:00").window
    assert night is not None
    assert night.wraps
    assert [night.contains(time(h)) for h in (17, 18, 23, 1, 2)] == [False, True, True, True, False]


def test_a_window_with_one_bound_is_open_on_the_other_side() -> None:
    after = place(start_time="9:30").window
    before = place(end_time="15:00").window
    assert after is not None
    assert before is not None
    assert (after.contains(time(0)), after.contains(time(23, 59))) == (False, True)
    assert (before.contains(time(0)), before.contains(time(15))) == (True, False)


def test_closing_only_after_lets_only_exits_through_until_the_end() -> None:
    window = place(start_time="9:30", end_time="16:00", closing_only_after="15:45").window
    assert window is not None
    assert [window.closing_only(time(h, m)) for h, m in ((15, 44), (15, 45), (16, 0))] == [
        False,
        True,
        False,
    ]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"closing_only_after": "15:00"}, "closing_only_after"),
        ({"start_time": "9:30", "closing_only_after": "15:00"}, "closing_only_after"),
        (
            {"start_time": "9:30", "end_time": "16:00", "closing_only_after": "17:00"},
            "closing_only_after",
        ),
        ({"start_time": "9:30", "end_time": "9:30"}, "end_time"),
    ],
)
def test_a_window_that_cannot_hold_is_refused(fields: dict[str, str], field: str) -> None:
    assert refusal({**PLACE, **fields}).field == field


@pytest.mark.parametrize(("value", "seconds"), [("2.75", "2.75"), ("0", "0"), ("60", "60")])
def test_delay_is_seconds_up_to_sixty(value: str, seconds: str) -> None:
    assert place(delay=value).delay == Decimal(seconds)


@pytest.mark.parametrize("value", ["60.5", "-1", "2s", "1e1"])
def test_a_delay_beyond_sixty_seconds_or_negative_is_refused(value: str) -> None:
    assert refusal({**PLACE, "delay": value}).field == "delay"


@pytest.mark.parametrize(
    ("value", "limit"),
    [
        ("5", RateLimit(5, 60, "trend")),
        ("10/3600", RateLimit(10, 3600, "trend")),
        ("1000 / 86400", RateLimit(1000, 86400, "trend")),
    ],
)
def test_rate_limit_counts_alerts_per_id(value: str, limit: RateLimit) -> None:
    assert place(rate_limit=value, id="trend").rate_limit == limit


@pytest.mark.parametrize("value", ["0", "1001", "5/0", "5/86401", "5/", "five", "-5"])
def test_a_rate_limit_out_of_range_is_refused(value: str) -> None:
    assert refusal({**PLACE, "rate_limit": value, "id": "t"}).field == "rate_limit"


def test_a_rate_limit_needs_an_id_and_an_id_alone_is_ignored() -> None:
    assert refusal({**PLACE, "rate_limit": "5"}).field == "id"
    alert = place(id="trend")
    assert alert.rate_limit is None
    assert alert.warnings == ("id is ignored without rate_limit",)


@pytest.mark.parametrize(("value", "on"), [("on", True), ("OFF", False)])
def test_a_bare_kill_switch_message_has_no_command(value: str, on: bool) -> None:
    alert = parse_alert(f"key={KEY}; kill_switch={value};".encode(), None)
    assert alert.command is None
    assert alert.kill_switch is on


def test_a_kill_switch_message_ignores_other_fields_with_warnings() -> None:
    alert = parse({"kill_switch": "on", "destination": "nt8", "delay": "5", "comment": "stop"})
    assert alert.delay is None
    assert alert.comment == "stop"
    assert alert.warnings == (
        "destination is ignored by a kill_switch message",
        "delay is ignored by a kill_switch message",
    )


def test_a_kill_switch_is_on_or_off_and_never_rides_with_a_command() -> None:
    assert refusal({"kill_switch": "yes"}).field == "kill_switch"
    assert refusal({**PLACE, "kill_switch": "on"}).field == "kill_switch"


def test_a_comment_is_kept_for_the_alert_history() -> None:
    assert place(comment="breakout #3 // v2").comment == "breakout #3 // v2"
    assert refusal({**PLACE, "comment": "x" * 501}).field == "comment"


@pytest.mark.parametrize("value", ["nt8", "NT8"])
def test_the_destination_is_nt8(value: str) -> None:
    assert place(destination=value).destination == "nt8"


def test_tradovate_and_unknown_destinations_are_refused() -> None:
    error = refusal({**PLACE, "destination": "Tradovate"})
    assert error.field == "destination"
    assert "not supported" in error.message
    assert refusal({**PLACE, "destination": "ib"}).field == "destination"


def test_flatten_filters_on_long_or_short_only() -> None:
    assert parse({"command": "flatten", "market_position": "LONG"}).market_position == "long"
    assert refusal({"command": "flatten", "market_position": "flat"}).field == "market_position"


def test_strategy_sync_reads_the_strategys_state() -> None:
    alert = place(
        sync_strategy="true",
        market_position="flat",
        prev_market_position="long",
        target_quantity="0",
    )
    assert alert.sync_strategy is True
    assert (alert.market_position, alert.prev_market_position) == ("flat", "long")
    assert alert.target_quantity == Decimal(0)
    assert refusal({**PLACE, "sync_strategy": "true"}).field == "market_position"


def test_sync_fields_without_sync_strategy_are_ignored_with_warnings() -> None:
    alert = place(market_position="long", target_quantity="0")
    assert (alert.market_position, alert.target_quantity) == (None, None)
    assert alert.warnings == (
        "market_position is ignored without sync_strategy=true",
        "target_quantity is ignored without sync_strategy=true",
    )


def test_closeposition_takes_a_quantity_or_a_fraction_and_quantity_wins() -> None:
    close = MINIMAL[Command.CLOSEPOSITION]
    assert parse({**close, "quantity": "2"}).quantity == Decimal(2)
    alert = parse({**close, "quantity": "2", "percent": "0.5"})
    assert (alert.quantity, alert.percent) == (Decimal(2), None)
    assert alert.warnings == ("percent is ignored when quantity is given",)


@pytest.mark.parametrize(
    ("name", "value"), [("quantity", "0"), ("percent", "0"), ("percent", "34"), ("percent", "1.01")]
)
def test_closeposition_sizes_must_be_above_zero_and_percent_a_fraction(
    name: str, value: str
) -> None:
    assert refusal({**MINIMAL[Command.CLOSEPOSITION], name: value}).field == name


def test_a_price_in_limit_or_stop_unused_by_the_order_type_is_ignored() -> None:
    alert = place(limit_price="5000", stop_price="4990")
    assert (alert.limit_price, alert.stop_price) == (None, None)
    assert alert.warnings == (
        "limit_price is ignored by a MARKET order",
        "stop_price is ignored by a MARKET order",
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit_price", "{{close}}"),
        ("qty", "{{strategy.order.contracts}}"),
        ("action", "{{strategy.order.action"),
        ("comment", "exit at {{plot_0}}"),
    ],
)
def test_a_tradingview_placeholder_left_unreplaced_is_refused(name: str, value: str) -> None:
    error = refusal({**PLACE, "order_type": "LIMIT", "limit_price": "1", name: value})
    assert error.field == name
    assert "not replaced" in error.message


def test_every_field_of_the_spec_is_known() -> None:
    spec = {
        "key",
        "command",
        "account",
        "instrument",
        "action",
        "qty",
        "order_type",
        "tif",
        "limit_price",
        "stop_price",
        "oco_id",
        "order_id",
        "strategy",
        "strategy_id",
        "quantity",
        "percent",
        "market_position",
        "take_profit",
        "stop_loss",
        "stop_loss_limit",
        "stop_loss_stop",
        "append_atm",
        "flatten_first",
        "require_market_position",
        "max_positions",
        "cancel_after",
        "start_time",
        "end_time",
        "closing_only_after",
        "bypass_trade_windows",
        "delay",
        "rate_limit",
        "id",
        "kill_switch",
        "sync_strategy",
        "prev_market_position",
        "target_quantity",
        "destination",
        "comment",
    }
    assert set(FIELDS) == spec


# The key stays secret.


def test_the_key_is_not_in_the_alerts_repr_str_or_fields() -> None:
    alert = place(comment="hello")
    assert alert.key == KEY
    for shown in (repr(alert), str(alert), str(dict(alert.fields))):
        assert KEY not in shown


@pytest.mark.parametrize(
    "body",
    [
        f"key={KEY}\ncommand=place;".encode(),
        f"key {KEY}; command=place;".encode(),
        f"key {KEY}=1; command=place;".encode(),
        f"key={KEY}{'x' * 300}; command=place;".encode(),
        f'{{"key": ["{KEY}"]}}'.encode(),
        f'{{"key": "{KEY}", "command": "{{{{x}}}}"}}'.encode(),
    ],
)
def test_the_key_is_not_in_any_refusal(body: bytes) -> None:
    error = refusal(body)
    assert KEY not in str(error)
    assert KEY not in repr(error)


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        (b"key=MY-SECRET; command=flatten;", "key=***; command=flatten;"),
        (b"KEY = MY-SECRET ;\ncommand=flatten", "KEY = *** ;\ncommand=flatten"),
        (b"command=flatten; key=MY-SECRET", "command=flatten; key=***"),
        (b"key=MY-SECRET\ncommand place", "key=***\ncommand place"),
        (b"monkey=1; api_key=2; key=MY-SECRET;", "monkey=1; api_key=2; key=***;"),
        (b'{"key": "MY-SECRET", "qty": 1}', '{"key": "***", "qty": 1}'),
        (b'{"KEY":"MY-SECRET","qty": [', '{"KEY":"***","qty": ['),
        (b'{"k\\u0065y": 12345678}', '{"k\\u0065y": "***"}'),
        (b'{"key": MY-SECRET}', '{"key": "***"}'),
        (b"key=MY-SECRET; comment=my key is MY-SECRET;", "key=***; comment=my key is ***;"),
        (b"\xffkey=MY-SECRET;", "\ufffdkey=***;"),
    ],
)
def test_redacted_hides_the_key_in_text_and_json_even_when_unparseable(
    body: bytes, shown: str
) -> None:
    assert redacted(body) == shown


def test_redacted_leaves_a_body_without_a_key_as_it_is() -> None:
    assert redacted(b"command=flatten; key=;") == "command=flatten; key=;"


# Properties.

_PROPERTY = settings(
    derandomize=True,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)


@_PROPERTY
@given(st.binary(max_size=400))
def test_any_bytes_are_an_alert_or_an_alert_error(body: bytes) -> None:
    with contextlib.suppress(AlertError):
        parse_alert(body, None)
    redacted(body)


_GRAMMAR_TEXT = st.text(
    alphabet=st.sampled_from(list("key=;command\n PLACEflatten{}\"':,/#0123456789.-$%_ \x00é")),
    max_size=200,
)


@_PROPERTY
@given(_GRAMMAR_TEXT, st.sampled_from([None, "text/plain", "application/json"]))
def test_any_text_near_the_grammar_is_an_alert_or_an_alert_error(
    text: str, content_type: str | None
) -> None:
    with contextlib.suppress(AlertError):
        parse_alert(text.encode(), content_type)


@_PROPERTY
@given(
    st.dictionaries(
        st.sampled_from(sorted(FIELDS)),
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters=";"), max_size=40),
    )
)
def test_any_known_fields_with_any_values_are_an_alert_or_an_alert_error(
    fields: dict[str, str],
) -> None:
    for body in (payload(fields), json.dumps(fields).encode()):
        with contextlib.suppress(AlertError):
            parse_alert(body, None)


_WORD = st.text(alphabet="ABCDEFGHJKabcdefgh0123456789-_", min_size=1, max_size=12)
_PRICE = st.decimals(min_value=Decimal("0.25"), max_value=Decimal(99999), places=2)


_PRICES_FOR = {
    OrderType.LIMIT: ("limit_price",),
    OrderType.STOPMARKET: ("stop_price",),
    OrderType.STOPLIMIT: ("limit_price", "stop_price"),
}


@st.composite
def place_alerts(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, object]]:
    """A valid PLACE payload's fields as sent, and the Alert values they stand for."""
    qty = draw(st.integers(1, 500))
    order_type = draw(st.sampled_from(OrderType))
    action = draw(st.sampled_from(Action))
    fields = {
        "command": draw(st.sampled_from(["place", "PLACE", "Place", "flatplace"])),
        "account": draw(_WORD),
        "instrument": draw(st.sampled_from(["ES 12-26", "MNQ1!", "ESZ26", "ES", "CL 4-26"])),
        "action": draw(st.sampled_from([action.value, action.value.lower()])),
        "qty": str(qty),
        "order_type": order_type.value.lower(),
        "tif": draw(st.sampled_from(["day", "GTC"])),
    }
    expected: dict[str, object] = {"qty": Decimal(qty), "order_type": order_type, "action": action}
    for name in _PRICES_FOR.get(order_type, ()):
        value = draw(_PRICE)
        fields[name] = str(value)
        expected[name] = PriceSpec(value, PriceUnit.PRICE)
    if draw(st.booleans()):
        ticks = draw(st.integers(1, 200))
        fields["take_profit"] = f"{ticks} ticks"
        expected["bracket"] = Bracket(take_profit=PriceSpec(Decimal(ticks), PriceUnit.TICKS))
    if draw(st.booleans()):
        fields["oco_id"] = draw(_WORD)
        expected["oco_id"] = fields["oco_id"]
    if draw(st.booleans()):
        comment = draw(st.text(alphabet="abc xyz.!#/", min_size=1, max_size=30))
        fields["comment"] = comment.strip() or "x"
        expected["comment"] = fields["comment"]
    names = draw(st.permutations(list(fields)))
    return {name: fields[name] for name in names}, expected


@_PROPERTY
@given(
    place_alerts(),
    _WORD,
    st.sampled_from(["; ", ";", ";\n", ";\r\n  ", " ;\t"]),
    st.sampled_from(["", ";", ";\n"]),
    st.booleans(),
)
def test_a_well_formed_payload_round_trips_its_fields(
    alert_fields: tuple[dict[str, str], dict[str, object]],
    key: str,
    sep: str,
    end: str,
    upper_names: bool,
) -> None:
    fields, expected = alert_fields
    named = {(n.upper() if upper_names else n): v for n, v in fields.items()}
    text = sep.join(f"{n}={v}" for n, v in {"key": key, **named}.items()) + end
    as_json = json.dumps({"key": key, **fields})
    for body in (text.encode(), as_json.encode()):
        alert = parse_alert(body, None)
        assert alert.key == key
        assert dict(alert.fields) == fields
        assert alert.warnings == ()
        for name, value in expected.items():
            assert getattr(alert, name) == value
    assert redacted(text.encode()).startswith("key=***")
    assert redacted(as_json.encode()).startswith('{"key": "***"')
