"""Monitors: evaluating 1,000 account monitors on every quote, and flattening on a breach.

Builds the server's container (``bootstrap``) on a fresh SQLite file: 1,000 netting accounts,
each long 1 ES (one market order each, filled and journaled) and one resting limit far below.
Then, in the same run:

- **floor**: N quotes pushed through the market (the venue's matching, the engine's
  protective levels, bars, the bus) with no monitor configured: quotes/s;
- **monitors on**: the same N quotes with a monitor on every account (loss threshold far
  away, unrealized P&L counted, a trailing drawdown watching): quotes/s, and the ratio
  (target: within 20 % of the floor);
- **breach**: one quote that breaches every monitor: from the push until every account's
  resting order is cancelled and its position closed, all of it journaled (the engine and
  the risk desk settled). Checked: every account flat, no working order, one ``Stop
  Monitor`` entry each.

    .venv/bin/python bench/monitors.py [--accounts 1000] [--quotes 2000] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ordergate.bootstrap import administration, bootstrap, close_administration, shutdown
from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.commands import PlaceOrder
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.monitor_settings import MonitorSettings
from ordergate.domain.orders import OrderType, Side, TimeInForce
from ordergate.domain.principal import Principal, Role
from ordergate.settings import Settings
from ordergate.store import sqlite_url
from ordergate.venue.base import Quote

ES = "ES 12-26"
TARGET_RATIO = 0.8
ADMIN = Principal(user_id=None, role=Role.ADMIN, name="bench")
D = Decimal


async def _seed(container: Any, accounts: int) -> list[Login]:
    owner = await container.users.add_user("bench", Role.TRADER, ("bench",))
    logins = [Login(10_000 + i) for i in range(accounts)]
    async with container.store.transaction() as tx:
        for login in logins:
            await tx.accounts.add(
                Account(
                    login=login,
                    name=f"B{login}",
                    owner_id=UserId(owner.id),
                    group="bench",
                    currency="USD",
                    balance=D(1_000_000),
                    leverage=100,
                    mode=PositionMode.NETTING,
                    enabled=True,
                )
            )
        await tx.commit()
    engine = container.engine
    for login in logins:
        for kind, price in ((OrderType.MARKET, None), (OrderType.LIMIT, D(5000))):
            await engine.place(
                ADMIN,
                PlaceOrder(
                    account=login,
                    symbol=ES,
                    side=Side.BUY,
                    type=kind,
                    quantity=D(1),
                    limit_price=price,
                    tif=TimeInForce.GTC,
                ),
            )
    await engine.settle()
    return logins


async def _quotes(container: Any, n: int) -> float:
    """Push ``n`` quotes between 6000 and 6002: quotes/s."""
    market = container.market
    now = container.clock.now()
    start = time.perf_counter()
    for i in range(n):
        bid = D(6000) + D(i % 9) * D("0.25")
        market.push(Quote(ES, bid, bid + D("0.25"), now))
    await container.engine.settle()
    return n / (time.perf_counter() - start)


async def run(accounts: int, quotes: int) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix="ordergate-bench-")
    settings = Settings(
        database_url=sqlite_url(os.path.join(folder, "bench.db")),
        market_source="none",
        rate_limit_enabled=False,
        sim_sessions="ignore",
    )
    admin = await administration(settings)
    async with admin.store.transaction() as tx:
        await tx.accounts.add_instrument(
            Instrument(ES, D("0.25"), D(50), 2, D(1), D(1000), D(1), description="E-mini S&P")
        )
        await tx.commit()
    await close_administration(admin)
    container = await bootstrap(settings)
    try:
        container.market.push(Quote(ES, D(6000), D("6000.25"), datetime.now(UTC)))
        logins = await _seed(container, accounts)
        await _quotes(container, 200)  # warm-up
        floor = await _quotes(container, quotes)
        watching = MonitorSettings.from_wire(
            {
                "enabled": True,
                "lossThreshold": "5000",
                "includeUnrealized": True,
                "trailingDrawdown": {"metric": "sessionPnl", "trigger": "1", "trail": "10000"},
            }
        )
        for login in logins:
            await container.risk.configure(ADMIN, login, watching)
        on = await _quotes(container, quotes)
        start = time.perf_counter()
        container.market.push(Quote(ES, D(5800), D("5800.25"), container.clock.now()))
        while True:
            await container.engine.settle()
            await container.risk.settle()
            if all(container.engine.state.open_count(lg) == 0 for lg in logins) and all(
                not container.engine.state.open_tickets(lg) for lg in logins
            ):
                break
            await asyncio.sleep(0.001)
        breach_ms = (time.perf_counter() - start) * 1000
        views = [await container.risk.view(ADMIN, lg) for lg in logins]
        stopped = sum(v.stopped_rule is not None for v in views)
        if stopped != accounts:
            raise SystemExit(f"only {stopped} of {accounts} monitors stopped")
    finally:
        await shutdown(container)
    return {
        "accounts": accounts,
        "quotes": quotes,
        "floor_quotes_per_s": round(floor),
        "monitors_quotes_per_s": round(on),
        "ratio": round(on / floor, 3),
        "target_ratio": TARGET_RATIO,
        "met": on / floor >= TARGET_RATIO,
        "breach_to_flat_ms": round(breach_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--quotes", type=int, default=2000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = asyncio.run(run(args.accounts, args.quotes))
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        return
    print(
        "| accounts | quotes/s, no monitors (floor) | quotes/s, monitors on | ratio | target"
        " | breach to all flat |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| {result['accounts']:,} | {result['floor_quotes_per_s']:,} |"
        f" {result['monitors_quotes_per_s']:,} | {result['ratio']:.2f} | ≥ {TARGET_RATIO} |"
        f" {result['breach_to_flat_ms']} ms |"
    )


if __name__ == "__main__":
    main()
