"""ScaleTrade's trade requests through HTTP, on SQLite and PostgreSQL: what each answers, and
what ``GET /trades`` shows afterwards.

Who may send them and how malformed ones are refused: test_trade_access.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from ordergate.domain.ids import Login, Ticket
from ordergate.domain.orders import OrderStatus, OrderType, Side, TimeInForce
from tests.api.scaletrade.conftest import St, pending
from tests.api.scaletrade.helpers import (
    market,
    push,
    record,
    records,
)
from tests.builders import snapshot

D = Decimal
ACK_FIELDS = {"accepted", "order", "state", "login", "symbol", "cmd", "volume"}


def refused(answer: httpx.Response, status: int, code: str) -> str:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == code
    return str(body["message"])


async def order_of(st: St, ticket: int) -> Any:
    """The engine's order of ``ticket`` (memory, or the journal once memory let it go)."""
    engine = st.server.container.engine
    order = engine.state.order(Ticket(ticket))
    return order if order is not None else await engine.records.order(Ticket(ticket))


async def settle(st: St) -> None:
    await st.server.container.engine.settle()


def in_an_hour() -> int:
    return int((datetime.now(UTC) + timedelta(hours=1)).timestamp())


# -- POST /trade/open ----------------------------------------------------------------------------


async def test_open_acknowledges_the_request_in_state_1(st):
    answer = await st.call(
        "POST", "/trade/open", {"login": 1001, "cmd": 0, "volume": 100, "symbol": "EURUSD"}
    )

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == ACK_FIELDS
    assert body["accepted"] is True
    assert isinstance(body["order"], int)
    assert body["order"] > 0
    assert body["state"] == 1
    assert body["login"] == 1001
    assert body["symbol"] == "EURUSD"
    assert body["cmd"] == 0
    assert body["volume"] == 100


async def test_a_market_order_fills_and_shows_as_an_open_trade_with_the_same_ticket(st):
    ticket = await market(st, volume=150, comment="first")

    trade = await record(st, ticket, trade_type=1)
    assert trade is not None
    assert trade["order"] == ticket
    assert trade["login"] == 1001
    assert trade["symbol"] == "EURUSD"
    assert trade["cmd"] == 0
    assert trade["volume"] == 150
    assert trade["open_time"] > 0
    assert D(str(trade["open_price"])) == D("1.10002")  # a buy fills at the ask
    assert (trade["sl"], trade["tp"]) == (0, 0)
    assert (trade["close_time"], trade["expiration"]) == (0, 0)
    assert trade["close_price"] == 0  # 0 while open, as ScaleTrade shows it
    assert D(str(trade["profit"])) == D("-3")  # at the bid it would close at: the spread
    assert trade["state"] == 0
    assert await record(st, ticket, trade_type=3) is None  # not a pending order


async def test_a_sell_opens_at_the_bid_with_its_stop_loss_and_take_profit_on_the_trade(st):
    ticket = await market(st, cmd=1, sl=1.12, tp=1.05)

    trade = await record(st, ticket, trade_type=1)
    assert trade is not None
    assert trade["cmd"] == 1
    assert D(str(trade["open_price"])) == D("1.1")
    assert D(str(trade["sl"])) == D("1.12")
    assert D(str(trade["tp"])) == D("1.05")


async def test_open_refuses_a_pending_or_finance_cmd_with_409_and_an_unknown_one_with_400(st):
    before = await snapshot(st.server.container.store)
    body = {"login": 1001, "volume": 100, "symbol": "EURUSD"}
    for cmd in (2, 3, 4, 5, 10, 11):
        answer = await st.call("POST", "/trade/open", {**body, "cmd": cmd})
        assert "/trade/open/pending" in refused(answer, 409, "RET_TRADE_INCORRECT_CMD")
    for cmd in (6, 7, 8, 9):  # balance and credit operations
        answer = await st.call("POST", "/trade/open", {**body, "cmd": cmd})
        refused(answer, 409, "RET_TRADE_INCORRECT_CMD")
    for cmd in (-1, 12, 99):
        answer = await st.call("POST", "/trade/open", {**body, "cmd": cmd})
        refused(answer, 400, "INVALID_DATA")
    assert await snapshot(st.server.container.store) == before


async def test_open_refuses_what_the_instrument_or_the_market_do_not_allow(st):
    before = await snapshot(st.server.container.store)
    body = {"login": 1001, "cmd": 0, "volume": 100, "symbol": "EURUSD"}
    cases = [
        ({"symbol": "XAUUSD"}, 404, "RET_SYMBOL_NOT_FOUND"),
        ({"volume": 10_001}, 400, "RET_TRADE_BAD_VOLUME"),  # above lot_max 100
        ({"symbol": "ES 12-26", "volume": 150}, 400, "RET_TRADE_BAD_VOLUME"),  # lot_step 1
        ({"sl": 1.2}, 400, "RET_TRADE_BAD_STOPS"),  # a buy's stop-loss above its price
        ({"tp": 1.05}, 400, "RET_TRADE_BAD_STOPS"),
        ({"sl": 1.099995}, 400, "RET_TRADE_BAD_PRICES"),  # off the 0.00001 grid
    ]
    for change, status, code in cases:
        answer = await st.call("POST", "/trade/open", {**body, **change})
        refused(answer, status, code)
    st.server.container.venue.set_market_closed("EURUSD")
    refused(await st.call("POST", "/trade/open", body), 409, "RET_TRADE_MARKET_CLOSED")
    assert await snapshot(st.server.container.store) == before


# -- POST /trade/open/pending --------------------------------------------------------------------

PENDING_KINDS = {
    # cmd: (open_price, trigger_price, side, type, limit price, stop price)
    2: ("1.09", None, Side.BUY, OrderType.LIMIT, "1.09", None),
    3: ("1.11", None, Side.SELL, OrderType.LIMIT, "1.11", None),
    4: ("1.11", None, Side.BUY, OrderType.STOP, None, "1.11"),
    5: ("1.09", None, Side.SELL, OrderType.STOP, None, "1.09"),
    10: ("1.1105", "1.11", Side.BUY, OrderType.STOP_LIMIT, "1.1105", "1.11"),
    11: ("1.0895", "1.09", Side.SELL, OrderType.STOP_LIMIT, "1.0895", "1.09"),
}


async def test_each_pending_cmd_places_a_resting_order_of_its_kind(st):
    for cmd, (price, trigger, side, kind, limit, stop) in PENDING_KINDS.items():
        body = {"login": 1001, "cmd": cmd, "volume": 30, "symbol": "EURUSD"}
        body |= {"open_price": float(price)}
        if trigger is not None:
            body["trigger_price"] = float(trigger)
        answer = await st.call("POST", "/trade/open/pending", body)

        assert answer.status_code == 200, answer.text
        ack = answer.json()
        assert set(ack) == ACK_FIELDS
        assert (ack["accepted"], ack["state"], ack["login"]) == (True, 1, 1001), cmd
        assert (ack["symbol"], ack["cmd"], ack["volume"]) == ("EURUSD", cmd, 30), cmd
        await settle(st)
        order = await order_of(st, ack["order"])
        # A limit order rests on the book; a stop waits for its trigger.
        resting = OrderStatus.WORKING if kind is OrderType.LIMIT else OrderStatus.ACCEPTED
        assert (order.side, order.type, order.status) == (side, kind, resting), cmd
        assert order.limit_price == (None if limit is None else D(limit)), cmd
        assert order.stop_price == (None if stop is None else D(stop)), cmd
        assert order.tif is TimeInForce.GTC
        shown = await record(st, ack["order"], trade_type=3)
        assert shown is not None
        assert (shown["cmd"], shown["volume"], shown["state"]) == (cmd, 30, 0), cmd
        assert D(str(shown["open_price"])) == D(price), cmd
        assert (shown["expiration"], shown["close_time"], shown["profit"]) == (0, 0, 0), cmd


async def test_a_pending_order_with_an_expiration_is_good_till_that_date(st):
    expiration = in_an_hour()
    ticket = await pending(st, expiration=expiration, sl=1.08, tp=1.12, comment="dip")
    await settle(st)

    order = await order_of(st, ticket)
    assert order.tif is TimeInForce.GTD
    assert order.expires_at == datetime.fromtimestamp(expiration, UTC)
    shown = await record(st, ticket, trade_type=3)
    assert shown is not None
    assert shown["expiration"] == expiration
    assert (D(str(shown["sl"])), D(str(shown["tp"]))) == (D("1.08"), D("1.12"))
    assert shown["comment"] == "dip"


async def test_open_pending_refuses_bad_pending_orders_and_changes_nothing(st):
    before = await snapshot(st.server.container.store)
    body = {"login": 1001, "cmd": 2, "volume": 100, "symbol": "EURUSD", "open_price": 1.09}
    cases = [
        ({"cmd": 0}, 409, "RET_TRADE_INCORRECT_CMD"),
        ({"cmd": 1}, 409, "RET_TRADE_INCORRECT_CMD"),
        ({"cmd": 6}, 409, "RET_TRADE_INCORRECT_CMD"),
        ({"cmd": 12}, 400, "INVALID_DATA"),
        ({"cmd": 10}, 400, "INVALID_DATA"),  # a stop-limit without trigger_price
        ({"cmd": 10, "trigger_price": 0}, 400, "INVALID_DATA"),
        ({"trigger_price": 1.1}, 400, "INVALID_DATA"),  # a limit order takes none
        ({"expiration": 1_000}, 400, "INVALID_DATA"),  # in the past
        ({"open_price": 1.090001}, 400, "RET_TRADE_BAD_PRICES"),
        ({"sl": 1.095}, 400, "RET_TRADE_BAD_STOPS"),  # a buy's stop-loss above its entry
        ({"symbol": "XAUUSD"}, 404, "RET_SYMBOL_NOT_FOUND"),
    ]
    for change, status, code in cases:
        answer = await st.call("POST", "/trade/open/pending", {**body, **change})
        refused(answer, status, code)
    assert await snapshot(st.server.container.store) == before


async def test_a_pending_order_that_triggers_becomes_an_open_trade_with_the_same_ticket(st):
    limit = await pending(st, cmd=2, price="1.09000", volume=40)
    stop = await pending(st, cmd=5, price="1.08000", volume=20, symbol="EURUSD")
    await settle(st)

    push(st, "EURUSD", "1.08990", "1.08995")  # the ask falls through the buy limit
    await settle(st)

    trade = await record(st, limit, trade_type=1)
    assert trade is not None
    assert (trade["cmd"], trade["volume"], trade["state"]) == (0, 40, 0)
    assert D(str(trade["open_price"])) <= D("1.09")
    assert await record(st, limit, trade_type=3) is None
    still = await record(st, stop, trade_type=3)  # the sell stop at 1.08 is not reached
    assert still is not None
    assert (still["cmd"], still["state"]) == (5, 0)


# -- PUT /trade/modify/open ----------------------------------------------------------------------


async def test_modify_open_sets_stop_loss_and_take_profit_in_state_14(st):
    ticket = await market(st)

    answer = await st.call("PUT", "/trade/modify/open", {"order": ticket, "sl": 1.09, "tp": 1.12})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == ACK_FIELDS
    assert (body["accepted"], body["order"], body["state"]) == (True, ticket, 14)
    assert (body["login"], body["symbol"], body["cmd"], body["volume"]) == (
        1001,
        "EURUSD",
        0,
        100,
    )
    trade = await record(st, ticket, trade_type=1)
    assert trade is not None
    assert (D(str(trade["sl"])), D(str(trade["tp"]))) == (D("1.09"), D("1.12"))


async def test_modify_open_with_0_removes_a_level_and_keeps_the_one_not_given(st):
    ticket = await market(st, sl=1.09, tp=1.12)

    answer = await st.call("PUT", "/trade/modify/open", {"order": ticket, "sl": 0})

    assert answer.status_code == 200, answer.text
    trade = await record(st, ticket, trade_type=1)
    assert trade is not None
    assert trade["sl"] == 0
    assert D(str(trade["tp"])) == D("1.12")


async def test_modify_open_refuses_stops_on_the_wrong_side_and_changes_nothing(st):
    ticket = await market(st, sl=1.09)
    before = await record(st, ticket)
    cases = [
        ({"sl": 1.1001}, 400, "RET_TRADE_BAD_STOPS"),  # above the bid it would close at
        ({"tp": 1.0999}, 400, "RET_TRADE_BAD_STOPS"),
        ({"sl": 1.090001}, 400, "RET_TRADE_BAD_PRICES"),
        ({}, 400, "INVALID_DATA"),  # neither sl nor tp
    ]
    for change, status, code in cases:
        answer = await st.call("PUT", "/trade/modify/open", {"order": ticket, **change})
        refused(answer, status, code)
    assert await record(st, ticket) == before


async def test_the_stop_loss_closes_the_trade_when_a_quote_touches_it(st):
    ticket = await market(st)
    answer = await st.call("PUT", "/trade/modify/open", {"order": ticket, "sl": 1.099})
    assert answer.status_code == 200, answer.text

    push(st, "EURUSD", "1.09950", "1.09952")  # above the stop: nothing happens
    await settle(st)
    assert (await record(st, ticket, trade_type=1)) is not None
    push(st, "EURUSD", "1.09900", "1.09902")  # the bid touches it
    await settle(st)

    assert await record(st, ticket, trade_type=1) is None
    closed = await record(st, ticket, trade_type=2)
    assert closed is not None
    assert closed["state"] == 3
    assert D(str(closed["close_price"])) == D("1.099")
    assert D(str(closed["profit"])) == D("-102")  # (1.099 - 1.10002) * 100 000
    assert closed["close_time"] >= closed["open_time"]


async def test_modify_open_on_a_pending_order_is_409_incorrect_cmd(st):
    ticket = await pending(st)
    await settle(st)

    answer = await st.call("PUT", "/trade/modify/open", {"order": ticket, "sl": 1.05})

    assert "pending order" in refused(answer, 409, "RET_TRADE_INCORRECT_CMD")


async def test_modify_open_on_a_closed_trade_is_409_incorrect_state(st):
    ticket = await market(st)
    await st.call("DELETE", "/trade/close", {"order": ticket})
    await settle(st)

    answer = await st.call("PUT", "/trade/modify/open", {"order": ticket, "sl": 1.05})

    assert "closed" in refused(answer, 409, "RET_TRADE_INCORRECT_STATE")


async def test_modify_is_an_alias_of_modify_open(st):
    """ScaleTrade's newer docs keep PUT /trade/modify as an alias of /trade/modify/open: the
    same acknowledgment (state 14), sl or tp alone, 0 removes one, the same refusals."""
    ticket = await market(st, sl=1.09, tp=1.12)
    order = await pending(st)
    await settle(st)

    answer = await st.call("PUT", "/trade/modify", {"order": ticket, "tp": 0})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "accepted": True,
        "order": ticket,
        "state": 14,
        "login": 1001,
        "symbol": "EURUSD",
        "cmd": 0,
        "volume": 100,
    }
    trade = await record(st, ticket, trade_type=1)
    assert trade is not None
    assert (D(str(trade["sl"])), trade["tp"]) == (D("1.09"), 0)
    before = await snapshot(st.server.container.store)
    for body, status, code in (
        ({"order": ticket}, 400, "INVALID_DATA"),  # neither sl nor tp
        ({"order": ticket, "sl": 1.1001}, 400, "RET_TRADE_BAD_STOPS"),
        ({"order": order, "sl": 1.05}, 409, "RET_TRADE_INCORRECT_CMD"),
        ({"order": 987654, "sl": 1.05}, 404, "RET_NOT_FOUND"),
    ):
        refused(await st.call("PUT", "/trade/modify", body), status, code)
    assert await snapshot(st.server.container.store) == before


# -- PUT /trade/modify/pending -------------------------------------------------------------------


async def test_modify_pending_moves_the_price_in_state_16_then_the_venue_confirms(st):
    ticket = await pending(st, price="1.09000")
    await settle(st)
    st.server.container.venue.ack_delay_ms = 300  # the venue confirms 300 ms later

    answer = await st.call("PUT", "/trade/modify/pending", {"order": ticket, "open_price": 1.085})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == ACK_FIELDS
    assert (body["accepted"], body["order"], body["state"]) == (True, ticket, 16)
    assert (body["login"], body["symbol"], body["cmd"], body["volume"]) == (
        1001,
        "EURUSD",
        2,
        100,
    )
    waiting = await record(st, ticket, trade_type=3)
    assert waiting is not None
    assert waiting["state"] == 16
    await st.server.advance(0.3)
    shown = await record(st, ticket, trade_type=3)
    assert shown is not None
    assert shown["state"] == 0
    assert D(str(shown["open_price"])) == D("1.085")


async def test_modify_pending_sets_and_removes_stops_and_expiration(st):
    ticket = await pending(st, price="1.09000", sl=1.08)
    await settle(st)
    expiration = in_an_hour()

    answer = await st.call(
        "PUT",
        "/trade/modify/pending",
        {"order": ticket, "sl": 0, "tp": 1.1, "expiration": expiration},
    )
    assert answer.status_code == 200, answer.text
    await settle(st)
    shown = await record(st, ticket, trade_type=3)
    assert shown is not None
    assert (shown["sl"], D(str(shown["tp"])), shown["expiration"]) == (0, D("1.1"), expiration)
    assert (await order_of(st, ticket)).tif is TimeInForce.GTD

    answer = await st.call("PUT", "/trade/modify/pending", {"order": ticket, "expiration": 0})
    assert answer.status_code == 200, answer.text
    await settle(st)
    shown = await record(st, ticket, trade_type=3)
    assert shown is not None
    assert shown["expiration"] == 0
    assert D(str(shown["tp"])) == D("1.1")  # what was not given stays
    order = await order_of(st, ticket)
    assert (order.tif, order.expires_at) == (TimeInForce.GTC, None)


async def test_modify_pending_moves_a_stop_price_and_a_stop_limits_trigger(st):
    stop = await pending(st, cmd=4, price="1.11000")
    stop_limit = await pending(st, cmd=10, price="1.11050", trigger_price=1.11)
    await settle(st)

    for ticket, change in (
        (stop, {"open_price": 1.112}),
        (stop_limit, {"open_price": 1.1125, "trigger_price": 1.112}),
    ):
        answer = await st.call("PUT", "/trade/modify/pending", {"order": ticket, **change})
        assert answer.status_code == 200, answer.text
    await settle(st)

    assert (await order_of(st, stop)).stop_price == D("1.112")
    moved = await order_of(st, stop_limit)
    assert (moved.limit_price, moved.stop_price) == (D("1.1125"), D("1.112"))


async def test_modify_pending_refuses_wrong_requests_and_changes_nothing(st):
    ticket = await pending(st, price="1.09000")
    trade = await market(st)
    before = await snapshot(st.server.container.store)
    cases = [
        ({"order": trade, "open_price": 1.08}, 409, "RET_TRADE_INCORRECT_CMD"),
        ({"order": ticket}, 400, "INVALID_DATA"),  # nothing to change
        ({"order": ticket, "trigger_price": 1.08}, 400, "INVALID_DATA"),  # not a stop-limit
        ({"order": ticket, "open_price": 0}, 400, "RET_TRADE_BAD_PRICES"),
        ({"order": ticket, "open_price": 1.080001}, 400, "RET_TRADE_BAD_PRICES"),
        ({"order": ticket, "sl": 1.095}, 400, "RET_TRADE_BAD_STOPS"),
        ({"order": ticket, "expiration": 1_000}, 400, "INVALID_DATA"),  # in the past
    ]
    for body, status, code in cases:
        refused(await st.call("PUT", "/trade/modify/pending", body), status, code)
    assert await snapshot(st.server.container.store) == before


async def test_modify_pending_of_a_cancelled_order_is_409_incorrect_state(st):
    ticket = await pending(st)
    await settle(st)
    await st.call("DELETE", "/trade/cancel", {"order": ticket})
    await settle(st)

    answer = await st.call("PUT", "/trade/modify/pending", {"order": ticket, "open_price": 1.08})

    assert refused(answer, 409, "RET_TRADE_INCORRECT_STATE") == (
        f"pending order {ticket} is cancelled"
    )


# -- DELETE /trade/close -------------------------------------------------------------------------


async def test_close_sends_the_closing_order_in_state_7_and_the_trade_closes(st):
    ticket = await market(st)

    answer = await st.call("DELETE", "/trade/close", {"order": ticket})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == ACK_FIELDS | {"close_volume"}
    assert (body["accepted"], body["order"], body["state"]) == (True, ticket, 7)
    assert (body["login"], body["symbol"], body["cmd"]) == (1001, "EURUSD", 0)
    assert (body["volume"], body["close_volume"]) == (100, 100)
    await settle(st)
    assert await record(st, ticket, trade_type=1) is None
    closed = await record(st, ticket, trade_type=2)
    assert closed is not None
    assert (closed["cmd"], closed["volume"], closed["state"]) == (0, 100, 3)
    assert D(str(closed["close_price"])) == D("1.1")
    assert D(str(closed["profit"])) == D("-2")


async def test_close_with_volume_closes_part_of_the_trade(st):
    ticket = await market(st, cmd=1, volume=100)

    answer = await st.call("DELETE", "/trade/close", {"order": ticket, "volume": 40})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["order"], body["state"], body["cmd"]) == (ticket, 7, 1)
    assert (body["volume"], body["close_volume"]) == (100, 40)
    await settle(st)
    left = await record(st, ticket, trade_type=1)
    assert left is not None
    assert (left["volume"], left["state"]) == (60, 0)


async def test_a_trade_being_closed_shows_state_7_and_is_not_closed_twice(st):
    ticket = await market(st)
    st.server.container.venue.ack_delay_ms = 500  # the close fills 500 ms later

    first = await st.call("DELETE", "/trade/close", {"order": ticket})
    again = await st.call("DELETE", "/trade/close", {"order": ticket, "volume": 10})
    group = await st.call("DELETE", "/trade/close/group", {"login": 1001, "type": 0})

    assert first.status_code == 200, first.text
    assert "already being closed" in refused(again, 409, "RET_TRADE_ORDER_LOCKED")
    assert group.status_code == 409, group.text
    assert group.json()["failures"] == [
        {
            "order": ticket,
            "error": "RET_TRADE_ORDER_LOCKED",
            "message": f"trade {ticket} is already being closed; wait for that close",
        }
    ]
    shown = await records(st, trade_type=1)
    assert [(r["order"], r["state"]) for r in shown] == [(ticket, 7)]  # no record of its own
    await st.server.advance(0.5)
    assert await records(st, trade_type=1) == []
    engine = st.server.container.engine
    assert engine.state.open_orders(Login(1001)) == []  # no closing order left behind


async def test_close_refuses_what_is_not_an_open_trade_and_changes_nothing(st):
    ticket = await market(st)
    order = await pending(st)
    await settle(st)
    before = await snapshot(st.server.container.store)

    too_much = await st.call("DELETE", "/trade/close", {"order": ticket, "volume": 101})
    of_pending = await st.call("DELETE", "/trade/close", {"order": order})
    unknown = await st.call("DELETE", "/trade/close", {"order": 999_999})

    refused(too_much, 400, "RET_TRADE_BAD_VOLUME")
    refused(of_pending, 409, "RET_TRADE_INCORRECT_CMD")
    refused(unknown, 404, "RET_NOT_FOUND")
    assert await snapshot(st.server.container.store) == before
    await st.call("DELETE", "/trade/close", {"order": ticket})
    await settle(st)
    closed = await st.call("DELETE", "/trade/close", {"order": ticket})
    assert refused(closed, 409, "RET_TRADE_INCORRECT_STATE") == f"trade {ticket} is closed"


async def test_close_in_a_closed_market_is_409_and_the_trade_stays_open(st):
    ticket = await market(st)
    st.server.container.venue.set_market_closed("EURUSD")

    answer = await st.call("DELETE", "/trade/close", {"order": ticket})

    refused(answer, 409, "RET_TRADE_MARKET_CLOSED")
    shown = await record(st, ticket, trade_type=1)
    assert shown is not None
    assert shown["state"] == 0


# -- DELETE /trade/close/group -------------------------------------------------------------------


async def _two_trades(st: St) -> tuple[int, int]:
    """A profitable EURUSD buy and a losing ES 12-26 buy: their tickets."""
    euro = await market(st, volume=100)
    es = await market(st, volume=100, symbol="ES 12-26")
    push(st, "EURUSD", "1.10100", "1.10102")
    push(st, "ES 12-26", "5990.00", "5990.25")
    return euro, es


def _close_row(ticket: int, symbol: str, volume: int = 100) -> dict[str, Any]:
    return {
        "accepted": True,
        "order": ticket,
        "state": 7,
        "login": 1001,
        "symbol": symbol,
        "cmd": 0,
        "volume": volume,
    }


async def test_close_group_type_0_closes_every_open_trade(st):
    euro, es = await _two_trades(st)

    answer = await st.call("DELETE", "/trade/close/group", {"login": 1001, "type": 0})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "data": "OK",
        "rows": [_close_row(euro, "EURUSD"), _close_row(es, "ES 12-26")],
        "matched": 2,
        "closed": 2,
        "failed": 0,
    }
    await settle(st)
    assert await records(st, trade_type=1) == []
    assert {r["order"] for r in await records(st, trade_type=2)} == {euro, es}


async def test_close_group_type_1_closes_the_profitable_and_type_minus_1_the_losing(st):
    euro, es = await _two_trades(st)

    profitable = await st.call("DELETE", "/trade/close/group", {"login": 1001, "type": 1})
    await settle(st)
    assert profitable.status_code == 200, profitable.text
    assert [r["order"] for r in profitable.json()["rows"]] == [euro]
    assert [r["order"] for r in await records(st, trade_type=1)] == [es]

    losing = await st.call("DELETE", "/trade/close/group", {"login": 1001, "type": -1})
    await settle(st)
    assert losing.status_code == 200, losing.text
    assert [r["order"] for r in losing.json()["rows"]] == [es]
    assert await records(st, trade_type=1) == []


async def test_close_group_with_a_symbol_closes_only_that_symbols_trades(st):
    euro, es = await _two_trades(st)

    answer = await st.call(
        "DELETE", "/trade/close/group", {"login": 1001, "type": 0, "symbol": "ES 12-26"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["rows"] == [_close_row(es, "ES 12-26")]
    await settle(st)
    assert [r["order"] for r in await records(st, trade_type=1)] == [euro]


async def test_close_group_answers_207_with_the_trades_a_closed_market_kept_open(st):
    euro, es = await _two_trades(st)
    st.server.container.venue.set_market_closed("EURUSD")

    answer = await st.call("DELETE", "/trade/close/group", {"login": 1001, "type": 0})

    assert answer.status_code == 207, answer.text
    body = answer.json()
    assert body["rows"] == [_close_row(es, "ES 12-26")]
    assert [(f["order"], f["error"]) for f in body["failures"]] == [
        (euro, "RET_TRADE_MARKET_CLOSED")
    ]
    assert "EURUSD" in body["failures"][0]["message"]
    assert (body["matched"], body["closed"], body["failed"]) == (2, 1, 1)
    await settle(st)
    assert [(r["order"], r["state"]) for r in await records(st, trade_type=1)] == [(euro, 0)]


async def test_close_group_answers_409_when_no_matched_trade_could_be_closed(st):
    euro = await market(st)
    st.server.container.venue.set_market_closed("EURUSD")
    before = await snapshot(st.server.container.store)

    answer = await st.call("DELETE", "/trade/close/group", {"login": 1001, "type": 0})

    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert body["error"] == "RET_TRADE_MARKET_CLOSED"
    assert body["message"] == "none of the 1 matched was accepted"
    assert body["rows"] == []
    assert [(f["order"], f["error"]) for f in body["failures"]] == [
        (euro, "RET_TRADE_MARKET_CLOSED")
    ]
    assert (body["matched"], body["closed"], body["failed"]) == (1, 0, 1)
    assert await snapshot(st.server.container.store) == before


async def test_close_group_with_nothing_to_close_answers_200_data_ok(st):
    """As ScaleTrade answers: closing a login's trades when none matches is done, not an
    error (a group cancel answers 404 instead: the seed page's contract)."""
    await market(st)  # a EURUSD trade: neither ES nor a losing one
    push(st, "EURUSD", "1.10100", "1.10102")
    before = await snapshot(st.server.container.store)

    for body in (
        {"login": 1002, "type": 0},
        {"login": 1001, "type": 0, "symbol": "ES 12-26"},
        {"login": 1001, "type": -1},
    ):
        answer = await st.call("DELETE", "/trade/close/group", body, login=900)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"data": "OK", "rows": [], "matched": 0, "closed": 0, "failed": 0}
    assert await snapshot(st.server.container.store) == before
    unknown = await st.call(
        "DELETE", "/trade/close/group", {"login": 1001, "type": 0, "symbol": "XAUUSD"}
    )
    refused(unknown, 404, "RET_SYMBOL_NOT_FOUND")


async def test_close_group_with_a_comment_stamps_group_close_on_its_closing_orders(st):
    euro, es = await _two_trades(st)
    engine = st.server.container.engine
    st.server.container.venue.ack_delay_ms = 60_000  # the closing orders stay on their way

    stamped = await st.call(
        "DELETE",
        "/trade/close/group",
        {"login": 1001, "type": 0, "symbol": "EURUSD", "comment": "my own text"},
    )
    plain = await st.call(
        "DELETE", "/trade/close/group", {"login": 1001, "type": 0, "symbol": "ES 12-26"}
    )

    assert (stamped.status_code, plain.status_code) == (200, 200), (stamped.text, plain.text)
    comments = {o.closes_ticket: o.comment for o in engine.state.open_orders(Login(1001))}
    assert comments == {euro: "GROUP_CLOSE", es: f"close #{es}"}  # the engine's own


# -- DELETE /trade/cancel ------------------------------------------------------------------------


async def test_cancel_moves_a_pending_order_to_state_9_then_deleted(st):
    ticket = await pending(st, cmd=3, price="1.11000", volume=25)
    await settle(st)

    answer = await st.call("DELETE", "/trade/cancel", {"order": ticket})

    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "accepted": True,
        "order": ticket,
        "state": 9,
        "login": 1001,
        "symbol": "EURUSD",
        "cmd": 3,
        "volume": 25,
    }
    await settle(st)
    assert await record(st, ticket, trade_type=3) is None
    deleted = await record(st, ticket, trade_type=2)
    assert deleted is not None
    assert (deleted["cmd"], deleted["state"]) == (3, 6)
    assert deleted["close_time"] > 0


async def test_cancel_of_a_trades_ticket_is_409_incorrect_cmd(st):
    ticket = await market(st)
    before = await snapshot(st.server.container.store)

    answer = await st.call("DELETE", "/trade/cancel", {"order": ticket})

    assert "is a trade" in refused(answer, 409, "RET_TRADE_INCORRECT_CMD")
    assert await snapshot(st.server.container.store) == before


async def test_cancel_of_a_market_orders_ticket_before_its_fill_is_409_incorrect_cmd(st):
    # Acknowledged, its fill owed a minute from now: working, and still a trade's ticket.
    st.server.container.venue.config.set(fill_delay_ms=60_000)
    ticket = await market(st)  # acknowledged now; the fill waits for the clock
    assert (await order_of(st, ticket)).status is OrderStatus.WORKING
    before = await snapshot(st.server.container.store)

    answer = await st.call("DELETE", "/trade/cancel", {"order": ticket})

    assert "is a trade" in refused(answer, 409, "RET_TRADE_INCORRECT_CMD")
    assert await snapshot(st.server.container.store) == before
    assert (await order_of(st, ticket)).status is OrderStatus.WORKING


async def test_cancel_naming_its_login_acts_there_only(st):
    # The manager of 1001 and 1002: a ticket of 1001 named with 1002 is not found there.
    ticket = await pending(st, login=1001)
    await settle(st)
    before = await snapshot(st.server.container.store)

    elsewhere = await st.call(
        "DELETE", "/trade/cancel", {"order": ticket, "login": 1002}, login=900
    )
    refused(elsewhere, 404, "RET_NOT_FOUND")
    assert await snapshot(st.server.container.store) == before

    answer = await st.call("DELETE", "/trade/cancel", {"order": ticket, "login": 1001}, login=900)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["order"], answer.json()["state"]) == (ticket, 9)


async def test_cancel_while_a_cancel_is_pending_is_409_incorrect_state(st):
    ticket = await pending(st)
    await settle(st)
    st.server.container.venue.cancel_delay_ms = 60_000  # the first cancel stays unconfirmed
    first = await st.call("DELETE", "/trade/cancel", {"order": ticket})
    assert first.status_code == 200, first.text
    before = await snapshot(st.server.container.store)

    again = await st.call("DELETE", "/trade/cancel", {"order": ticket})

    refused(again, 409, "RET_TRADE_INCORRECT_STATE")
    assert await snapshot(st.server.container.store) == before
    shown = await record(st, ticket, trade_type=3)
    assert shown is not None
    assert shown["state"] == 9


async def test_cancel_of_an_order_the_venue_still_processes_is_409_order_locked(st):
    st.server.container.venue.ack_delay_ms = 60_000  # the order stays submitted
    ticket = await pending(st)
    before = await snapshot(st.server.container.store)

    answer = await st.call("DELETE", "/trade/cancel", {"order": ticket})

    refused(answer, 409, "RET_TRADE_ORDER_LOCKED")
    assert await snapshot(st.server.container.store) == before
    assert (await order_of(st, ticket)).status is OrderStatus.SUBMITTED


async def test_cancel_of_a_cancelled_order_is_409_incorrect_state(st):
    ticket = await pending(st)
    await settle(st)
    await st.call("DELETE", "/trade/cancel", {"order": ticket})
    await settle(st)

    answer = await st.call("DELETE", "/trade/cancel", {"order": ticket})

    assert refused(answer, 409, "RET_TRADE_INCORRECT_STATE") == (
        f"pending order {ticket} is cancelled"
    )


async def test_trade_requests_through_a_real_server(st, live):
    """The same requests over TCP, through uvicorn: open, modify, close and cancel."""
    async with httpx.AsyncClient(base_url=live, headers=st.auth(), trust_env=False) as client:
        opened = await client.post(
            "/trade/open", json={"login": 1001, "cmd": 1, "volume": 100, "symbol": "EURUSD"}
        )
        assert opened.status_code == 200, opened.text
        assert opened.headers["content-type"].startswith("application/json")
        ticket = opened.json()["order"]
        await settle(st)
        modified = await client.put("/trade/modify/open", json={"order": ticket, "tp": 1.05})
        assert (modified.status_code, modified.json()["state"]) == (200, 14)
        closed = await client.request("DELETE", "/trade/close", json={"order": ticket})
        assert (closed.status_code, closed.json()["state"]) == (200, 7)
        order = await pending(st)
        await settle(st)
        cancelled = await client.request("DELETE", "/trade/cancel", json={"order": order})
        assert (cancelled.status_code, cancelled.json()["state"]) == (200, 9)
        bad = await client.request("DELETE", "/trade/cancel", content=b"{", headers={})
        assert bad.status_code == 400
        assert bad.json()["error"] == "INVALID_DATA"
        await settle(st)
        assert [(r["order"], r["state"]) for r in await records(st, trade_type=2)] == [
            (ticket, 3),
            (order, 6),
        ]
