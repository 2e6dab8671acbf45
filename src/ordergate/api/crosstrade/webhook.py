"""The TradingView webhook: ``POST /v1/send/{webhookId}``, CrossTrade's text alerts.

Order of evaluation (the spec's, §5.15): the webhook id and the payload's ``key`` (the same
API token as the Bearer token, of the same user) → the user's request budget (429) → parse
(400 naming the first bad field) → a kill-switch message, or the kill switch blocking the
alert → ``delay`` (answered at once as Pending, finished in the background on the engine's
clock) → one run per account (``account=A,B``): rate limit, trading window, position rules,
the command. Every alert that names a known webhook is recorded in the Alert History (the
key redacted), pushed to the user's WebSockets, and answered with a JSON summary; a refusal
changes nothing. An unknown webhook id and a wrong key are the same 401.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import AlertAnswer, AlertRefused, CrossTradeError
from ordergate.api.crosstrade.context import check_rate, limiter_of
from ordergate.api.crosstrade.ops import Ctx
from ordergate.api.crosstrade.webhook_model import Alert, AlertError
from ordergate.api.crosstrade.webhook_parse import parse_alert
from ordergate.api.crosstrade.webhook_run import (
    Outcome,
    RateLimits,
    blocked,
    run_for_account,
    sleep_on_clock,
)
from ordergate.api.crosstrade.webhook_text import read_pairs, redacted
from ordergate.api.crosstrade.wire import CrossTradeJson
from ordergate.api.deps import container_of
from ordergate.api.openapi import DocumentedRoute
from ordergate.auth.webhooks import Webhooks
from ordergate.bootstrap import Container
from ordergate.domain.errors import AuthError
from ordergate.domain.ids import UserId
from ordergate.domain.principal import Principal
from ordergate.store.alerts import AlertRecord, AlertStatus, SqlAlertHistory, new_alert_id

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(tags=["webhooks"], route_class=DocumentedRoute)

#: The delayed alerts still running (kept from the garbage collector until they end).
_RUNNING: set[asyncio.Task[Any]] = set()
_KEY_TEXT = re.compile(r"(?i)(?<![a-z0-9_])\"?key\"?\s*[=:]\s*\"?([^;\"\s,}]+)")

_UNAUTHORIZED = {
    "success": False,
    "error": "Unauthorized: unknown webhook or wrong key",
    "code": "UNAUTHENTICATED",
}


def _key_of(body: bytes, content_type: str | None) -> str | None:
    """The payload's key, read before the rest is validated (a malformed alert is still
    told apart from a stranger's only once its key is known)."""
    try:
        pairs = read_pairs(body, content_type)
    except AlertError:
        found = _KEY_TEXT.search(body.decode(errors="replace"))
        return None if found is None else found[1]
    return next((value for name, value in pairs if name == "key"), None)


def _hooks(container: Container) -> Webhooks:
    return Webhooks(container.users, container.clock, cache_seconds=container.settings.auth_cache_s)


async def _caller(
    container: Container, webhook_id: str, key: str | None
) -> tuple[Principal, UserId] | None:
    """The user of ``webhook_id`` (and its id) if ``key`` is one of that user's tokens."""
    owner = await _hooks(container).user_for_webhook(webhook_id)
    if owner is None or owner.user_id is None or key is None:
        return None
    try:
        holder = await container.users.authenticate_token(key)
    except AuthError:
        return None
    return (owner, UserId(owner.user_id)) if holder.user_id == owner.user_id else None


def _record(
    user: UserId,
    received: datetime,
    sender: str,
    raw: str,
    alert: Alert | None,
    outcome: Outcome,
    **extra: Any,
) -> AlertRecord:
    return AlertRecord(
        alert_id=new_alert_id(),
        user_id=user,
        received_at=received,
        sender=sender,
        status=outcome.status,
        raw=raw,
        command=None if alert is None or alert.command is None else alert.command.value,
        accounts=() if outcome.account is None else (outcome.account,),
        fields=dict(alert.fields) if alert is not None else {},
        error=outcome.error,
        detail=outcome.detail,
        warnings=alert.warnings if alert is not None else (),
        order_ids=tuple(outcome.order_ids),
        **extra,
    )


@router.post(
    "/v1/send/{webhookId}",
    operation_id="SendAlert",
    summary="A TradingView alert (CrossTrade webhook text command)",
    description=(
        "The body is the alert's message as TradingView sends it (`text/plain`): "
        "`key=<token>; command=PLACE; account=Sim101; instrument=ES1!; action=BUY; qty=1; "
        "order_type=MARKET; tif=DAY;` (one line or many, a missing final `;` tolerated); a "
        "JSON object with the same fields is accepted too. `key` is one of the user's API "
        "tokens. 200 with the outcome (Success, Blocked, Failed or Pending for a delayed "
        "alert) and the resulting order ids; 400 naming the first bad field; 401 for an "
        "unknown webhook or a wrong key alike; 429 from the user's request budget. Every "
        "alert is in the Alert History (GET /v1/api/alerts)."
    ),
    responses={
        200: {"description": "The alert's outcome", "model": AlertAnswer},
        400: {"description": "A malformed alert: the first bad field", "model": AlertRefused},
        401: {"description": "Unknown webhook or wrong key", "model": CrossTradeError},
        429: {"description": "The user's request budget is spent", "model": CrossTradeError},
    },
)
async def send(webhookId: str, request: Request) -> Response:
    container = container_of(request)
    received = container.clock.now()
    body = await request.body()
    content_type = request.headers.get("content-type")
    found = await _caller(container, webhookId, _key_of(body, content_type))
    if found is None:
        return CrossTradeJson(_UNAUTHORIZED, status_code=401)
    principal, user = found
    try:
        check_rate(limiter_of(request), principal)
    except HTTPException as exc:
        return CrossTradeJson(
            {"success": False, "error": "Rate limit exceeded", "code": "RATE_LIMITED"},
            status_code=429,
            headers=exc.headers,
        )
    sender = request.client.host if request.client is not None else ""
    raw = redacted(body)
    history = container.alert_history
    try:
        alert = parse_alert(body, content_type)
    except AlertError as exc:
        outcome = Outcome(None, AlertStatus.FAILED, error="INVALID_ALERT", detail=exc.message)
        record = _record(user, received, sender, raw, None, outcome)
        await _keep(container, history, record)
        answer = {"success": False, "error": exc.message, "code": "INVALID_ALERT"}
        return CrossTradeJson({**answer, "field": exc.field, "alertId": record.alert_id}, 400)
    ctx = Ctx(container, principal)
    limits: RateLimits = request.app.state.webhook_limits
    if alert.kill_switch is not None and alert.command is None:
        await container.risk.set_kill_switch(principal, alert.kill_switch)
        outcome = Outcome(None, AlertStatus.SUCCESS)
        record = _record(user, received, sender, raw, alert, outcome)
        await _keep(container, history, record)
        return _answer([record], alert, killSwitch="on" if alert.kill_switch else "off")
    if container.risk.user_killed(user):
        outcome = blocked(None, "KILL_SWITCH", "the kill switch is on: every alert is blocked")
        record = _record(user, received, sender, raw, alert, outcome)
        await _keep(container, history, record)
        return _answer([record], alert)
    if alert.delay:
        pending = _record(user, received, sender, raw, alert, Outcome(None, AlertStatus.PENDING))
        await _keep(container, history, pending)
        receipt = (received, sender, raw)
        task = asyncio.create_task(
            _later(ctx, limits, user, history, alert, alert.delay, pending, receipt)
        )
        _RUNNING.add(task)
        task.add_done_callback(_RUNNING.discard)
        return _answer([pending], alert)
    records = await _run(ctx, limits, user, history, alert, (received, sender, raw))
    return _answer(records, alert)


#: When an alert came, from whom, and its payload with the key redacted.
Receipt = tuple[datetime, str, str]


async def _later(
    ctx: Ctx,
    limits: RateLimits,
    user: UserId,
    history: SqlAlertHistory,
    alert: Alert,
    delay: Decimal,
    pending: AlertRecord,
    receipt: Receipt,
) -> None:
    """A delayed alert: wait on the engine's clock, run it, and complete its record."""
    try:
        await sleep_on_clock(ctx, delay)
        records = await _run(ctx, limits, user, history, alert, receipt, parent=pending)
        last = records[0]
        done = await history.update(
            pending.alert_id,
            status=last.status,
            order_ids=last.order_ids,
            error=last.error,
            detail=last.detail,
            latency_ms=last.latency_ms,
        )
        if done is not None:
            ctx.container.alerts.publish(done)
    except Exception:
        log.exception("a delayed alert failed")
        await history.update(pending.alert_id, status=AlertStatus.FAILED, error="INTERNAL_ERROR")


async def _run(
    ctx: Ctx,
    limits: RateLimits,
    user: UserId,
    history: SqlAlertHistory,
    alert: Alert,
    receipt: Receipt,
    parent: AlertRecord | None = None,
) -> list[AlertRecord]:
    """Run the alert once per account; its records (a parent first when several)."""
    received, sender, raw = receipt
    accounts: list[str | None] = list(dict.fromkeys(alert.accounts)) or [None]
    outcomes = []
    for account in accounts:
        limited = alert.rate_limit
        if limited is not None:
            key, now = limited.id, ctx.container.clock.now()
            if not limits.take(user, key, limited.count, limited.seconds, now):
                detail = f"rate_limit {limited.count}/{limited.seconds}s for id {key} reached"
                outcomes.append(blocked(account, "RATE_LIMITED", detail))
                continue
        outcomes.append(await run_for_account(ctx, alert, account))
    latency = _ms(ctx.container.clock.now() - received)
    if len(outcomes) == 1:
        record = _record(user, received, sender, raw, alert, outcomes[0], latency_ms=latency)
        if parent is None:
            await _keep(ctx.container, history, record)
        return [record]
    group = f"ma_{secrets.token_hex(8)}"
    clones = [
        _record(user, received, sender, raw, alert, o, latency_ms=latency, multi_account_id=group)
        for o in outcomes
    ]
    worst = next((o for o in outcomes if o.status is not AlertStatus.SUCCESS), None)
    summary = Outcome(
        None,
        AlertStatus.SUCCESS if worst is None else AlertStatus.FAILED,
        [i for o in outcomes for i in o.order_ids],
        None if worst is None else worst.error,
        None if worst is None else f"{worst.account}: {worst.detail}",
    )
    head = _record(
        user, received, sender, raw, alert, summary, latency_ms=latency, multi_account_id=group
    )
    head = replace(head, accounts=tuple(a for a in accounts if a is not None))
    if parent is None:
        await _keep(ctx.container, history, head)
    for clone in clones:
        await _keep(ctx.container, history, clone, count=False)
    return [head, *clones]


def _ms(elapsed: Any) -> int:
    return int(elapsed.total_seconds() * 1000)


async def _keep(
    container: Container, history: SqlAlertHistory, record: AlertRecord, *, count: bool = True
) -> None:
    """Store ``record`` and push it, as stored, to the user's WebSockets; ``count`` it in the
    metrics unless it is one account's part of a multi-account alert."""
    container.alerts.publish(await history.append(record))
    if count:
        container.metrics.webhook_alert(record.status.value)


def _answer(records: list[AlertRecord], alert: Alert, **extra: Any) -> Response:
    head = records[0]
    body: dict[str, Any] = {
        "success": head.status is AlertStatus.SUCCESS or head.status is AlertStatus.PENDING,
        "alertId": head.alert_id,
        "status": head.status.value,
        "command": head.command,
        "accounts": list(head.accounts),
        "orderIds": list(head.order_ids),
        "warnings": list(alert.warnings),
        **extra,
    }
    if head.error is not None:
        body["error"], body["detail"] = head.error, head.detail
    if len(records) > 1:
        body["multiAccountId"] = head.multi_account_id
        body["results"] = [
            {
                "account": r.accounts[0] if r.accounts else None,
                "status": r.status.value,
                "orderIds": list(r.order_ids),
                "error": r.error,
                "detail": r.detail,
            }
            for r in records[1:]
        ]
    return CrossTradeJson(body)
