"""The crash suite's clients: the CrossTrade bulk cancel, and a stream of placements through
both dialects. Each records what the server acknowledged, and stops when the server dies."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from tests.resilience.harness import LOGIN, SYMBOL

__all__ = ["CANCEL", "PASSWORD", "Acked", "Stream", "sign_in"]

CANCEL = "/v1/api/accounts/Sim101/orders/cancel"
PLACE = "/v1/api/accounts/Sim101/orders/place"
QUOTE = "/v1/api/market/quote"
PASSWORD = "Crash1001pass"
TICK = Decimal("0.25")
TIMEOUT_S = 120


@dataclass
class Acked:
    """What the server acknowledged: CrossTrade order ids, ScaleTrade tickets, and the
    answers that were not acknowledgements (status and the start of the body)."""

    ids: set[str] = field(default_factory=set)
    tickets: set[int] = field(default_factory=set)
    refused: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.ids) + len(self.tickets)


async def sign_in(client: httpx.AsyncClient) -> str:
    """A ScaleTrade client session of login 1001 (its JWT)."""
    answer = await client.post("/sign/in", json={"login": LOGIN, "password": PASSWORD})
    answer.raise_for_status()
    return str(answer.json()["__token"])


def _decimal_json(response: httpx.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


class Stream:
    """``workers`` clients placing orders on login 1001 as fast as they are answered, through
    CrossTrade (market, and limit orders 0-3 ticks behind the quote) and ScaleTrade
    (/trade/open, and /trade/open/pending buy and sell limits), 1-20 lots each (the synthetic
    quotes show 1-50 lots a side, so with partial fills on some fill in parts), until the
    server stops answering. The synthetic feed moves the market, so limit orders fill too."""

    def __init__(self, base_url: str, token: str, seed: int, acked: Acked) -> None:
        self._base_url = base_url
        self._token = token
        self._seed = seed
        self.acked = acked
        self._quote: tuple[Decimal, Decimal] | None = None

    async def run(self, started: asyncio.Event, workers: int = 4) -> None:
        """Sign in, read the quote, set ``started`` and place orders until the server dies
        (every request then fails to connect)."""
        headers = {"Authorization": f"Bearer {self._token}"}
        async with httpx.AsyncClient(
            base_url=self._base_url, headers=headers, timeout=TIMEOUT_S, trust_env=False
        ) as client:
            try:
                jwt = await sign_in(client)
            except httpx.TransportError:
                return
            if not await self._poll_quote(client):
                return
            started.set()
            rngs = [random.Random(self._seed * 100 + i) for i in range(workers)]
            await asyncio.gather(self._poll(client), *(self._place(client, jwt, r) for r in rngs))

    async def _poll_quote(self, client: httpx.AsyncClient) -> bool:
        try:
            answer = await client.get(QUOTE, params={"instrument": SYMBOL})
        except httpx.TransportError:
            return False
        body = _decimal_json(answer)
        if body.get("bid") is not None:
            self._quote = (body["bid"], body["ask"])
        return True

    async def _poll(self, client: httpx.AsyncClient) -> None:
        while await self._poll_quote(client):
            await asyncio.sleep(0.05)

    async def _place(self, client: httpx.AsyncClient, jwt: str, rng: random.Random) -> None:
        while True:
            path, body, headers = self._request(jwt, rng)
            try:
                answer = await client.post(path, json=body, headers=headers)
            except httpx.TransportError:
                return
            self._record(path, answer)

    def _request(
        self, jwt: str, rng: random.Random
    ) -> tuple[str, dict[str, Any], dict[str, str] | None]:
        if self._quote is None:
            raise RuntimeError("the stream has no quote to place at")
        bid, ask = self._quote
        buy = rng.random() < 0.5
        lots = rng.randint(1, 20)
        behind = TICK * rng.randint(0, 3)
        price = bid - behind if buy else ask + behind
        kind = rng.randrange(4)
        if kind == 0:
            action = "Buy" if buy else "Sell"
            ct = {"instrument": SYMBOL, "action": action, "quantity": lots}
            return PLACE, {**ct, "orderType": "Market", "timeInForce": "Gtc"}, None
        if kind == 1:
            action = "Buy" if buy else "Sell"
            ct = {"instrument": SYMBOL, "action": action, "quantity": lots}
            limit = {"orderType": "Limit", "limitPrice": float(price), "timeInForce": "Gtc"}
            return PLACE, {**ct, **limit}, None
        st = {"login": LOGIN, "symbol": SYMBOL, "volume": lots * 100}
        if kind == 2:
            return "/trade/open", {**st, "cmd": 0 if buy else 1}, {"Authorization": jwt}
        pending = {**st, "cmd": 2 if buy else 3, "open_price": float(price)}
        return "/trade/open/pending", pending, {"Authorization": jwt}

    def _record(self, path: str, answer: httpx.Response) -> None:
        body: Any = None
        with contextlib.suppress(ValueError):
            body = answer.json()
        if answer.status_code == 200 and isinstance(body, dict):
            if path == PLACE and body.get("success") is True:
                self.acked.ids.add(body["orderId"])
                return
            if path != PLACE and body.get("accepted") is True:
                self.acked.tickets.add(int(body["order"]))
                return
        self.acked.refused[f"{path} {answer.status_code} {answer.text[:120]}"] += 1
