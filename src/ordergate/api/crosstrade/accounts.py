"""Accounts: the list, one account with its values, the snapshot of all with their positions,
and the P&L high-water marks.

An account's values come from the engine's memory (balance, realized P&L, open tickets at
the current quotes), computed when asked; its high-water marks from the engine's watermarks.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.crosstrade.answers import (
    AccountAnswer,
    AccountsAnswer,
    SnapshotAnswer,
    WatermarksAnswer,
)
from ordergate.api.crosstrade.context import CallerDep
from ordergate.api.crosstrade.docs import AccountPath, reply, responses
from ordergate.api.crosstrade.ops import AccountName, Args, Ctx, operation, query_args, run
from ordergate.api.crosstrade.positions import position_out, visible_accounts
from ordergate.api.crosstrade.wire import epoch_ms, iso, num
from ordergate.api.openapi import DocumentedRoute
from ordergate.domain.accounts import Account
from ordergate.domain.monitor_settings import MonitorSettings, TrailUnit
from ordergate.engine import queries
from ordergate.engine.accounting import AccountState
from ordergate.engine.compound import NetPosition, positions
from ordergate.engine.riskdesk import MonitorView

__all__ = ["account_out", "router"]

router = APIRouter(tags=["accounts"], route_class=DocumentedRoute)

#: NT8's Currency names for the ISO codes it knows; others are shown as their code.
DENOMINATION = {
    "USD": "UsDollar",
    "EUR": "Euro",
    "GBP": "BritishPound",
    "JPY": "JapaneseYen",
    "CHF": "SwissFranc",
    "CAD": "CanadianDollar",
    "AUD": "AustralianDollar",
    "NZD": "NewZealandDollar",
    "HKD": "HongKongDollar",
    "SEK": "SwedishKrona",
    "NOK": "NorwegianKrone",
    "DKK": "DanishKrone",
}


@dataclass(frozen=True, slots=True)
class Valuation:
    """An account valued now: its state, realized P&L (ever) and net positions."""

    account: Account
    state: AccountState
    realized: Decimal
    positions: list[NetPosition]
    #: the account's monitor, whose limits NT8 shows among the account's values
    monitor: MonitorView
    #: commission charged on the account's fills, ever
    commission: Decimal


async def valuations(ctx: Ctx, accounts: list[Account]) -> list[Valuation]:
    """Value ``accounts`` (each already one the caller may act on) now, and observe them."""
    now = ctx.container.clock.now()
    engine = ctx.engine
    out = []
    for account in accounts:
        state = queries.valued(engine, account)
        realized = engine.state.realized(account.login)
        held = await positions(engine, account)
        monitor = ctx.container.risk.view_of(account)
        rate = ctx.container.settings.commission_per_contract
        commission = engine.state.filled(account.login) * rate
        value = Valuation(account, state, realized, held, monitor, commission)
        engine.watermarks.observe(account.login, realized, state.unrealized_pnl, state.equity, now)
        out.append(value)
    return out


async def _one(ctx: Ctx, ref: str) -> Valuation:
    account = await ctx.engine.account(ctx.principal, ref)
    (value,) = await valuations(ctx, [account])
    return value


def account_out(value: Valuation) -> dict[str, Any]:
    """An account as NT8 shows it, ``item`` holding its values in its currency (what each
    is: the description of GET /accounts/{account}). ordergate has one margin, so NT8's
    several margins are that one and their excesses the free margin."""
    account, state = value.account, value.state
    free = max(state.free_margin, Decimal(0))
    margin, excess = num(state.margin_used), num(state.free_margin)
    return {
        "id": account.login,
        "name": account.name,
        "displayName": account.name,
        "provider": "Simulator",
        "denomination": DENOMINATION.get(account.currency, account.currency),
        "currency": account.currency,
        "status": "Enabled" if account.enabled else "Disabled",
        "connectionStatus": "Connected",
        "positionMode": account.mode.value.capitalize(),
        "leverage": account.leverage,
        "item": {
            "buyingPower": num(free * account.leverage),
            "cashValue": num(state.balance),
            "totalCashBalance": num(state.balance),
            "netLiquidation": num(state.equity),
            "netLiquidationByCurrency": num(state.equity),
            "realizedProfitLoss": num(value.realized),
            "grossRealizedProfitLoss": num(value.realized),
            "unrealizedProfitLoss": num(state.unrealized_pnl),
            "initialMargin": margin,
            "intradayMargin": margin,
            "maintenanceMargin": margin,
            "positionMargin": margin,
            "lookAheadMaintenanceMargin": margin,
            "excessInitialMargin": excess,
            "excessIntradayMargin": excess,
            "excessMaintenanceMargin": excess,
            "excessPositionMargin": excess,
            "marginLevel": None if state.margin_level is None else num(state.margin_level),
            "positionCount": sum(1 for p in value.positions if p.side is not None),
            "longStockValue": 0,
            "shortStockValue": 0,
            "longOptionValue": 0,
            "shortOptionValue": 0,
            "commission": num(value.commission),
            "fee": 0,
            **_limits(value.monitor.settings),
        },
    }


def _limits(settings: MonitorSettings) -> dict[str, Any]:
    """The monitor's limits under NT8's names (0: none); a trail in percent has no amount."""
    trail = settings.trailing_drawdown
    amount = trail.trail if trail is not None and trail.unit is TrailUnit.DOLLARS else 0
    return {
        "dailyLossLimit": num(settings.loss_threshold),
        "dailyProfitTarget": num(settings.profit_threshold),
        "trailingMaxDrawdown": num(Decimal(amount)),
    }


class NoArgs(Args):
    pass


@operation("ListAccounts", NoArgs)
async def list_accounts(ctx: Ctx, args: NoArgs) -> dict[str, Any]:
    values = await valuations(ctx, await visible_accounts(ctx))
    return {"accounts": [account_out(v) for v in values], "success": True}


class AccountArgs(Args):
    account: AccountName


@operation("GetAccount", AccountArgs)
async def get_account(ctx: Ctx, args: AccountArgs) -> dict[str, Any]:
    return {**account_out(await _one(ctx, args.account)), "success": True}


@operation("GetSnapshot", NoArgs)
async def get_snapshot(ctx: Ctx, args: NoArgs) -> dict[str, Any]:
    now = ctx.container.clock.now()
    values = await valuations(ctx, await visible_accounts(ctx))
    accounts: list[dict[str, Any]] = []
    for value in values:
        working = queries.open_count(ctx.engine, value.account)
        accounts.append(
            {
                "account": {
                    **account_out(value),
                    "isAccountFlat": all(p.side is None for p in value.positions),
                    "workingOrders": working,
                },
                "positions": [position_out(p, value.account.name) for p in value.positions],
            }
        )
    return {
        "type": "snapshot",
        "timestamp": iso(now),
        "epoch": epoch_ms(now),
        "accounts": accounts,
        "success": True,
    }


@operation("GetWatermarks", AccountArgs)
async def get_watermarks(ctx: Ctx, args: AccountArgs) -> dict[str, Any]:
    value = await _one(ctx, args.account)
    mark = ctx.engine.watermarks.observe(
        value.account.login,
        value.realized,
        value.state.unrealized_pnl,
        value.state.equity,
        ctx.container.clock.now(),
    )
    state = value.state
    realized = value.realized - mark.realized_start
    monitor = await ctx.container.risk.view(ctx.principal, value.account.login)
    kept = None if monitor.marks is None else monitor.marks.to_wire()
    highs = {
        "pnlhigh": num(mark.pnl_high),
        "netliqhigh": num(mark.netliq_high),
        "unrealhigh": num(mark.unrealized_high),
    }
    return {
        "success": True,
        "data": {
            "account": value.account.name,
            "session": mark.session.isoformat(),
            "since": iso(mark.since),
            "watermarks": highs,
            "monitor": kept,
            "stats": {
                "pnl": num(realized + state.unrealized_pnl),
                "total": num(realized + state.unrealized_pnl),
                "realized": num(realized),
                "unrealized": num(state.unrealized_pnl),
                "poscount": sum(1 for p in value.positions if p.side is not None),
                "netliq": num(state.equity),
                **highs,
            },
        },
    }


_ACCOUNT = {
    "id": 1001,
    "name": "Sim101",
    "displayName": "Sim101",
    "provider": "Simulator",
    "denomination": "UsDollar",
    "currency": "USD",
    "status": "Enabled",
    "connectionStatus": "Connected",
    "positionMode": "Netting",
    "leverage": 100,
    "item": {
        "buyingPower": 99419688,
        "cashValue": 1000000,
        "totalCashBalance": 1000000,
        "netLiquidation": 1000200,
        "netLiquidationByCurrency": 1000200,
        "realizedProfitLoss": 0,
        "grossRealizedProfitLoss": 0,
        "unrealizedProfitLoss": 200,
        "initialMargin": 6003.12,
        "intradayMargin": 6003.12,
        "maintenanceMargin": 6003.12,
        "positionMargin": 6003.12,
        "lookAheadMaintenanceMargin": 6003.12,
        "excessInitialMargin": 994196.88,
        "excessIntradayMargin": 994196.88,
        "excessMaintenanceMargin": 994196.88,
        "excessPositionMargin": 994196.88,
        "marginLevel": 16661.34,
        "positionCount": 1,
        "longStockValue": 0,
        "shortStockValue": 0,
        "longOptionValue": 0,
        "shortOptionValue": 0,
        "commission": 0,
        "fee": 0,
        "dailyLossLimit": 1000,
        "dailyProfitTarget": 0,
        "trailingMaxDrawdown": 0,
    },
}
_POSITION = {
    "account": "Sim101",
    "instrument": "ES 12-26",
    "instrumentType": "Future",
    "marketPosition": "Long",
    "quantity": 2,
    "averagePrice": 6001.125,
    "marketPrice": 6003.125,
    "unrealizedProfitLoss": 200,
}


@router.get(
    "/accounts",
    summary="The accounts this token may act on",
    description="Every account the caller may trade, each with its current values (item).",
    responses=responses(AccountsAnswer, {"accounts": [_ACCOUNT], "success": True}, 400, 401, 429),
)
async def list_accounts_route(request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "ListAccounts", query_args(request, NoArgs)))


@router.get(
    "/accounts/snapshot",
    summary="Snapshot of every account with its positions",
    description=(
        "Every account the caller may act on, valued now, with its net positions. "
        "isAccountFlat is NT8's: no position (a hedged, offsetting pair counts as flat); "
        "workingOrders counts the orders still working, which a flat account may have."
    ),
    responses=responses(
        SnapshotAnswer,
        {
            "type": "snapshot",
            "timestamp": "2026-11-20T15:30:00Z",
            "epoch": 1795188600000,
            "accounts": [
                {
                    "account": {**_ACCOUNT, "isAccountFlat": False, "workingOrders": 1},
                    "positions": [_POSITION],
                }
            ],
            "success": True,
        },
        400,
        401,
        429,
    ),
)
async def snapshot_route(request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetSnapshot", query_args(request, NoArgs)))


@router.get(
    "/accounts/{account}",
    summary="One account",
    description=(
        "The account and its values now (item), in its currency. ordergate has one margin, "
        "the one its risk check uses (the open tickets' notional at the price each closes "
        "at, over the leverage): NT8's initial, intraday, maintenance, position and "
        "look-ahead margins are that one, their excesses the free margin (net liquidation "
        "less margin). cashValue and totalCashBalance are the balance (realized P&L "
        "included); netLiquidation (and ByCurrency: one currency per account) the equity; "
        "realizedProfitLoss the P&L realized since the account opened, gross the same ("
        "balances stay gross of commission); buyingPower the notional the free margin allows "
        "at the account's leverage; marginLevel equity / margin in percent (null with no "
        "margin in use); positionCount the instruments held (a hedged, offsetting pair is "
        "flat); stock and option values are 0 (none are traded). Not shown: NT8's risk "
        "start-of-day values (sodCashValue …), which ordergate does not keep. "
        "dailyLossLimit, dailyProfitTarget and trailingMaxDrawdown are the account monitor's "
        "lossThreshold, profitThreshold and dollar trail (0: none); commission is what "
        "ORDERGATE_COMMISSION_PER_CONTRACT charged on its fills."
    ),
    responses=responses(AccountAnswer, {**_ACCOUNT, "success": True}, 400, 401, 404, 429),
)
async def get_account_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetAccount", query_args(request, AccountArgs, account=account)))


@router.get(
    "/accounts/{account}/watermarks",
    summary="P&L and net-liquidation high-water marks",
    description=(
        "The account's session statistics and their highs. A session is the UTC day. "
        "realized is the P&L realized since the session's first observation (from the "
        "ledger), unrealized that of the open positions now, pnl = total = realized + "
        "unrealized (ordergate charges no commissions), netliq the equity, poscount the "
        "instruments held. The highs (pnlhigh, netliqhigh, unrealhigh) are kept in this "
        "server process's memory, from every time it valued the account (any account, "
        "snapshot or watermarks request) since the session began or the process started "
        "(since): they miss peaks nobody asked about, and start again with the process. "
        "Several processes sharing one database each keep their own. `monitor` holds the "
        "account monitor's watermarks (its session in its time zone, start values and highs, "
        "what the risk rules measure from), kept in the database across restarts; null "
        "until the account has a monitor."
    ),
    responses=responses(
        WatermarksAnswer,
        {
            "success": True,
            "data": {
                "account": "Sim101",
                "session": "2026-11-20",
                "since": "2026-11-20T09:12:00Z",
                "watermarks": {"pnlhigh": 250, "netliqhigh": 1000250, "unrealhigh": 250},
                "monitor": None,
                "stats": {
                    "pnl": 200,
                    "total": 200,
                    "realized": 0,
                    "unrealized": 200,
                    "poscount": 1,
                    "netliq": 1000200,
                    "pnlhigh": 250,
                    "netliqhigh": 1000250,
                    "unrealhigh": 250,
                },
            },
        },
        400,
        401,
        404,
        429,
    ),
)
async def watermarks_route(account: AccountPath, request: Request, ctx: CallerDep) -> Response:
    return reply(await run(ctx, "GetWatermarks", query_args(request, AccountArgs, account=account)))
