"""Helpers for the ScaleTrade trade and query tests: trades through HTTP, ``/trades`` rows by
column, quotes, and tokens that must be refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ordergate.venue.base import Quote
from tests.api.scaletrade.conftest import FixedClock, St

D = Decimal

__all__ = [
    "bad_tokens",
    "market",
    "push",
    "record",
    "records",
    "trades",
]


async def market(
    st: St,
    login: int = 1001,
    cmd: int = 0,
    volume: int = 100,
    symbol: str = "EURUSD",
    *,
    settle: bool = True,
    **extra: Any,
) -> int:
    """Open a trade at the market through ScaleTrade (and let it fill): its ticket."""
    body = {"login": login, "cmd": cmd, "volume": volume, "symbol": symbol, **extra}
    answer = await st.call("POST", "/trade/open", body, login=login)
    assert answer.status_code == 200, answer.text
    if settle:
        await st.server.container.engine.settle()
    return int(answer.json()["order"])


def push(st: St, symbol: str, bid: str, ask: str) -> None:
    """A quote, as the market data fans it out: to the venue (matching) and the engine (SL/TP)."""
    container = st.server.container
    container.market.push(Quote(symbol, D(bid), D(ask), container.clock.now()))


async def trades(st: St, login: int = 1001, **params: Any) -> dict[str, Any]:
    """The body of ``GET /trades`` with ``params`` in the query string (filters as JSON)."""
    query = {k: json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in params.items()}
    answer = await st.call("GET", "/trades", params=query, login=login)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def records(st: St, login: int = 1001, trade_type: int = 0) -> list[dict[str, Any]]:
    """Every record ``GET /trades`` answers, each as {column: value}."""
    body = await trades(st, login, tradeType=trade_type, limit=1000)
    return [dict(zip(body["structure"], row, strict=True)) for row in body["rows"]]


async def record(
    st: St, ticket: int, login: int = 1001, trade_type: int = 0
) -> dict[str, Any] | None:
    """The one record of ``ticket`` (None if there is none; more than one fails)."""
    found = [r for r in await records(st, login, trade_type) if r["order"] == ticket]
    assert len(found) <= 1, found
    return found[0] if found else None


def _tamper(token: str) -> str:
    """``token`` with its payload changed to another login and the signature kept."""
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["login"] = 2002
    claims["sub"] = "login:2002"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


async def bad_tokens(st: St, login: int = 1001) -> dict[str, dict[str, str]]:
    """Headers that must each be answered 401: none, empty, expired, tampered, wrongly
    signed and not a JWT at all (for a session of ``login``)."""
    a_day_ago = FixedClock(datetime.now(UTC) - timedelta(days=1))
    expired = (await st.codec(clock=a_day_ago)).issue(login=login, session_type=0)
    foreign = (await st.codec(secret="x" * 40)).issue(login=login, session_type=0)
    return {
        "no token": {},
        "empty token": {"Authorization": ""},
        "expired": {"Authorization": expired},
        "tampered": {"Authorization": _tamper(st.tokens[login])},
        "wrongly signed": {"Authorization": foreign},
        "not a JWT": {"Authorization": "Bearer not-a-token"},
    }
