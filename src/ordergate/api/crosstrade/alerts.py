"""The Alert History as the caller reads it (GET /v1/api/alerts, rpc GetAlerts) and as the
WebSocket pushes it (``alertUpdate``): spec crosstrade-webhooks.md section 8.

Alerts belong to the user whose webhook received them: every caller, a manager or an admin
too, reads its own. The records come from the store (store/alerts.py) and the feed
(alert_feed.py); this module only filters and shows them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from fastapi import APIRouter
from pydantic import BeforeValidator, Field, WithJsonSchema
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.alert_feed import AlertSubscription
from ordergate.api.crosstrade.answers import AlertsAnswer
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import query_parameters_of, reply, responses
from ordergate.api.crosstrade.ops import Args, Ctx, operation, query_args, run
from ordergate.api.crosstrade.ws_streams import Send
from ordergate.api.openapi import DocumentedRoute, any_case
from ordergate.store.alerts import AlertRecord, AlertStatus, redact_key

__all__ = [
    "DEFAULT_ALERTS",
    "MAX_ALERTS",
    "AlertsArgs",
    "alert_out",
    "alert_update",
    "pump_alerts",
    "received_at",
    "router",
]

router = APIRouter(tags=["alerts"], route_class=DocumentedRoute)

DEFAULT_ALERTS: Final = 100
MAX_ALERTS: Final = 1000
_MAX_SINCE = 64
_SINCE_HELP = "since is an ISO 8601 time with its zone, e.g. 2026-02-03T15:04:05Z"
_OUTCOMES = {s.value.casefold(): s for s in AlertStatus}
_OUTCOME_HELP = f"outcome is one of {', '.join(s.value for s in AlertStatus)} (any case)"
# A query string's unescaped '+' arrives as a space: "…T15:04:05 01:00" meant "+01:00".
_PLUS_AS_SPACE = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")


def _since(raw: object) -> datetime | None:
    """``since`` in UTC. Before the year 1 in UTC: None (no bound); after 9999: the last
    moment there is (nothing is that new)."""
    if raw is None:
        return None
    if not isinstance(raw, str) or len(raw) > _MAX_SINCE:
        raise ValueError(_SINCE_HELP)
    text = _PLUS_AS_SPACE.sub(r"+\1", raw.strip()).upper()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_SINCE_HELP) from None
    if at.tzinfo is None:
        raise ValueError(f"since needs its time zone (Z or +hh:mm); {_SINCE_HELP}")
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return None if at.year == 1 else datetime.max.replace(tzinfo=UTC)


def _outcome(raw: object) -> AlertStatus | None:
    if raw is None:
        return None
    status = _OUTCOMES.get(raw.strip().casefold()) if isinstance(raw, str) else None
    if status is None:
        raise ValueError(_OUTCOME_HELP)
    return status


Since = Annotated[
    datetime | None,
    BeforeValidator(_since),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": _MAX_SINCE}),
]
Outcome = Annotated[
    AlertStatus | None,
    BeforeValidator(_outcome),
    WithJsonSchema({"type": "string", "pattern": any_case(*(s.value for s in AlertStatus))}),
]


class AlertsArgs(Args):
    since: Since = Field(
        default=None,
        description="Only alerts received at or after this time (ISO 8601 with its zone)",
    )
    outcome: Outcome = Field(
        default=None, description="Only alerts with this status: Success, Blocked, Failed, Pending"
    )
    limit: int = Field(
        default=DEFAULT_ALERTS,
        ge=1,
        le=MAX_ALERTS,
        description=f"The newest N (default {DEFAULT_ALERTS}, at most {MAX_ALERTS})",
    )


def received_at(at: datetime) -> str:
    """A time as the Alert History shows it: UTC, milliseconds, ``Z``."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def alert_out(record: AlertRecord) -> dict[str, Any]:
    """One alert as the Alert History shows it. The store keeps the payload with its key
    redacted; a record pushed before or without the store is redacted here alike."""
    return {
        "alertId": record.alert_id,
        "receivedAt": received_at(record.received_at),
        "latencyMs": record.latency_ms,
        "status": AlertStatus(record.status).value,
        "multiAccountId": record.multi_account_id,
        "accounts": list(record.accounts),
        "command": record.command,
        "raw": redact_key(record.raw),
        "fields": {k: "***" if k.casefold() == "key" else v for k, v in record.fields.items()},
        "error": record.error,
        "detail": record.detail,
        "warnings": list(record.warnings),
        "orderIds": list(record.order_ids),
    }


def alert_update(record: AlertRecord) -> dict[str, Any]:
    """The WebSocket frame of an alert received or finished."""
    return {"type": "alertUpdate", "alert": alert_out(record)}


async def pump_alerts(sub: AlertSubscription, send: Send) -> None:
    """``alertUpdate`` frames of the subscription's user, each preceded, when the connection
    read too slowly and lost some, by a ``lagged`` notice."""
    async for record in sub:
        missed = sub.take_missed()
        if missed:
            message = (
                f"missed {missed} alert updates because this connection read too slowly; "
                "resync with GetAlerts"
            )
            await send({"type": "lagged", "stream": "alerts", "missed": missed, "message": message})
        await send(alert_update(record))


@operation("GetAlerts", AlertsArgs)
async def get_alerts(ctx: Ctx, args: AlertsArgs) -> dict[str, Any]:
    user = ctx.principal.user_id
    found = (
        []
        if user is None
        else await ctx.container.alert_history.list(
            user, since=args.since, status=args.outcome, limit=args.limit
        )
    )
    return {"alerts": [alert_out(r) for r in found], "success": True}


_ALERT = {
    "alertId": "al_5f0c6e2a9d4b1c7e8f3a2b10",
    "receivedAt": "2026-02-03T15:04:05.123Z",
    "latencyMs": 84,
    "status": "Failed",
    "multiAccountId": "ma_77",
    "accounts": ["Sim101"],
    "command": "PLACE",
    "raw": "key=***; command=place; account=Sim101; instrument=MNQ 03-27; action=buy; qty=2",
    "fields": {"account": "Sim101", "instrument": "MNQ 03-27", "action": "buy", "qty": "2"},
    "error": "require_market_position",
    "detail": "position is long, flat required",
    "warnings": ["unknown field foo ignored"],
    "orderIds": [],
}


@router.get(
    "/alerts",
    summary="The caller's Alert History",
    description=(
        "The webhook alerts received for the caller's own webhook (TradingView alerts and "
        "other senders), newest first: each with its receipt time (UTC, milliseconds), "
        "how long handling it took (latencyMs; null while Pending), status (Success; "
        "Blocked: refused before routing by a kill switch, trade window, rate limit or "
        "position rule; Failed; Pending: delayed, updated when it finishes), the accounts "
        "it named, the command, the payload as sent with its key redacted (at most 8 KiB), "
        "the parsed fields, error (a stable code) and detail, warnings, and the ids of the "
        "orders it placed. multiAccountId ties together the records of one alert sent to "
        "several accounts. Alerts belong to the user that sent them: a manager or admin "
        "sees its own here, never another user's. Filters: since (ISO 8601 with its zone), "
        "outcome (a status, any case), limit (1-1000, default 100). Over the WebSocket, "
        "each alert of the user is also pushed as it is received or finished (alertUpdate)."
    ),
    openapi_extra=query_parameters_of(AlertsArgs),
    responses=responses(AlertsAnswer, {"alerts": [_ALERT], "success": True}, 400, 401, 429),
)
async def alerts_route(request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetAlerts", query_args(request, AlertsArgs)))
