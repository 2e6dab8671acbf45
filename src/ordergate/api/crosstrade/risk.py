"""Risk over CrossTrade: account monitors (the NAM of spec crosstrade-webhooks.md section 9),
the kill switch, the dead man's switch and the management log; as REST and as RPC.

The rules run in the engine (engine/riskdesk.py); these routes only configure and show them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import (
    CancelAfterAnswer,
    KillSwitchAnswer,
    KillSwitchSet,
    MonitorAnswer,
    MonitorLogAnswer,
)
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import (
    ACCOUNT_ERRORS,
    AccountPath,
    reply,
    request_body,
    responses,
)
from ordergate.api.crosstrade.errors import render_domain
from ordergate.api.crosstrade.ops import (
    AccountName,
    Args,
    Ctx,
    body_args,
    operation,
    query_args,
    run,
)
from ordergate.api.crosstrade.wire import CrossTradeJson
from ordergate.api.openapi import DocumentedRoute
from ordergate.domain.errors import DomainError
from ordergate.engine import queries
from ordergate.engine.riskdesk import MonitorView

__all__ = ["router"]

router = APIRouter(tags=["risk"], route_class=DocumentedRoute)


class AccountArgs(Args):
    account: AccountName


class SetMonitorArgs(Args):
    """The account and the monitor's settings (every other key is a setting: an unknown
    one is refused by name)."""

    model_config = ConfigDict(extra="allow", str_strip_whitespace=True)
    account: AccountName


class LogArgs(Args):
    account: AccountName
    since: datetime | None = Field(default=None, description="Only entries from this time on")
    limit: int = Field(default=100, ge=1, le=1000)


class KillSwitchArgs(Args):
    enabled: bool = Field(description="On: cancel and flatten now, then open nothing until off")
    account: AccountName | None = Field(
        default=None, description="This account's switch; without it the caller's own"
    )


class CancelAfterArgs(Args):
    account: AccountName
    timeout: int = Field(
        ge=0, le=86_400, description="Seconds until every working order is cancelled; 0 disarms"
    )


def monitor_out(view: MonitorView) -> dict[str, Any]:
    return {
        "account": view.account,
        "state": view.state.value,
        "stoppedRule": view.stopped_rule,
        "locked": view.locked,
        "cancelAfter": None if view.cancel_after is None else view.cancel_after.isoformat(),
        **view.settings.to_wire(),
    }


@operation("GetMonitor", AccountArgs)
async def get_monitor(ctx: Ctx, args: AccountArgs) -> dict[str, Any]:
    return monitor_out(await ctx.container.risk.view(ctx.principal, args.account))


@operation("SetMonitor", SetMonitorArgs)
async def set_monitor(ctx: Ctx, args: SetMonitorArgs) -> dict[str, Any]:
    risk = ctx.container.risk
    current = await risk.view(ctx.principal, args.account)
    settings = current.settings.merged(dict(args.model_extra or {}))
    return monitor_out(await risk.configure(ctx.principal, args.account, settings))


@operation("ResetMonitor", AccountArgs)
async def reset_monitor(ctx: Ctx, args: AccountArgs) -> dict[str, Any]:
    return monitor_out(await ctx.container.risk.reset(ctx.principal, args.account))


@operation("GetMonitorLog", LogArgs)
async def monitor_log(ctx: Ctx, args: LogArgs) -> dict[str, Any]:
    entries = await ctx.container.risk.log(ctx.principal, args.account, args.since, args.limit)
    return {
        "account": args.account,
        "entries": [
            {
                "time": e.at.isoformat(),
                "event": e.type,
                "message": e.message,
                "actor": e.actor,
            }
            for e in entries
        ],
    }


@operation("SetKillSwitch", KillSwitchArgs)
async def set_kill_switch(ctx: Ctx, args: KillSwitchArgs) -> dict[str, Any]:
    logins = await ctx.container.risk.set_kill_switch(ctx.principal, args.enabled, args.account)
    names = [
        a.name
        for a in await queries.visible_accounts(ctx.engine, ctx.principal)
        if a.login in logins
    ]
    return {"success": True, "enabled": args.enabled, "account": args.account, "accounts": names}


@operation("GetKillSwitch", Args)
async def get_kill_switch(ctx: Ctx, args: Args) -> dict[str, Any]:
    accounts = await queries.visible_accounts(ctx.engine, ctx.principal)
    own, per = ctx.container.risk.kill_switch(ctx.principal, [a.login for a in accounts])
    return {"enabled": own, "accounts": {a.name: per[a.login] for a in accounts}}


@operation("CancelAfter", CancelAfterArgs)
async def cancel_after(ctx: Ctx, args: CancelAfterArgs) -> dict[str, Any]:
    due = await ctx.container.risk.cancel_after(ctx.principal, args.account, args.timeout)
    return {
        "success": True,
        "account": args.account,
        "cancelAt": None if due is None else due.isoformat(),
    }


_MONITOR: dict[str, Any] = {
    "account": "Sim101",
    "state": "ACTIVE",
    "stoppedRule": None,
    "locked": None,
    "cancelAfter": None,
    "enabled": True,
    "lossThreshold": 1000,
    "profitThreshold": 0,
    "action": "flatten",
    "includeUnrealized": True,
    "includeCommission": False,
    "minProfitDrawdown": None,
    "trailingDrawdown": None,
    "autoFlatten": "15:55",
    "tradingWindows": [],
    "timeZone": "US/Eastern",
    "sessionReset": "18:00",
}


@router.get(
    "/accounts/{account}/monitor",
    summary="The account's monitor: settings and state (RPC GetMonitor)",
    description=(
        "The account monitor (CrossTrade's Account Manager): its settings, `state` "
        "(ACTIVE, INACTIVE, STOPPED, DISABLED), the rule that stopped it and why the account "
        "takes only closing orders now (`locked`). An account never configured reads DISABLED "
        "with the default settings."
    ),
    responses=responses(MonitorAnswer, _MONITOR, *ACCOUNT_ERRORS),
)
async def get_monitor_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetMonitor", query_args(request, AccountArgs, account=account)))


@router.put(
    "/accounts/{account}/monitor",
    summary="Configure the account's monitor (RPC SetMonitor)",
    description=(
        "Sets the monitor's settings: `enabled`, `lossThreshold` (a positive amount: 1000 "
        "stops at a session P&L of -1,000; 0 disables), `profitThreshold`, `action` "
        "(`flatten`|`none`), `includeUnrealized`, `includeCommission`, `minProfitDrawdown` "
        "{trigger, floor, action}, `trailingDrawdown` {metric sessionPnl|netLiquidation, "
        "trigger, trail, unit $|%, action}, `autoFlatten` (HH:MM), `tradingWindows` (up to 5 "
        "x {enabled, start, end, flattenAfter}), `timeZone` (default US/Eastern), "
        "`sessionReset` (default 18:00). Keys left out keep their value. Every key is "
        "checked before anything changes: a bad or unknown one is 400 naming it. Decision: "
        "a percent trail follows the FAQ's arithmetic (HWM - trail % x HWM)."
    ),
    openapi_extra=request_body(SetMonitorArgs, {"enabled": True, "lossThreshold": 1000}),
    responses=responses(MonitorAnswer, _MONITOR, *ACCOUNT_ERRORS),
)
async def set_monitor_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, SetMonitorArgs, account=account)
    return reply(await run(ctx, "SetMonitor", args))


@router.post(
    "/accounts/{account}/monitor/reset",
    summary="Restart a stopped monitor (RPC ResetMonitor)",
    description=(
        "STOPPED → ACTIVE: the account takes opening orders again. A monitor that is not "
        "stopped (or was never configured) is left as it is."
    ),
    openapi_extra=request_body(AccountArgs, {}),
    responses=responses(MonitorAnswer, _MONITOR, *ACCOUNT_ERRORS),
)
async def reset_monitor_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, AccountArgs, account=account)
    return reply(await run(ctx, "ResetMonitor", args))


@router.get(
    "/accounts/{account}/monitor/log",
    summary="The account's management log (RPC GetMonitorLog)",
    description=(
        "Newest first: rule firings, resets, setting changes, kill switches and the dead "
        "man's switch, each with its time, type, message and who acted (`risk` for the "
        "server itself). Filters: `since`, `limit` (1-1000, default 100)."
    ),
    responses=responses(MonitorLogAnswer, {"account": "Sim101", "entries": []}, *ACCOUNT_ERRORS),
)
async def monitor_log_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetMonitorLog", query_args(request, LogArgs, account=account)))


@router.put(
    "/killswitch",
    summary="Turn a kill switch on or off (RPC SetKillSwitch)",
    description=(
        '`{"enabled": true}` turns the caller\'s own kill switch on: every account it owns '
        "has its working orders cancelled and its positions closed, and nothing opens a "
        "position until it is off (closing orders and cancels still pass; decision: the "
        "safest exchanges let a locked account reduce risk). With `account`, that account's "
        "switch. The webhook `kill_switch=on|off` is the same user switch."
    ),
    openapi_extra=request_body(KillSwitchArgs, {"enabled": True}, path=()),
    responses=responses(
        KillSwitchSet,
        {"success": True, "enabled": True, "account": None, "accounts": ["Sim101"]},
        *ACCOUNT_ERRORS,
    ),
)
async def set_kill_switch_route(request: Request, ctx: CallerDep) -> Response:
    args = await body_args(request, KillSwitchArgs)
    try:
        return reply(await run(ctx, "SetKillSwitch", args))
    except DomainError as exc:  # the account is in the body, not the path: name it in the 404
        status, body = render_domain(exc, args.account)
        return CrossTradeJson(body, status_code=status)


@router.get(
    "/killswitch",
    summary="The kill switches in reach (RPC GetKillSwitch)",
    description="The caller's own switch and each visible account's.",
    responses=responses(
        KillSwitchAnswer, {"enabled": False, "accounts": {"Sim101": False}}, 401, 429
    ),
)
async def get_kill_switch_route(ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetKillSwitch", Args()))


@router.post(
    "/accounts/{account}/orders/cancelafter",
    summary="Arm or renew the dead man's switch (RPC CancelAfter)",
    description=(
        '`{"timeout": seconds}`: unless called again within that time, every working order '
        "of the account is cancelled (BitMEX's cancelAllAfter). 0 disarms. Up to 86,400 s."
    ),
    openapi_extra=request_body(CancelAfterArgs, {"timeout": 60}),
    responses=responses(
        CancelAfterAnswer, {"success": True, "account": "Sim101", "cancelAt": None}, *ACCOUNT_ERRORS
    ),
)
async def cancel_after_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(
        await run(ctx, "CancelAfter", await body_args(request, CancelAfterArgs, account=account))
    )
