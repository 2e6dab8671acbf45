"""Demo data for `ordergate init --demo`: users, two accounts, instruments, resting orders.

Users ``admin`` (admin) and ``demo`` (trader, group ``demo``); accounts ``Sim101`` (login
1001, ScaleTrade password ``Sim101pass``) and ``Sim102`` (login 1002, ``Sim102pass``), both
owned by ``demo``. Seeding is idempotent: each piece is added only when absent, and the demo
orders only into accounts created by this run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.commands import PlaceOrder
from ordergate.domain.errors import UserNotFound
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.domain.orders import OrderType, Side
from ordergate.domain.principal import Role
from ordergate.engine.engine import OrderEngine
from ordergate.store import SqlRecords, open_journal
from ordergate.venue.opening import REFERENCE_PRICES
from ordergate.venue.sim import SimVenue

if TYPE_CHECKING:
    from ordergate.auth.users import User, UserService
    from ordergate.bootstrap import Administration

__all__ = [
    "ADMIN_USER",
    "DEMO_ACCOUNTS",
    "DEMO_GROUP",
    "DEMO_INSTRUMENTS",
    "DEMO_ORDERS",
    "DEMO_USER",
    "MANAGER_USER",
    "FX_WEEK",
    "GLOBEX",
    "DemoAccount",
    "DemoSeed",
    "issue_demo_token",
    "seed_demo",
]

D = Decimal
ADMIN_USER = "admin"
DEMO_USER = "demo"
#: A manager of the demo group, for ScaleTrade manager sessions: login and password.
MANAGER_USER = ("desk", 900, "Desk900pass")
DEMO_GROUP = "demo"

# Python weekday numbers: 0 = Monday ... 6 = Sunday. An end before the start runs overnight.
_SUN_TO_THU = frozenset({6, 0, 1, 2, 3})
#: CME Globex equity futures: Sunday 23:00 to Friday 22:00 UTC, a daily break 22:00-23:00.
GLOBEX = (TradingSession(_SUN_TO_THU, time(23, 0), time(22, 0)),)
#: Spot FX and metals: Sunday 22:00 to Friday 22:00 UTC without a daily break (start == end
#: makes each day's window run into the next day's).
FX_WEEK = (TradingSession(_SUN_TO_THU, time(22, 0), time(22, 0)),)


def _future(symbol: str, description: str, point_value: str) -> Instrument:
    return Instrument(
        symbol=symbol,
        tick_size=D("0.25"),
        point_value=D(point_value),
        digits=2,
        lot_min=D("1"),
        lot_max=D("1000"),
        lot_step=D("1"),
        currency="USD",
        description=description,
        sessions=GLOBEX,
    )


def _spot(symbol: str, description: str, tick: str, contract: str, digits: int) -> Instrument:
    return Instrument(
        symbol=symbol,
        tick_size=D(tick),
        point_value=D(contract),
        digits=digits,
        lot_min=D("0.01"),
        lot_max=D("100"),
        lot_step=D("0.01"),
        currency="USD",
        description=description,
        sessions=FX_WEEK,
    )


DEMO_INSTRUMENTS: tuple[Instrument, ...] = (
    _future("MES 12-25", "Micro E-mini S&P 500 Dec 2025", "5"),
    _future("ES 09-26", "E-mini S&P 500 Sep 2026", "50"),
    _future("ES 12-26", "E-mini S&P 500 Dec 2026", "50"),
    _future("NQ 12-26", "E-mini Nasdaq-100 Dec 2026", "20"),
    _spot("EURUSD", "Euro / US Dollar", "0.00001", "100000", 5),
    _spot("GBPUSD", "British Pound / US Dollar", "0.00001", "100000", 5),
    _spot("XAUUSD", "Gold / US Dollar (100 oz)", "0.01", "100", 2),
    # Trades around the clock (no sessions): the demo has a moving market on any day.
    Instrument(
        symbol="BTCUSD",
        tick_size=D("0.01"),
        point_value=D("1"),
        digits=2,
        lot_min=D("0.001"),
        lot_max=D("100"),
        lot_step=D("0.001"),
        currency="USD",
        description="Bitcoin / US Dollar",
    ),
)

#: Where the simulated market starts when an instrument has never traded (its bid).


@dataclass(frozen=True, slots=True)
class DemoAccount:
    login: int
    name: str
    password: str  # the ScaleTrade /sign/in password; demo data, printed by `ordergate init`


DEMO_ACCOUNTS = (
    DemoAccount(1001, "Sim101", "Sim101pass"),
    DemoAccount(1002, "Sim102", "Sim102pass"),
)


def _limit(login: int, symbol: str, qty: str, price: str) -> PlaceOrder:
    return PlaceOrder(
        account=login,
        symbol=symbol,
        side=Side.BUY,
        type=OrderType.LIMIT,
        quantity=D(qty),
        limit_price=D(price),
        comment="demo",
    )


def _stop(login: int, symbol: str, qty: str, price: str) -> PlaceOrder:
    return PlaceOrder(
        account=login,
        symbol=symbol,
        side=Side.BUY,
        type=OrderType.STOP,
        quantity=D(qty),
        stop_price=D(price),
        comment="demo",
    )


#: Resting orders: limit buys below the reference prices and buy stops above them.
DEMO_ORDERS: tuple[PlaceOrder, ...] = (
    _limit(1001, "ES 12-26", "1", "5990.00"),
    _limit(1001, "ES 12-26", "2", "5975.00"),
    _stop(1001, "ES 12-26", "1", "6025.00"),
    _limit(1001, "MES 12-25", "2", "5980.00"),
    _limit(1001, "NQ 12-26", "1", "20900.00"),
    _limit(1001, "EURUSD", "0.50", "1.08000"),
    _limit(1002, "GBPUSD", "0.25", "1.26500"),
    _limit(1002, "XAUUSD", "0.10", "2625.00"),
    _stop(1002, "XAUUSD", "0.10", "2675.00"),
)


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What ``seed_demo`` added (empty tuples: it was all there already)."""

    instruments: tuple[str, ...]
    users: tuple[str, ...]
    accounts: tuple[str, ...]
    orders: int


async def _ensure_user(
    users: UserService,
    name: str,
    role: Role,
    groups: tuple[str, ...],
    added: list[str],
    sign_in: tuple[int, str] | None = None,
) -> User:
    try:
        return await users.get_user(name)
    except UserNotFound:
        added.append(name)
        login, password = sign_in if sign_in is not None else (None, None)
        return await users.add_user(name, role, groups, password, login)


async def _add_instruments(admin: Administration) -> tuple[str, ...]:
    async with admin.store.transaction() as tx:
        known = {i.symbol for i in await tx.accounts.instruments()}
        fresh = [i for i in DEMO_INSTRUMENTS if i.symbol not in known]
        for instrument in fresh:
            await tx.accounts.add_instrument(instrument)
        await tx.commit()
    return tuple(i.symbol for i in fresh)


async def _add_accounts(admin: Administration, owner: UserId) -> tuple[DemoAccount, ...]:
    async with admin.store.transaction() as tx:
        fresh = [a for a in DEMO_ACCOUNTS if await tx.accounts.get(a.login) is None]
        for a in fresh:
            account = Account(
                login=Login(a.login),
                name=a.name,
                owner_id=owner,
                group=DEMO_GROUP,
                currency="USD",
                balance=D("100000"),
                leverage=100,
                mode=PositionMode.NETTING,
            )
            await tx.accounts.add(account)
        await tx.commit()
    for a in fresh:
        await admin.users.set_account_password(a.login, a.password)
    return tuple(fresh)


async def _place_orders(admin: Administration, owner: UserId, logins: set[int]) -> int:
    """Place the demo orders of ``logins`` through an engine, so they carry real events.

    They go through an engine over a venue that knows no trading hours: the demo must get
    its resting orders whatever the day `init` runs, while the server's venue enforces the
    sessions. The server hands them to its venue when it starts, as after a restart. The
    engine takes the database's writer lock while it runs (no server may be running)."""
    wanted = [cmd for cmd in DEMO_ORDERS if cmd.account in logins]
    if not wanted:
        return 0
    venue = SimVenue(clock=admin.clock)
    for symbol, bid in REFERENCE_PRICES.items():
        venue.set_quote(symbol, bid, bid)  # margin is measured at the quote
    journal = await open_journal(admin.settings.database_url)
    try:
        seeder = OrderEngine(journal, venue, SqlRecords(admin.db), clock=admin.clock)
        await seeder.load()
        principal = await admin.users.principal_for_user(owner)
        for cmd in wanted:
            await seeder.place(principal, cmd)
        await seeder.settle()
    finally:
        await venue.close()
        await journal.close()
    return len(wanted)


async def seed_demo(admin: Administration) -> DemoSeed:
    """Add whatever of the demo data is missing."""
    instruments = await _add_instruments(admin)
    users: list[str] = []
    await _ensure_user(admin.users, ADMIN_USER, Role.ADMIN, (), users)
    demo = await _ensure_user(admin.users, DEMO_USER, Role.TRADER, (DEMO_GROUP,), users)
    name, login, password = MANAGER_USER
    await _ensure_user(admin.users, name, Role.MANAGER, (DEMO_GROUP,), users, (login, password))
    accounts = await _add_accounts(admin, UserId(demo.id))
    orders = await _place_orders(admin, UserId(demo.id), {a.login for a in accounts})
    return DemoSeed(instruments, tuple(users), tuple(a.name for a in accounts), orders)


async def issue_demo_token(admin: Administration, label: str = "ordergate init") -> str:
    """A new bearer token for the demo user (tokens are stored hashed: none can be shown
    again, so each call makes a fresh one)."""
    return await admin.users.create_token(DEMO_USER, label)
