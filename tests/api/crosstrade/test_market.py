"""GET /market/quote, GET /market/info and POST /market/bars through HTTP, on SQLite and
PostgreSQL. Quotes are pushed into the server's market data as a feed would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ordergate.api.crosstrade.ops import OPERATIONS
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import Server

D = Decimal
QUOTE = "/v1/api/market/quote"
INFO = "/v1/api/market/info"
BARS = "/v1/api/market/bars"


def push(ct: Server, symbol: str, bid: str, ask: str, at: datetime | None = None, **kw) -> None:
    ct.container.market.push(Quote(symbol, D(bid), D(ask), at or ct.container.clock.now(), **kw))


async def get(ct: Server, path: str, **params):
    return await ct.client.get(path, params=params, headers=ct.auth())


def test_every_operation_is_registered_for_the_websocket():
    assert {"GetQuote", "GetMarketInfo", "GetBars"} <= set(OPERATIONS)


# -- quote -----------------------------------------------------------------------------------


async def test_quote_of_one_instrument(ct):
    push(ct, "ES 12-26", "6001.25", "6001.50", last=D("6001.50"), last_size=D("3"))
    response = await get(ct, QUOTE, instrument="ES 12-26")
    assert response.status_code == 200, response.text
    body = response.json()
    now = datetime.now(UTC)
    assert {k: body[k] for k in ("instrument", "description", "type", "currency")} == {
        "instrument": "ES 12-26",
        "description": "E-mini S&P 500",
        "type": "Future",
        "currency": "USD",
    }
    assert (body["bid"], body["ask"], body["last"]) == (6001.25, 6001.5, 6001.5)
    # The day started with the opening quote's mid; no earlier day, so no close.
    assert (body["open"], body["high"], body["low"], body["close"]) == (
        6000.125,
        6001.5,
        6000.125,
        None,
    )
    assert (body["volume"], body["bidSize"], body["askSize"]) == (3, None, None)
    assert (body["tickSize"], body["pointValue"], body["tickValue"]) == (0.25, 50, 12.5)
    assert body["isMarketOpen"] is True
    assert body["success"] is True
    quoted = datetime.fromisoformat(body["quoteTime"].replace("Z", "+00:00"))
    assert abs((now - quoted).total_seconds()) < 60
    assert body["epoch"] == int(quoted.timestamp())  # seconds
    assert body["quoteTimeUtc"] == quoted.strftime("%Y-%m-%d %H:%M:%S")
    assert '"bid":6001.25' in response.text  # an exact JSON number


async def test_quote_of_a_list_is_an_array_in_the_order_asked(ct):
    response = await get(ct, QUOTE, instrument="NQ 12-26, ESZ26,EURUSD")
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body, list)
    assert [q["instrument"] for q in body] == ["NQ 12-26", "ES 12-26", "EURUSD"]
    assert [q["bid"] for q in body] == [21000, 6000, 1.1]
    assert "success" not in body[0]


async def test_quote_without_trades_shows_the_mid_as_last(ct):
    body = (await get(ct, QUOTE, instrument="EURUSD")).json()
    assert (body["bid"], body["ask"], body["last"]) == (1.1, 1.10002, 1.10001)
    assert body["type"] == "Forex"
    assert body["volume"] == 0


@pytest.mark.parametrize(
    ("instrument", "nt8"),
    [
        ("ES 12-26", ("Future", "Globex", "CME US Index Futures ETH", "2026-12-01")),
        ("NQ 12-26", ("Future", "Globex", "CME US Index Futures ETH", "2026-12-01")),
        ("ESZ26", ("Future", "Globex", "CME US Index Futures ETH", "2026-12-01")),
        ("EURUSD", ("Forex", "Default", "Forex", None)),
    ],
)
async def test_quote_carries_nt8s_type_exchange_trading_hours_and_expiration(ct, instrument, nt8):
    body = (await get(ct, QUOTE, instrument=instrument)).json()
    assert (body["type"], body["exchange"], body["tradingHours"], body["expiration"]) == nt8
    listed = (await get(ct, QUOTE, instrument=f"{instrument},EURUSD")).json()
    assert listed[0] == {k: v for k, v in body.items() if k != "success"}


async def test_quote_of_a_crude_oil_future_is_nymex(ct):
    await _add(ct, _instrument("CL 12-26"))
    body = (await get(ct, QUOTE, instrument="CL 12-26")).json()
    assert (body["exchange"], body["tradingHours"]) == ("Nymex", "Nymex Energy ETH")


async def test_quote_says_when_the_market_is_closed(ct):
    ct.container.venue.set_market_closed("ES 12-26")
    body = (await get(ct, QUOTE, instrument="ES 12-26")).json()
    assert body["isMarketOpen"] is False
    assert body["bid"] == 6000


async def test_quote_of_an_instrument_not_quoted_yet_has_null_prices(ct):
    await _add(ct, _instrument("CL 12-26"))
    body = (await get(ct, QUOTE, instrument="CL 12-26")).json()
    assert (body["bid"], body["ask"], body["last"], body["quoteTime"]) == (None,) * 4
    assert body["tickSize"] == 0.01


@pytest.mark.parametrize(
    ("params", "status", "error"),
    [
        ({}, 400, "Invalid request"),
        ({"instrument": ""}, 400, "Invalid request"),
        ({"instrument": "ES 12-26,,NQ 12-26"}, 400, None),
        ({"instrument": ",".join(["ES 12-26"] * 51)}, 400, None),
        ({"instrument": "ZZ 01-30"}, 404, "Instrument 'ZZ 01-30' not found"),
        ({"instrument": "ES 12-26,ZZ 01-30"}, 404, "Instrument 'ZZ 01-30' not found"),
    ],
)
async def test_bad_quote_request(ct, params, status, error):
    response = await get(ct, QUOTE, **params)
    assert response.status_code == status, response.text
    if error is not None:
        assert response.json()["error"] == error


async def test_market_endpoints_need_a_token(ct):
    assert (await ct.client.get(QUOTE, params={"instrument": "ES 12-26"})).status_code == 401
    assert (await ct.client.get(INFO, params={"instrument": "ES 12-26"})).status_code == 401
    assert (await ct.client.post(BARS, json={"instrument": "ES 12-26"})).status_code == 401
    bad = {"Authorization": "Bearer og_nope"}
    assert (await ct.client.post(BARS, headers=bad, json={})).status_code == 401


# -- info ------------------------------------------------------------------------------------


def _instrument(symbol: str, *sessions: TradingSession) -> Instrument:
    return Instrument(
        symbol=symbol,
        tick_size=D("0.01"),
        point_value=D("1000"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("100"),
        lot_step=D("1"),
        description="Crude oil",
        sessions=sessions,
    )


async def _add(ct: Server, instrument: Instrument) -> None:
    """An instrument added while the server runs (in the database, the market and venue)."""
    async with ct.container.store.transaction() as tx:
        await tx.accounts.add_instrument(instrument)
        await tx.commit()
    ct.container.market.add_instruments([instrument])
    ct.container.venue.load_instruments([instrument])


def _every_day(start: datetime, end: datetime) -> TradingSession:
    return TradingSession(frozenset(range(7)), start.time(), end.time())


def _minute(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


async def test_info_of_an_instrument_that_trades_around_the_clock(ct):
    response = await get(ct, INFO, instrument="ES 12-26")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["instrument"], body["type"], body["timeZone"]) == ("ES 12-26", "Future", "UTC")
    assert body["status"] == {"isOpen": True, "state": "Open"}
    assert body["session"]["action"] == "Always Open"
    assert body["session"]["utcEnd"] is None
    assert (body["upcoming"], body["sessions"]) == (None, [])
    assert body["bounds"] == {
        "tickSize": 0.25,
        "pointValue": 50,
        "tickValue": 12.5,
        "digits": 2,
        "lotMin": 1,
        "lotMax": 500,
        "lotStep": 1,
        "currency": "USD",
    }
    assert body["success"] is True


async def test_info_in_session_counts_down_to_the_close(ct):
    now = _minute(datetime.now(UTC))
    start, end = now - timedelta(hours=1), now + timedelta(hours=2)
    await _add(ct, _instrument("CL 12-26", _every_day(start, end)))
    body = (await get(ct, INFO, instrument="CL 12-26")).json()
    assert body["status"] == {"isOpen": True, "state": "Open"}
    session = body["session"]
    assert (session["label"], session["action"]) == ("Current Session", "Until Close")
    assert session["utcStart"] == start.isoformat().replace("+00:00", "Z")
    assert session["utcEnd"] == end.isoformat().replace("+00:00", "Z")
    assert 7000 < session["secondsRemaining"] <= 7200
    assert session["countdown"].startswith(("01:5", "02:00"))
    assert body["upcoming"]["utcStart"] == (start + timedelta(days=1)).isoformat().replace(
        "+00:00", "Z"
    )
    (weekly,) = body["sessions"]
    assert weekly == {
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
        "start": start.strftime("%H:%M"),
        "end": end.strftime("%H:%M"),
    }
    assert body["bounds"]["lotMax"] == 100


async def test_info_out_of_session_counts_down_to_the_open(ct):
    now = _minute(datetime.now(UTC))
    start, end = now + timedelta(hours=1), now + timedelta(hours=3)
    await _add(ct, _instrument("CL 12-26", _every_day(start, end)))
    body = (await get(ct, INFO, instrument="CL 12-26")).json()
    assert body["status"] == {"isOpen": False, "state": "Closed"}
    session = body["session"]
    assert (session["label"], session["action"]) == ("Next Session", "Until Open")
    assert session["utcStart"] == start.isoformat().replace("+00:00", "Z")
    assert 3400 < session["secondsRemaining"] <= 3600
    quote = (await get(ct, QUOTE, instrument="CL 12-26")).json()
    assert quote["isMarketOpen"] is False


async def test_info_says_closed_when_the_operator_closes_the_market(ct):
    ct.container.venue.set_market_closed("NQ 12-26")
    body = (await get(ct, INFO, instrument="NQ 12-26")).json()
    assert body["status"] == {"isOpen": False, "state": "Closed"}


async def test_sessions_that_meet_count_as_one(ct):
    now = _minute(datetime.now(UTC))
    morning = _every_day(now - timedelta(hours=1), now)
    afternoon = _every_day(now, now + timedelta(hours=1))
    await _add(ct, _instrument("CL 12-26", morning, afternoon))
    session = (await get(ct, INFO, instrument="CL 12-26")).json()["session"]
    assert (session["utcStart"], session["utcEnd"]) == (
        _iso(now - timedelta(hours=1)),
        _iso(now + timedelta(hours=1)),
    )


@pytest.mark.parametrize(
    ("params", "status"),
    [({}, 400), ({"instrument": "ES 12-26,NQ 12-26"}, 404), ({"instrument": "ZZ 01-30"}, 404)],
)
async def test_bad_info_request(ct, params, status):
    response = await get(ct, INFO, **params)
    assert response.status_code == status, response.text


# -- bars ------------------------------------------------------------------------------------


def _base(ct: Server) -> datetime:
    """A whole hour two hours ahead: bars there hold only the quotes a test pushes."""
    now = ct.container.clock.now().astimezone(UTC)
    return now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)


def _trades(ct: Server, base: datetime) -> None:
    """NQ trades in three minutes of ``base``: 10:00:10, 10:00:40, 10:01:05, 10:07:30."""
    for offset, price, size in (
        (10, "21000.00", "2"),
        (40, "21002.50", "1"),
        (65, "20999.75", "4"),
        (450, "21010.00", "5"),
    ):
        p = D(price)
        push(
            ct,
            "NQ 12-26",
            str(p - D("0.25")),
            price,
            base + timedelta(seconds=offset),
            last=p,
            last_size=D(size),
        )


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def bars(ct: Server, **body):
    return await ct.client.post(BARS, headers=ct.auth(), json=body)


async def test_minute_bars_in_a_range(ct):
    base = _base(ct)
    _trades(ct, base)
    response = await bars(
        ct,
        instrument="NQ 12-26",
        periodType="minute",
        period=1,
        **{"from": _iso(base), "to": _iso(base + timedelta(minutes=10))},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["instrument"], body["periodType"], body["period"], body["count"]) == (
        "NQ 12-26",
        "minute",
        1,
        3,
    )
    first, second, third = body["bars"]
    assert first == {
        "time": _iso(base),
        "epoch": int(base.timestamp() * 1000),
        "open": 21000,
        "high": 21002.5,
        "low": 21000,
        "close": 21002.5,
        "volume": 3,
    }
    assert (second["time"], second["open"], second["close"], second["volume"]) == (
        _iso(base + timedelta(minutes=1)),
        20999.75,
        20999.75,
        4,
    )
    assert third["time"] == _iso(base + timedelta(minutes=7))
    assert body["success"] is True


async def test_five_minute_and_hour_bars_roll_up_the_minutes(ct):
    base = _base(ct)
    _trades(ct, base)
    window = {"from": _iso(base), "to": _iso(base + timedelta(hours=1))}
    five = (await bars(ct, instrument="NQ 12-26", period=5, **window)).json()
    assert [(b["open"], b["high"], b["low"], b["close"], b["volume"]) for b in five["bars"]] == [
        (21000, 21002.5, 20999.75, 20999.75, 7),
        (21010, 21010, 21010, 21010, 5),
    ]
    hour = (await bars(ct, instrument="NQ 12-26", periodType="Hour", **window)).json()
    assert (hour["periodType"], hour["count"], hour["bars"][0]["volume"]) == ("hour", 1, 12)


async def test_limit_keeps_the_newest_bars(ct):
    base = _base(ct)
    _trades(ct, base)
    body = (
        await bars(
            ct,
            instrument="NQ 12-26",
            limit=1,
            **{"from": _iso(base), "to": _iso(base + timedelta(minutes=10))},
        )
    ).json()
    assert [b["time"] for b in body["bars"]] == [_iso(base + timedelta(minutes=7))]


async def test_bars_default_to_the_last_day(ct):
    body = (await bars(ct, instrument="ES 12-26")).json()
    assert (body["periodType"], body["period"]) == ("minute", 1)
    assert body["count"] == 1  # the opening quote's minute
    assert body["bars"][0]["open"] == 6000.125
    future = (await bars(ct, instrument="ESZ26", to=_iso(_base(ct) + timedelta(days=3)))).json()
    assert future["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"instrument": ""},
        {"instrument": "ES 12-26", "periodType": "week"},
        {"instrument": "ES 12-26", "periodType": "tick"},
        {"instrument": "ES 12-26", "period": 7},
        {"instrument": "ES 12-26", "periodType": "day", "period": 2},
        {"instrument": "ES 12-26", "period": 0},
        {"instrument": "ES 12-26", "limit": 0},
        {"instrument": "ES 12-26", "limit": 5001},
        {"instrument": "ES 12-26", "from": "yesterday"},
        {"instrument": "ES 12-26", "from": "2026-11-20T10:00:00Z", "to": "2026-11-20T09:00:00Z"},
        {"instrument": "ES 12-26", "daysBack": 0},
    ],
)
async def test_bad_bars_request_is_400(ct, body):
    response = await ct.client.post(BARS, headers=ct.auth(), json=body)
    assert response.status_code == 400, response.text
    assert response.json()["success"] is False


async def test_bars_of_an_unknown_instrument_is_404(ct):
    response = await bars(ct, instrument="ZZ 01-30")
    assert (response.status_code, response.json()["error"]) == (
        404,
        "Instrument 'ZZ 01-30' not found",
    )
