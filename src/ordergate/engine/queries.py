"""Every read the dialects make of orders, positions and accounts, written once: from the
engine's memory, or for what memory no longer holds (ended orders long gone, fills, the
audit trail, closed tickets) from the journal's database. Each checks who may see what
with the one permission rule; an account out of reach answers as an unknown one."""

from __future__ import annotations

import copy
from datetime import datetime
from decimal import Decimal

from ordergate.domain.accounts import Account
from ordergate.domain.commands import AccountRef, OrderRef
from ordergate.domain.errors import OrderNotFound
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order
from ordergate.domain.principal import Principal, can_act
from ordergate.engine import accounting
from ordergate.engine.accounting import AccountState
from ordergate.engine.engine import OrderEngine
from ordergate.engine.ports import Execution, Timeline

__all__ = [
    "execution",
    "executions",
    "find_open_orders",
    "find_order",
    "get_order",
    "instruments",
    "open_count",
    "open_orders",
    "order_account",
    "order_timeline",
    "realized_since",
    "valued",
    "visible_accounts",
    "account_state",
]


async def visible_accounts(engine: OrderEngine, principal: Principal) -> list[Account]:
    """Every account ``principal`` may act on, by login, as the engine holds them (accounts
    added while it runs included)."""
    state, found = engine.state, []
    for stored in await engine.records.accounts():
        if not can_act(principal, stored):
            continue
        if state.account(stored.login) is None:
            state.learn_account(stored)
        current = state.account(stored.login)
        if current is not None:
            found.append(current)
    return found


async def instruments(engine: OrderEngine) -> list[Instrument]:
    """Every instrument, by symbol, as the engine holds them (instruments added while it
    runs included). Market data: the same for every caller."""
    for stored in await engine.records.instruments():
        if engine.state.maybe_instrument(stored.symbol) is None:
            engine.learn_instrument(stored)
    return engine.state.instruments()


async def open_orders(engine: OrderEngine, principal: Principal, ref: AccountRef) -> list[Order]:
    return (await find_open_orders(engine, principal, ref))[1]


async def find_open_orders(
    engine: OrderEngine, principal: Principal, ref: AccountRef
) -> tuple[Account, list[Order]]:
    """The account ``ref`` names and its orders that have not ended, in ticket order."""
    account = await engine.account(principal, ref)
    return account, [copy.copy(o) for o in engine.state.open_orders(account.login)]


def open_count(engine: OrderEngine, account: Account) -> int:
    """How many orders of ``account`` (one the caller may act on) have not ended."""
    return engine.state.open_count(account.login)


async def get_order(
    engine: OrderEngine, principal: Principal, account: AccountRef, ref: OrderRef
) -> Order:
    return (await find_order(engine, principal, account, ref))[1]


async def find_order(
    engine: OrderEngine, principal: Principal, account: AccountRef, ref: OrderRef
) -> tuple[Account, Order]:
    """The account ``account`` names and its order ``ref`` (an id or a ticket)."""
    found = await engine.account(principal, account)
    order = engine.state.order_in(found.login, ref)
    if order is not None:
        return found, copy.copy(order)
    stored = await engine.records.order(ref)
    if stored is None or stored.login != found.login:
        raise OrderNotFound(f"order {ref} not found in account {found.name}")
    return found, stored


async def order_account(engine: OrderEngine, principal: Principal, ref: OrderRef) -> Account:
    """The account of order (or position ticket) ``ref``, if ``principal`` may act on it;
    ``OrderNotFound`` for an unknown one and for one of someone else's account alike."""
    order = engine.state.order(ref)
    login = None if order is None else order.login
    if login is None:
        stored = await engine.records.order(ref)
        login = None if stored is None else stored.login
    account = None
    if login is not None:
        await engine.know(login)
        account = engine.state.account(login)
    if account is None or not can_act(principal, account):
        what = "ticket" if isinstance(ref, int) else "order"
        raise OrderNotFound(f"{what} {ref} not found")
    return account


async def account_state(engine: OrderEngine, principal: Principal, ref: AccountRef) -> AccountState:
    """Balance, equity, margin and the open tickets at the current quotes."""
    return valued(engine, await engine.account(principal, ref))


def valued(engine: OrderEngine, account: Account) -> AccountState:
    """``account`` (one the caller may act on) valued at the current quotes."""
    state = engine.state
    current = state.account(account.login) or account
    tickets = [copy.copy(t) for t in state.open_tickets(current.login)]
    return accounting.account_state(current, tickets, state.maybe_instrument, engine.venue.quote)


async def realized_since(
    engine: OrderEngine, principal: Principal, ref: AccountRef, since: datetime
) -> Decimal:
    """The profit or loss of the account's trades closed in full at or after ``since`` (a
    trade's, partial closes included, counts when it closes in full)."""
    account = await engine.account(principal, ref)
    closed = await engine.records.closed_tickets(account.login)
    return sum(
        (t.realized_pnl for t in closed if t.closed_at is not None and t.closed_at >= since),
        Decimal(0),
    )


async def order_timeline(
    engine: OrderEngine,
    principal: Principal,
    account: AccountRef,
    ref: OrderRef,
    *,
    include_fills: bool,
    limit: int,
) -> tuple[Account, Order, Timeline]:
    """An order and the first ``limit`` entries of its life (transitions, and fills)."""
    found, order = await find_order(engine, principal, account, ref)
    timeline = await engine.records.timeline(order.key, include_fills=include_fills, limit=limit)
    return found, order, timeline


async def executions(
    engine: OrderEngine,
    principal: Principal,
    ref: AccountRef,
    since: datetime,
    limit: int | None = None,
) -> tuple[Account, list[Execution]]:
    """The account's fills at or after ``since``, in the ledger's order."""
    account = await engine.account(principal, ref)
    return account, await engine.records.executions(account.login, since, limit)


async def execution(
    engine: OrderEngine, principal: Principal, ref: AccountRef, execution_id: int
) -> tuple[Account, Execution | None]:
    account = await engine.account(principal, ref)
    return account, await engine.records.execution(account.login, execution_id)
