"""A ScaleTrade server for the tests: the CrossTrade test server (accounts 1001 Sim101 and
1002 Sim102 of user demo, 2002 Other of user other) with sign-in passwords, a manager of
each group, an admin, and a signed-in session for each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from ordergate.auth import passwords
from ordergate.auth.jwt import JwtCodec
from ordergate.auth.secret import load_or_create_secret
from ordergate.domain.clock import Clock
from ordergate.domain.principal import Role
from tests.api.crosstrade.conftest import Server, ct, live

__all__ = ["FixedClock", "St", "ct", "live", "pending", "sign_in"]  # ct, live: fixtures used here

D = Decimal

PASSWORDS = {1001: "Sim101pass", 1002: "Sim102pass", 2002: "Otherpass"}
DESK = (900, "Desk900pass")  # manager of group demo (1001, 1002)
FAR = (901, "Far901pass")  # manager of group other (2002)
BOSS = (1, "Boss0001pass")  # admin


@dataclass(frozen=True)
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at


@dataclass
class St:
    server: Server
    tokens: dict[int, str]  # login -> session JWT

    @property
    def client(self) -> httpx.AsyncClient:
        return self.server.client

    def auth(self, login: int = 1001) -> dict[str, str]:
        return {"Authorization": self.tokens[login]}

    async def call(
        self, method: str, path: str, body: Any = None, *, login: int = 1001, **kw: Any
    ) -> httpx.Response:
        """``method path`` with a JSON body, as the session of ``login``."""
        headers = kw.pop("headers", None) or self.auth(login)
        if body is not None:
            kw["json"] = body
        return await self.client.request(method, path, headers=headers, **kw)

    async def codec(self, clock: Clock | None = None, secret: str | None = None) -> JwtCodec:
        """A codec with the server's secret (or ``secret``), e.g. to make expired tokens."""
        if secret is None:
            secret = await load_or_create_secret(self.server.container.store, None)
        return JwtCodec(secret, clock=clock)


async def sign_in(client: httpx.AsyncClient, login: int, password: str) -> httpx.Response:
    return await client.post("/sign/in", json={"login": login, "password": password})


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id, at its cheapest parameters: each test signs in several sessions, and
    the production cost (tens of ms per hash, more on a busy machine) would dominate."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )


@pytest.fixture
async def st(ct: Server) -> St:
    users = ct.container.users
    for login, password in PASSWORDS.items():
        await users.set_account_password(login, password)
    await users.add_user("desk", Role.MANAGER, ("demo",), DESK[1], DESK[0])
    await users.add_user("far", Role.MANAGER, ("other",), FAR[1], FAR[0])
    await users.add_user("boss", Role.ADMIN, (), BOSS[1], BOSS[0])
    tokens = {}
    for login, password in (*PASSWORDS.items(), DESK, FAR, BOSS):
        answer = await sign_in(ct.client, login, password)
        assert answer.status_code == 200, answer.text
        tokens[login] = answer.json()["__token"]
    ct.client.cookies.clear()  # each test names its session explicitly
    return St(ct, tokens)


async def pending(
    st: St,
    login: int = 1001,
    symbol: str = "EURUSD",
    cmd: int = 2,
    price: str = "1.09000",
    volume: int = 100,
    **extra: Any,
) -> int:
    """Place a pending order through ScaleTrade; its ticket."""
    body = {"login": login, "cmd": cmd, "volume": volume, "symbol": symbol}
    body["open_price"] = D(price)
    answer = await st.call("POST", "/trade/open/pending", _jsonable(body | extra), login=login)
    assert answer.status_code == 200, answer.text
    return int(answer.json()["order"])


def _jsonable(body: dict[str, Any]) -> dict[str, Any]:
    # httpx's json= cannot encode Decimal; a float is exact enough for these test prices.
    return {k: float(v) if isinstance(v, Decimal) else v for k, v in body.items()}
