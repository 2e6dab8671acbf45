"""The venue's faults through the admin API: read, set venue-wide and per instrument, cleared,
refused whole when a value is bad, admins only; and what they do to orders placed and
cancelled through CrossTrade. Every answer is held against its documented schema (the test
server's client carries ``conformance_hook``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import shutdown
from tests.api.crosstrade.conftest import Server, start

ES = "ES 12-26"
#: Closed by the server's settings (``sim_closed``): what clearing every fault brings back.
NQ = "NQ 12-26"

HONEST = {
    "ack_delay_ms": 0,
    "fill_delay_ms": 0,
    "cancel_delay_ms": 0,
    "cancel_refusal_pct": 0,
    "partial_fills": False,
    "market_closed": False,
}
STARTED = {
    "sessions": "ignore",
    "venue": HONEST,
    "symbols": {NQ: {**HONEST, "market_closed": True}},
}


@pytest.fixture
async def server(db_url: str, store: Any) -> AsyncIterator[Server]:
    built = await start(db_url, sim_closed=[NQ], sim_sessions="ignore")
    yield built
    await built.client.aclose()
    await shutdown(built.container)


@pytest.fixture
def admin(server: Server) -> dict[str, str]:
    return server.auth(server.admin_token)


async def faults(server: Server) -> Any:
    response = await server.client.get("/admin/faults", headers=server.auth(server.admin_token))
    assert response.status_code == 200, response.text
    return response.json()


async def set_faults(server: Server, **body: Any) -> httpx.Response:
    headers = server.auth(server.admin_token)
    return await server.client.put("/admin/faults", json=body, headers=headers)


async def place(server: Server, symbol: str = ES) -> httpx.Response:
    body = {
        "instrument": symbol,
        "action": "BUY",
        "quantity": 1,
        "orderType": "LIMIT",
        "limitPrice": "5990",
        "timeInForce": "GTC",
    }
    path = "/v1/api/accounts/Sim101/orders/place"
    return await server.client.post(path, json=body, headers=server.auth())


async def working_order(server: Server) -> str:
    placed = await place(server)
    assert placed.status_code == 200, placed.text
    await server.container.engine.settle()
    order_id: str = placed.json()["orderId"]
    assert await status(server, order_id) == "Working"
    return order_id


async def cancel(server: Server, order_id: str) -> httpx.Response:
    path = f"/v1/api/accounts/Sim101/orders/{order_id}/cancel"
    answer = await server.client.post(path, json={}, headers=server.auth())
    await server.container.engine.settle()
    return answer


async def status(server: Server, order_id: str) -> str:
    path = f"/v1/api/accounts/Sim101/orders/{order_id}/status"
    answer = await server.client.get(path, headers=server.auth())
    assert answer.status_code == 200, answer.text
    state: str = answer.json()["status"]
    return state


# -- reading and setting ---------------------------------------------------------------------


async def test_the_faults_start_as_the_settings_say(server: Server) -> None:
    assert await faults(server) == STARTED


async def test_an_override_starts_from_the_venue_rules_and_keeps_what_is_left_out(
    server: Server,
) -> None:
    venue = await set_faults(server, ack_delay_ms=250)
    assert venue.status_code == 200, venue.text
    assert venue.json()["venue"] == {**HONEST, "ack_delay_ms": 250}

    await set_faults(server, symbol=ES, cancel_refusal_pct=50)
    answer = await set_faults(server, symbol=ES, partial_fills=True, fill_delay_ms=None)

    assert answer.status_code == 200, answer.text
    want = {**HONEST, "ack_delay_ms": 250, "cancel_refusal_pct": 50, "partial_fills": True}
    assert answer.json()["symbols"][ES] == want
    assert answer.json() == await faults(server)
    rules = server.container.venue.config.rules(ES)
    assert (rules.ack_delay_ms, rules.cancel_refusal_pct, rules.partial_fills) == (250, 50, True)


async def test_an_instrument_with_an_override_no_longer_follows_the_venue_rules(
    server: Server,
) -> None:
    await set_faults(server, symbol=ES, cancel_delay_ms=100)
    answer = (await set_faults(server, market_closed=True)).json()
    assert answer["venue"]["market_closed"] is True
    assert answer["symbols"][ES]["market_closed"] is False


async def test_a_change_of_nothing_makes_no_override(server: Server) -> None:
    answer = await set_faults(server, symbol=ES)
    assert answer.status_code == 200
    assert answer.json() == STARTED


# -- clearing --------------------------------------------------------------------------------


async def test_clearing_a_symbol_drops_its_override_only(
    server: Server, admin: dict[str, str]
) -> None:
    await set_faults(server, ack_delay_ms=10)
    await set_faults(server, symbol=ES, market_closed=True)

    cleared = await server.client.delete("/admin/faults", params={"symbol": ES}, headers=admin)

    assert cleared.status_code == 200, cleared.text
    assert ES not in cleared.json()["symbols"]
    assert cleared.json()["venue"]["ack_delay_ms"] == 10
    assert server.container.venue.config.rules(ES).ack_delay_ms == 10
    again = await server.client.delete("/admin/faults", params={"symbol": ES}, headers=admin)
    assert again.json() == cleared.json()


async def test_clearing_everything_brings_back_the_settings_rules(
    server: Server, admin: dict[str, str]
) -> None:
    await set_faults(server, ack_delay_ms=10, cancel_refusal_pct=100)
    await set_faults(server, symbol=ES, market_closed=True)
    await set_faults(server, symbol=NQ, market_closed=False)

    cleared = await server.client.delete("/admin/faults", headers=admin)

    assert cleared.status_code == 200, cleared.text
    assert cleared.json() == STARTED
    assert await faults(server) == STARTED


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"ack_delay_ms": -1}, "body.ack_delay_ms"),
        ({"fill_delay_ms": 3_600_001}, "body.fill_delay_ms"),
        ({"cancel_delay_ms": 1.5}, "body.cancel_delay_ms"),
        ({"cancel_refusal_pct": 101}, "body.cancel_refusal_pct"),
        ({"cancel_refusal_pct": "50"}, "body.cancel_refusal_pct"),
        ({"partial_fills": "yes"}, "body.partial_fills"),
        ({"market_closed": 1}, "body.market_closed"),
        ({"symbol": ""}, "body.symbol"),
        ({"latency_ms": 5}, "body.latency_ms"),
        # One bad value refuses the whole change: the good one is not taken either.
        ({"symbol": ES, "ack_delay_ms": 5, "cancel_refusal_pct": -5}, "cancel_refusal_pct"),
    ],
)
async def test_a_bad_value_is_400_and_changes_nothing(
    server: Server, body: dict[str, Any], words: str
) -> None:
    await set_faults(server, symbol=ES, fill_delay_ms=7)
    before = await faults(server)

    answer = await set_faults(server, **body)

    assert answer.status_code == 400, answer.text
    assert answer.json()["error"] == "INVALID_INPUT"
    assert words in answer.json()["message"]
    assert await faults(server) == before


async def test_an_unknown_instrument_is_404_and_changes_nothing(
    server: Server, admin: dict[str, str]
) -> None:
    answer = await set_faults(server, symbol="XAUUSD", market_closed=True)
    assert answer.status_code == 404, answer.text
    assert answer.json() == {
        "error": "INSTRUMENT_NOT_FOUND",
        "message": "instrument XAUUSD not found",
    }
    assert await faults(server) == STARTED
    cleared = await server.client.delete(
        "/admin/faults", params={"symbol": "XAUUSD"}, headers=admin
    )
    assert cleared.status_code == 404


async def test_only_an_admin_may_see_or_set_faults(server: Server) -> None:
    for headers, status_code in (({}, 401), (server.auth(), 403)):
        requests = (
            server.client.get("/admin/faults", headers=headers),
            server.client.put("/admin/faults", json={"market_closed": True}, headers=headers),
            server.client.delete("/admin/faults", headers=headers),
        )
        for request in requests:
            answer = await request
            assert answer.status_code == status_code, answer.text
    assert await faults(server) == STARTED


# -- what faults do --------------------------------------------------------------------------


async def test_a_closed_market_refuses_placements_and_cancels_until_reopened(
    server: Server,
) -> None:
    order_id = await working_order(server)
    await set_faults(server, symbol=ES, market_closed=True)

    refused = await place(server)
    kept = await cancel(server, order_id)

    assert (refused.status_code, refused.json()["code"]) == (400, "MARKET_CLOSED")
    assert kept.json()["code"] == "MARKET_CLOSED"
    assert await status(server, order_id) == "Working"
    await set_faults(server, symbol=ES, market_closed=False)
    assert (await cancel(server, order_id)).json()["success"] is True
    assert await status(server, order_id) == "Cancelled"


async def test_a_busy_venue_refuses_every_cancel_until_cleared(
    server: Server, admin: dict[str, str]
) -> None:
    order_id = await working_order(server)
    await set_faults(server, symbol=ES, cancel_refusal_pct=100)

    await cancel(server, order_id)

    assert await status(server, order_id) == "Working"
    await server.client.delete("/admin/faults", params={"symbol": ES}, headers=admin)
    await cancel(server, order_id)
    assert await status(server, order_id) == "Cancelled"


async def test_an_acknowledgement_delay_holds_new_orders_on_the_server_clock(
    server: Server,
) -> None:
    await set_faults(server, ack_delay_ms=5000)
    placed = await place(server)
    await server.container.engine.settle()
    order_id = placed.json()["orderId"]
    assert await status(server, order_id) == "Submitted"

    await server.advance(5)

    assert await status(server, order_id) == "Working"
