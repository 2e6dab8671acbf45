"""Strategy synchronisation (``sync_strategy=true`` on PLACE; spec crosstrade-webhooks.md
5.13): the alert says where the TradingView strategy was before this signal
(``prev_market_position``) and where it is after (``market_position``); the account's real
position in the instrument is compared with it.

Our decision table (upstream's is not published):

- ``target_quantity`` given (resync): the account is brought to ``market_position`` with
  ``target_quantity`` contracts (flat: 0) by one market order for the difference, in place of
  the alert's own order; already there, nothing is placed. Resending the alert is harmless.
- otherwise, ``prev_market_position`` given and the account's position side differs from it:
  blocked (``STRATEGY_OUT_OF_SYNC``), nothing placed;
- otherwise the alert runs as sent (brackets, flatten_first and all).
"""

from __future__ import annotations

from decimal import Decimal

from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.webhook_model import Alert, MarketPosition
from ordergate.api.crosstrade.webhook_ops import Outcome, blocked, op
from ordergate.engine import compound
from ordergate.store.alerts import AlertStatus

__all__ = ["gate"]

_SIGN = {MarketPosition.LONG: 1, MarketPosition.FLAT: 0, MarketPosition.SHORT: -1}


async def gate(ctx: Ctx, alert: Alert, account: str, symbol: str) -> Outcome | None:
    """What PLACE with ``sync_strategy=true`` did in ``account`` instead of its own order
    (a resync, or blocked); None when the alert is to run as sent."""
    found = await ctx.engine.account(ctx.principal, account)
    held = await compound.position(ctx.engine, found, symbol)
    signed = Decimal(0) if held.side is None else held.quantity * held.side.sign
    now = (
        MarketPosition.FLAT
        if signed == 0
        else (MarketPosition.LONG if signed > 0 else MarketPosition.SHORT)
    )
    after = alert.market_position
    if alert.target_quantity is not None and after is not None:
        wanted = alert.target_quantity * _SIGN[after]
        difference = wanted - signed
        if difference == 0:
            return Outcome(account, AlertStatus.SUCCESS)
        args = {
            "account": account,
            "instrument": symbol,
            "action": "BUY" if difference > 0 else "SELL",
            "quantity": abs(difference),
            "orderType": "Market",
            "timeInForce": "DAY",
        }
        return await op(ctx, account, "PlaceOrder", args)
    before = alert.prev_market_position
    if before is not None and before is not now:
        detail = (
            f"strategy was {before.value}, account {account} is {now.value} in {symbol}: "
            "send target_quantity to resync"
        )
        return blocked(account, "STRATEGY_OUT_OF_SYNC", detail)
    return None
