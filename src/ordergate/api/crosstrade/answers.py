"""The CrossTrade answers as models: what each operation's body holds, for the OpenAPI
document and the clients generated from it.

The operations build their bodies themselves (``views.py`` and the handlers), with exact
JSON numbers; these models only describe them. Every answer the tests receive is held
against its operation's schema (tests/conformance.py), so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from ordergate.api.openapi import JsonNumber, WireModel

__all__ = [
    "AccountAnswer",
    "AccountItem",
    "AccountOut",
    "AccountsAnswer",
    "AlertAnswer",
    "AlertRefused",
    "AlertOut",
    "AlertsAnswer",
    "BarsAnswer",
    "CancelAfterAnswer",
    "CancelAllAnswer",
    "CancelOrdersAnswer",
    "CrossTradeError",
    "EndpointsAnswer",
    "ExecutionAnswer",
    "ExecutionsAnswer",
    "FlattenAnswer",
    "KillSwitchAnswer",
    "KillSwitchSet",
    "LegacyQuote",
    "LegacyQuotes",
    "LifecycleAnswer",
    "MarketInfoAnswer",
    "MonitorAnswer",
    "MonitorLogAnswer",
    "OrderAnswer",
    "OrderIdAnswer",
    "OrderStatusAnswer",
    "OrdersAnswer",
    "PositionAnswer",
    "PositionsAnswer",
    "AllPositionsAnswer",
    "QuoteAnswer",
    "QuoteOut",
    "RateLimited",
    "ReplaceAnswer",
    "BracketAnswer",
    "ClosePositionAnswer",
    "SnapshotAnswer",
    "StrategyClosed",
    "WatermarksAnswer",
]

#: A time as CrossTrade writes it: ISO 8601 in UTC (``2026-11-20T15:30:00Z``).
Time = str
_SUCCESS = "true when the operation did all it was asked"


class CrossTradeError(WireModel):
    """CrossTrade's error form. ``code`` names the refusal; a malformed request is
    ``{"success": false, "error": "Invalid request", "detail": ...}`` instead."""

    success: Literal[False]
    error: str
    code: str | None = Field(default=None, description="What was refused (absent: malformed)")
    detail: str | None = Field(default=None, description="Where a malformed request is wrong")
    did_you_mean: str | None = Field(default=None, description="An unknown path's nearest")


class RateLimited(WireModel):
    """The rate limiter's answer (429), as CrossTrade sends it."""

    error: Literal["Rate limit exceeded"]


# -- orders ------------------------------------------------------------------------------------


class OrderOut(WireModel):
    """An order in NT8's terms."""

    account: str
    orderId: str = Field(description="The order's id (32 lower-case hex)")
    originalOrderId: str | None = Field(
        default=None, description="The orderId the caller gave it at placement, if any"
    )
    instrument: str
    instrumentType: str
    action: str = Field(description="Buy, Sell, BuyToCover or SellShort")
    orderType: str = Field(description="Market, Limit, StopMarket or StopLimit")
    orderState: str = Field(description="NT8's OrderState: Working, Filled, Cancelled, …")
    quantity: JsonNumber
    filled: JsonNumber
    remaining: JsonNumber
    averageFillPrice: JsonNumber = Field(description="0 until it fills")
    limitPrice: JsonNumber = Field(description="0 for an order without one")
    stopPrice: JsonNumber = Field(description="0 for an order without one")
    timeInForce: str = Field(description="Day, Gtc or Gtd")
    gtd: Time | None = Field(description="When a Gtd order expires")
    oco: str = Field(description="Its OCO group, '' for none")
    name: str = Field(description="Its strategy tag, '' for none")
    time: Time
    epoch: int = Field(description="time in ms since the Unix epoch")
    updated: Time


class OrderAnswer(OrderOut):
    success: bool


class OrdersAnswer(WireModel):
    orders: list[OrderOut]
    success: bool


class OrderIdAnswer(WireModel):
    """An order placed or changed: its id (the caller's own orderId, when it gave one)."""

    orderId: str
    success: bool


class OrderStatusAnswer(WireModel):
    status: str = Field(description="NT8's OrderState")
    success: bool


class ReplaceAnswer(WireModel):
    orderId: str = Field(description="The new order")
    replacedOrderId: str = Field(description="The order it replaced (cancelled)")
    success: bool


class NotCancelled(WireModel):
    """A matched order whose cancel was not accepted now, and why."""

    orderId: str
    code: str = Field(description="MARKET_CLOSED, ORDER_LOCKED, ALREADY_PENDING_CANCEL, …")
    error: str


class CancelOrdersAnswer(WireModel):
    """The bulk cancel's answer. With 400, orders matched and none could be cancelled:
    ``error`` says how many and why, ``code`` their one cause (else NOT_CANCELLED)."""

    orderIds: list[str] = Field(description="The orders whose cancel was accepted")
    notCancelled: list[NotCancelled]
    success: bool = Field(description="true only when notCancelled is empty")
    error: str | None = None
    code: str | None = None


class AccountCancels(WireModel):
    account: str
    orderIds: list[str]
    notCancelled: list[NotCancelled]


class CancelAllAnswer(CancelOrdersAnswer):
    accounts: list[AccountCancels] = Field(description="The same, account by account")


class BracketAnswer(WireModel):
    orderIds: list[str] = Field(description="The legs placed")
    takeProfitOrderId: str | None
    stopLossOrderId: str | None
    ocoId: str
    quantity: JsonNumber
    cancelledOrderIds: list[str]
    notCancelled: list[NotCancelled]
    success: bool


class StateEvent(WireModel):
    type: Literal["state"]
    time: Time
    epoch: int
    fromState: str
    toState: str
    reason: str
    actor: str
    raw: dict[str, Any] | None = Field(default=None, description="With includeRaw=true")


class FillEvent(WireModel):
    type: Literal["fill"]
    time: Time
    epoch: int
    executionId: str
    action: str
    quantity: JsonNumber
    price: JsonNumber
    raw: dict[str, Any] | None = Field(default=None, description="With includeRaw=true")


class LifecycleAnswer(WireModel):
    account: str
    orderId: str
    originalOrderId: str | None
    instrument: str
    orderState: str
    events: list[StateEvent | FillEvent]
    count: int
    limit: int
    truncated: bool
    success: bool


# -- accounts ----------------------------------------------------------------------------------


class AccountItem(WireModel):
    """The account's values in its currency (GET /accounts/{account} says what each is)."""

    buyingPower: JsonNumber
    cashValue: JsonNumber
    totalCashBalance: JsonNumber
    netLiquidation: JsonNumber
    netLiquidationByCurrency: JsonNumber
    realizedProfitLoss: JsonNumber
    grossRealizedProfitLoss: JsonNumber
    unrealizedProfitLoss: JsonNumber
    initialMargin: JsonNumber
    intradayMargin: JsonNumber
    maintenanceMargin: JsonNumber
    positionMargin: JsonNumber
    lookAheadMaintenanceMargin: JsonNumber
    excessInitialMargin: JsonNumber
    excessIntradayMargin: JsonNumber
    excessMaintenanceMargin: JsonNumber
    excessPositionMargin: JsonNumber
    marginLevel: JsonNumber | None = Field(description="null while no margin is used")
    positionCount: int
    longStockValue: JsonNumber
    shortStockValue: JsonNumber
    longOptionValue: JsonNumber
    shortOptionValue: JsonNumber
    commission: JsonNumber
    fee: JsonNumber
    dailyLossLimit: JsonNumber = Field(description="The monitor's loss threshold, 0: none")
    dailyProfitTarget: JsonNumber = Field(description="The monitor's profit threshold, 0: none")
    trailingMaxDrawdown: JsonNumber = Field(description="The monitor's $ trail, 0: none")


class AccountOut(WireModel):
    id: int = Field(description="The account's login")
    name: str
    displayName: str
    provider: str
    denomination: str
    currency: str
    status: str = Field(description="Enabled or Disabled")
    connectionStatus: str
    positionMode: str = Field(description="Netting or Hedging")
    leverage: JsonNumber
    item: AccountItem


class AccountAnswer(AccountOut):
    success: bool


class AccountsAnswer(WireModel):
    accounts: list[AccountOut]
    success: bool


class SnapshotAccountOut(AccountOut):
    isAccountFlat: bool
    workingOrders: int


class PositionOut(WireModel):
    """A net position. ``marketPrice`` is where it closes now, null while unquoted."""

    account: str
    instrument: str
    instrumentType: str
    marketPosition: str = Field(description="Long, Short or Flat")
    quantity: JsonNumber
    averagePrice: JsonNumber
    marketPrice: JsonNumber | None
    unrealizedProfitLoss: JsonNumber | None


class SnapshotEntry(WireModel):
    account: SnapshotAccountOut
    positions: list[PositionOut]


class SnapshotAnswer(WireModel):
    type: Literal["snapshot"]
    timestamp: Time
    epoch: int
    accounts: list[SnapshotEntry]
    success: bool


class Watermarks(WireModel):
    pnlhigh: JsonNumber
    netliqhigh: JsonNumber
    unrealhigh: JsonNumber


class WatermarkStats(Watermarks):
    pnl: JsonNumber
    total: JsonNumber
    realized: JsonNumber
    unrealized: JsonNumber
    poscount: int
    netliq: JsonNumber


class WatermarkData(WireModel):
    account: str
    session: str = Field(description="The trading session's date")
    since: Time
    watermarks: Watermarks
    monitor: dict[str, str | bool | None] | None = Field(
        description="What the risk monitor keeps for the session (null: no monitor)"
    )
    stats: WatermarkStats


class WatermarksAnswer(WireModel):
    success: bool
    data: WatermarkData


# -- positions ---------------------------------------------------------------------------------


class PositionsAnswer(WireModel):
    positions: list[PositionOut]
    success: bool


class AllPositionsAnswer(PositionsAnswer):
    count: int


class PositionAnswer(PositionOut):
    success: bool


class ClosePositionAnswer(WireModel):
    closedPositions: list[PositionOut]
    closingOrderIds: list[str]
    success: bool


class FlattenFailure(WireModel):
    account: str
    instrument: str
    orderId: str | None
    code: str
    message: str


class FlattenAnswer(WireModel):
    """What a flatten cancelled and closed, and what it could not (``failed``)."""

    orderIds: list[str] = Field(description="Orders whose cancel was accepted")
    closedPositions: list[PositionOut]
    closingOrderIds: list[str]
    failed: list[FlattenFailure]
    notCancelled: list[NotCancelled]
    success: bool
    error: str | None = None
    code: str | None = None


# -- executions --------------------------------------------------------------------------------


class ExecutionOut(WireModel):
    id: str
    time: Time
    epoch: int
    name: str
    orderId: str
    account: str
    instrument: str
    instrumentType: str
    action: str
    marketPosition: str
    isExit: bool
    price: JsonNumber
    quantity: JsonNumber
    commission: JsonNumber


class ExecutionAnswer(ExecutionOut):
    success: bool


class ExecutionsAnswer(WireModel):
    executions: list[ExecutionOut]
    success: bool


# -- market ------------------------------------------------------------------------------------


class QuoteOut(WireModel):
    """One instrument's quote; prices are null until it is quoted."""

    instrument: str
    description: str
    type: str
    exchange: str
    tradingHours: str
    expiration: str | None = Field(description="A dated contract's month (YYYY-MM-DD)")
    bid: JsonNumber | None
    ask: JsonNumber | None
    last: JsonNumber | None
    open: JsonNumber | None
    high: JsonNumber | None
    low: JsonNumber | None
    close: JsonNumber | None
    volume: JsonNumber | None
    bidSize: JsonNumber | None
    askSize: JsonNumber | None
    tickSize: JsonNumber
    pointValue: JsonNumber
    tickValue: JsonNumber
    currency: str
    quoteTime: Time | None
    quoteTimeUtc: str | None
    epoch: int | None = Field(description="quoteTime in seconds since the Unix epoch")
    isMarketOpen: bool


class QuoteAnswer(QuoteOut):
    success: bool


class LegacyQuote(WireModel):
    """The deprecated per-account quote (US-locale date-times)."""

    instrument: str
    description: str
    type: str
    bid: JsonNumber | None
    ask: JsonNumber | None
    last: JsonNumber | None
    open: JsonNumber | None
    high: JsonNumber | None
    low: JsonNumber | None
    close: JsonNumber | None
    volume: JsonNumber | None
    tickSize: JsonNumber
    pointValue: JsonNumber
    exchange: str
    expiration: str | None
    tradingHours: str
    quoteTime: str | None
    success: bool | None = Field(default=None, description="On the one-instrument answer")


class LegacyQuotes(WireModel):
    quotes: list[LegacyQuote]
    success: bool


class MarketStatus(WireModel):
    isOpen: bool
    state: str


class SessionNow(WireModel):
    label: str
    utcStart: Time | None
    utcEnd: Time | None
    countdown: str | None
    action: str
    secondsRemaining: JsonNumber | None


class SessionNext(WireModel):
    utcStart: Time
    utcEnd: Time


class SessionHours(WireModel):
    days: list[str]
    start: str
    end: str


class Bounds(WireModel):
    tickSize: JsonNumber
    pointValue: JsonNumber
    tickValue: JsonNumber
    digits: int
    lotMin: JsonNumber
    lotMax: JsonNumber
    lotStep: JsonNumber
    currency: str


class MarketInfoAnswer(WireModel):
    timestamp: Time
    instrument: str
    description: str
    type: str
    timeZone: str
    status: MarketStatus
    session: SessionNow
    upcoming: SessionNext | None
    sessions: list[SessionHours]
    bounds: Bounds
    success: bool


class MarketBar(WireModel):
    time: Time
    epoch: int
    open: JsonNumber
    high: JsonNumber
    low: JsonNumber
    close: JsonNumber
    volume: JsonNumber


class BarsAnswer(WireModel):
    instrument: str
    periodType: str
    period: int
    count: int
    bars: list[MarketBar]
    success: bool


class StrategyClosed(WireModel):
    """CrossTrade's answer when an ATM strategy closes; ordergate never sends it."""

    strategyId: str
    success: bool


# -- alerts and webhooks -----------------------------------------------------------------------


class AlertOut(WireModel):
    alertId: str
    receivedAt: Time
    latencyMs: int | None
    status: str = Field(description="Success, Blocked, Failed or Pending")
    multiAccountId: str | None
    accounts: list[str]
    command: str | None
    raw: str = Field(description="The payload, its key redacted")
    fields: dict[str, str]
    error: str | None
    detail: str | None
    warnings: list[str]
    orderIds: list[str]


class AlertsAnswer(WireModel):
    alerts: list[AlertOut]
    success: bool


class AlertResult(WireModel):
    """One further account's outcome of a multi-account alert."""

    account: str | None
    status: str
    orderIds: list[str]
    error: str | None
    detail: str | None


class AlertAnswer(WireModel):
    """An alert's outcome."""

    success: bool = Field(description="true for Success and Pending")
    alertId: str
    status: str = Field(description="Success, Blocked, Failed or Pending")
    command: str | None
    accounts: list[str]
    orderIds: list[str]
    warnings: list[str]
    error: str | None = None
    detail: str | None = None
    killSwitch: str | None = Field(default=None, description="on or off, for a kill switch")
    multiAccountId: str | None = None
    results: list[AlertResult] | None = None


class AlertRefused(CrossTradeError):
    """A malformed alert: its first bad field, and its record in the history."""

    field: str | None = None
    alertId: str | None = None


# -- risk --------------------------------------------------------------------------------------


class MinProfitDrawdown(WireModel):
    trigger: JsonNumber
    floor: JsonNumber
    action: str


class TrailingDrawdown(WireModel):
    metric: str
    trigger: JsonNumber
    trail: JsonNumber
    unit: str
    action: str


class TradingWindowOut(WireModel):
    enabled: bool
    start: str
    end: str
    flattenAfter: bool


class MonitorAnswer(WireModel):
    """An account's risk monitor: its state and settings."""

    account: str
    state: str = Field(description="ACTIVE, INACTIVE, STOPPED, …")
    stoppedRule: str | None
    locked: str | None = Field(description="Why new opening orders are refused now")
    cancelAfter: Time | None = Field(description="When the dead man's switch fires")
    enabled: bool
    lossThreshold: JsonNumber
    profitThreshold: JsonNumber
    action: str
    includeUnrealized: bool
    includeCommission: bool
    minProfitDrawdown: MinProfitDrawdown | None
    trailingDrawdown: TrailingDrawdown | None
    autoFlatten: str | None
    tradingWindows: list[TradingWindowOut]
    timeZone: str
    sessionReset: str


class MonitorLogEntry(WireModel):
    time: Time
    event: str
    message: str
    actor: str


class MonitorLogAnswer(WireModel):
    account: str
    entries: list[MonitorLogEntry]


class KillSwitchAnswer(WireModel):
    enabled: bool = Field(description="The caller's own kill switch")
    accounts: dict[str, bool] = Field(description="Each account's, by name")


class KillSwitchSet(WireModel):
    success: bool
    enabled: bool
    account: str | None
    accounts: list[str] = Field(description="The accounts it covers")


class CancelAfterAnswer(WireModel):
    success: bool
    account: str
    cancelAt: Time | None = Field(description="null: disarmed")


# -- discovery ---------------------------------------------------------------------------------


class EndpointOut(WireModel):
    method: str
    path: str
    rpc: str | None = Field(description="The WebSocket rpc running the same operation")


class EndpointsAnswer(WireModel):
    success: bool
    count: int
    endpoints: list[EndpointOut]
