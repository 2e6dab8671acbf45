"""The pieces every webhook command is built of: an outcome per account, a CrossTrade
operation run as REST would run it, and relative prices made absolute."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from fastapi.exceptions import RequestValidationError

from ordergate.api.bodies import validate
from ordergate.api.crosstrade.errors import Unsuccessful
from ordergate.api.crosstrade.ops import OPERATIONS, Ctx
from ordergate.api.crosstrade.webhook_model import Alert, OrderType, PriceSpec, PriceUnit
from ordergate.api.errors import validation_summary
from ordergate.domain.errors import (
    AccountNotFound,
    DomainError,
    MaxPositions,
    PermissionDenied,
    PositionRequired,
)
from ordergate.domain.ids import UserId
from ordergate.store.alerts import AlertStatus

__all__ = [
    "Outcome",
    "blocked",
    "failed",
    "needed",
    "op",
    "place_args",
    "price",
    "refused",
    "user_of",
]

T = TypeVar("T")

_ORDER_TYPE = {
    OrderType.MARKET: "Market",
    OrderType.LIMIT: "Limit",
    OrderType.STOPMARKET: "StopMarket",
    OrderType.STOPLIMIT: "StopLimit",
}


@dataclass(slots=True)
class Outcome:
    """What an alert did in one account (or in none, for commands over all of them)."""

    account: str | None
    status: AlertStatus
    order_ids: list[str] = field(default_factory=list)
    error: str | None = None
    detail: str | None = None


def refused(account: str | None, exc: DomainError) -> Outcome:
    """A domain refusal as a failed outcome; someone else's account reads like an unknown
    one, as over REST."""
    if isinstance(exc, AccountNotFound | PermissionDenied):
        return failed(account, "ACCOUNT_NOT_FOUND", f"Account '{account}' not found")
    return failed(account, exc.code, exc.message)


def blocked(account: str | None, error: str, detail: str) -> Outcome:
    return Outcome(account, AlertStatus.BLOCKED, error=error, detail=detail)


def failed(account: str | None, error: str, detail: str) -> Outcome:
    return Outcome(account, AlertStatus.FAILED, error=error, detail=detail)


async def price(
    ctx: Ctx, symbol: str, spec: PriceSpec | None, base: Decimal | None = None
) -> Decimal | None:
    """``spec`` as a price: absolute as given, relative from ``base`` (default: the current
    price, the last trade else the mid), rounded to the tick."""
    if spec is None:
        return None
    if spec.is_absolute:
        return spec.value
    instrument = await ctx.engine.instrument(symbol)
    if base is None:
        quote = ctx.container.venue.quote(symbol)
        if quote is None:
            raise DomainError(f"no quote for {symbol}: a relative price needs one")
        base = quote.last if quote.last is not None else (quote.bid + quote.ask) / 2
    offsets = {
        PriceUnit.TICKS: spec.value * instrument.tick_size,
        PriceUnit.PERCENT: base * spec.value / 100,
        PriceUnit.POINTS: spec.value,
        PriceUnit.DOLLARS: spec.value / instrument.point_value,
    }
    raw = base + offsets[spec.unit]
    ticks = (raw / instrument.tick_size).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return ticks * instrument.tick_size


async def place_args(ctx: Ctx, alert: Alert, account: str, symbol: str) -> dict[str, Any]:
    args: dict[str, Any] = {
        "account": account,
        "instrument": symbol,
        "action": None if alert.action is None else alert.action.value,
        "quantity": alert.qty,
        "orderType": None if alert.order_type is None else _ORDER_TYPE[alert.order_type],
        "timeInForce": None if alert.tif is None else alert.tif.value,
        "limitPrice": await price(ctx, symbol, alert.limit_price),
        "stopPrice": await price(ctx, symbol, alert.stop_price),
        "ocoId": alert.oco_id,
        "orderId": alert.order_id,
        "maxPositions": alert.max_positions,
    }
    if alert.require_market_position is not None:
        args["requireMarketPosition"] = ",".join(
            sorted(p.value for p in alert.require_market_position)
        )
    return {k: v for k, v in args.items() if v is not None}


def order_ids(data: dict[str, Any]) -> list[str]:
    ids: list[str] = []
    for key in ("orderId", "orderIds", "closingOrderIds", "takeProfitOrderId", "stopLossOrderId"):
        value = data.get(key)
        for one in value if isinstance(value, list) else [value]:
            if isinstance(one, str) and one not in ids:
                ids.append(one)
    return ids


async def op(ctx: Ctx, account: str | None, name: str, args: dict[str, Any]) -> Outcome:
    """Run CrossTrade operation ``name``: Success with the order ids it names, or why not."""
    op = OPERATIONS[name]
    try:
        data = await op.handler(ctx, validate(op.args, args, "alert"))
    except Unsuccessful as exc:
        body = exc.body
        outcome = failed(account, str(body.get("code", "REFUSED")), str(body.get("error")))
        outcome.order_ids = order_ids(body)
        return outcome
    except (PositionRequired, MaxPositions) as exc:
        return blocked(account, exc.code, exc.message)
    except DomainError as exc:
        return refused(account if account is not None else args.get("account"), exc)
    except RequestValidationError as exc:
        return failed(account, "INVALID_ALERT", validation_summary(exc))
    status = AlertStatus.SUCCESS if data.get("success", True) else AlertStatus.FAILED
    outcome = Outcome(account, status, order_ids(data))
    if status is AlertStatus.FAILED:
        outcome.error = str(data.get("code", "INCOMPLETE"))
        outcome.detail = str(data.get("error", ""))
    return outcome


def user_of(ctx: Ctx) -> UserId:
    user = ctx.principal.user_id
    if user is None:  # webhooks run as the user whose key they carry
        raise DomainError("a webhook runs as a user")
    return user


def needed(value: T | None, name: str) -> T:
    """``value``, required by the command; upstream's text when it is missing."""
    if value is None:
        raise DomainError(f"Check message format, missing required field: {name.upper()}")
    return value
