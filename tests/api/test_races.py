"""Races: clients of both dialects place, change, cancel one, cancel in bulk, close and flatten
on the same account while the market moves and fills, and the venue takes its time. Whatever
interleaving happens, every answer is a success or a refusal in the dialect's form (never a
5xx), and at the end the stored state keeps every invariant: no order both filled and
cancelled, fills add up, tickets equal fills, the book equals the resting orders.

``ORDERGATE_RACE_SECONDS`` makes the storm longer (default 2 s per database).
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ordergate.domain.ids import Login
from ordergate.domain.orders import OrderStatus
from ordergate.venue.base import Quote
from tests.api.crosstrade.conftest import ct
from tests.api.scaletrade.conftest import St, _cheap_argon2, st
from tests.invariants import violations

__all__ = ["_cheap_argon2", "ct", "st"]  # fixtures from the dialects' conftests

D = Decimal
SECONDS = float(os.environ.get("ORDERGATE_RACE_SECONDS", "2"))
CT = "/v1/api/accounts/Sim101"
SYMBOL = "ES 12-26"
TICK = D("0.25")


class Storm:
    """The clients' shared view: a deadline, the answers seen, and the tickets placed."""

    def __init__(self, st: St, seed: int) -> None:
        self.st = st
        self.rng = random.Random(seed)
        self.until = time.monotonic() + SECONDS
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.bad: list[str] = []
        self.ct_ids: list[str] = []
        self.tickets: list[int] = []
        self.mid = D("6000.00")

    @property
    def running(self) -> bool:
        return time.monotonic() < self.until

    def price(self, away: int) -> Decimal:
        return self.mid + away * TICK

    def seen(self, who: str, answer: httpx.Response) -> Any:
        """Record ``answer``; a 5xx or an error outside the dialect's form is a failure."""
        self.statuses[(who, answer.status_code)] += 1
        body = answer.json()
        if answer.status_code >= 500:
            self.bad.append(f"{who}: {answer.status_code} {answer.text[:200]}")
        elif answer.status_code >= 400 and not _in_form(who, answer.status_code, body):
            self.bad.append(f"{who}: {answer.status_code} not in its dialect's form: {body}")
        return body


def _in_form(who: str, status: int, body: Any) -> bool:
    if who.startswith("ct"):
        return body.get("success") is False or set(body) >= {"error"}
    if status in (207, 409) and "failures" in body:
        return True
    return isinstance(body, dict) and set(body) >= {"error", "message"}


async def crosstrade_client(storm: Storm) -> None:
    client, auth = storm.st.server.client, storm.st.server.auth()
    rng = storm.rng
    while storm.running:
        roll = rng.random()
        if roll < 0.45:
            kind = rng.choice(["Limit", "Market", "StopMarket"])
            body: dict[str, Any] = {
                "instrument": SYMBOL,
                "action": rng.choice(["Buy", "Sell"]),
                "quantity": rng.randint(1, 3),
                "orderType": kind,
                "timeInForce": "Gtc",
            }
            if kind == "Limit":
                body["limitPrice"] = float(storm.price(rng.randint(-4, 4)))
            if kind == "StopMarket":
                away = rng.randint(2, 6)
                body["stopPrice"] = float(storm.price(away if body["action"] == "Buy" else -away))
            answer = await client.post(f"{CT}/orders/place", json=body, headers=auth)
            found = storm.seen("ct place", answer)
            if answer.status_code == 200:
                storm.ct_ids.append(found["orderId"])
        elif roll < 0.6 and storm.ct_ids:
            order = rng.choice(storm.ct_ids)
            answer = await client.post(f"{CT}/orders/{order}/cancel", json={}, headers=auth)
            storm.seen("ct cancel", answer)
        elif roll < 0.72 and storm.ct_ids:
            order = rng.choice(storm.ct_ids)
            change = {"limitPrice": float(storm.price(rng.randint(-4, 4)))}
            answer = await client.post(f"{CT}/orders/{order}/change", json=change, headers=auth)
            storm.seen("ct change", answer)
        elif roll < 0.84:
            answer = await client.post(f"{CT}/orders/cancel", json={}, headers=auth)
            storm.seen("ct bulk cancel", answer)
        else:
            answer = await client.post(
                f"{CT}/positions/flatten", json={"instrument": SYMBOL}, headers=auth
            )
            storm.seen("ct flatten", answer)
        await asyncio.sleep(0)


async def scaletrade_client(storm: Storm) -> None:
    st, rng = storm.st, storm.rng
    while storm.running:
        roll = rng.random()
        if roll < 0.4:
            cmd = rng.choice([0, 1, 2, 3])
            body: dict[str, Any] = {"login": 1001, "cmd": cmd, "volume": 100, "symbol": SYMBOL}
            if cmd in (2, 3):
                away = rng.randint(0, 4)
                body["open_price"] = float(storm.price(-away if cmd == 2 else away))
            path = "/trade/open" if cmd < 2 else "/trade/open/pending"
            answer = await st.call("POST", path, body)
            found = storm.seen("st open", answer)
            if answer.status_code == 200:
                storm.tickets.append(found["order"])
        elif roll < 0.55 and storm.tickets:
            answer = await st.call("DELETE", "/trade/cancel", {"order": rng.choice(storm.tickets)})
            storm.seen("st cancel", answer)
        elif roll < 0.65 and storm.tickets:
            change = {"order": rng.choice(storm.tickets), "open_price": float(storm.price(-3))}
            answer = await st.call("PUT", "/trade/modify/pending", change)
            storm.seen("st modify", answer)
        elif roll < 0.75 and storm.tickets:
            answer = await st.call("DELETE", "/trade/close", {"order": rng.choice(storm.tickets)})
            storm.seen("st close", answer)
        elif roll < 0.88:
            answer = await st.call("DELETE", "/trade/cancel/group", {"login": 1001})
            storm.seen("st cancel group", answer)
        else:
            answer = await st.call("DELETE", "/trade/close/group", {"login": 1001, "type": 0})
            storm.seen("st close group", answer)
        await asyncio.sleep(0)


async def market(storm: Storm) -> None:
    """A random walk, a tick or two every few milliseconds: resting orders fill, stops
    trigger, and fills race the cancels. The server's (manual) clock moves as the market
    does, so the venue's delays fall due while the clients trade."""
    server = storm.st.server
    container = server.container
    while storm.running:
        storm.mid += storm.rng.choice([-2, -1, 0, 1, 2]) * TICK
        quote = Quote(SYMBOL, storm.mid, storm.mid + TICK, container.clock.now())
        container.market.push(quote)
        server.clock.advance(timedelta(seconds=0.003))
        await asyncio.sleep(0.003)


@pytest.mark.parametrize("seed", [1, 2])
async def test_both_dialects_racing_on_one_account_keep_every_invariant(st: St, seed: int) -> None:
    container = st.server.container
    # A venue that takes its time: acknowledgements, fills and cancels all lag, so requests
    # meet orders still submitted, fills in flight and cancels pending.
    container.venue.config.set(ack_delay_ms=3, fill_delay_ms=4, cancel_delay_ms=3)
    storm = Storm(st, seed)
    workers: list[Callable[[Storm], Awaitable[None]]] = [
        crosstrade_client,
        crosstrade_client,
        scaletrade_client,
        scaletrade_client,
        market,
    ]

    await asyncio.gather(*(work(storm) for work in workers))
    container.venue.config.set(ack_delay_ms=0, fill_delay_ms=0, cancel_delay_ms=0)
    await st.server.advance(1)  # past every delay still owed

    assert storm.bad == []
    assert await violations(container.store, container.venue) == []
    done = {who for who, status in storm.statuses if status < 300}
    assert {"ct place", "st open"} <= done, storm.statuses  # the storm did trade
    left = container.engine.state.open_orders(Login(1001))
    stuck = [o for o in left if o.status is OrderStatus.SUBMITTED]
    assert stuck == [], [(o.key, o.type, o.side, o.closes_ticket, o.comment) for o in stuck]
