"""Demo data for `ordergate init --demo`: users, two accounts, instruments, resting orders.

Users ``admin`` (admin) and ``demo`` (trader, group ``demo``); accounts ``Sim101`` (login
1001, ScaleTrade password ``Sim101pass``) and ``Sim102`` (login 1002, ``Sim102pass``), both
owned by ``demo``. The futures are the contracts live on the day `init` runs (by its clock):
each root (ES, MES, NQ) in its front and next quarterly contract (``front_months``). Seeding
is idempotent: each piece is added only when absent, and the demo orders only into accounts
created by this run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal
from typing import TYPE_CHECKING

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.commands import PlaceOrder
from ordergate.domain.contracts import ContractMonth, front_months
from ordergate.domain.errors import UserNotFound
from ordergate.domain.ids import Login, UserId
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.domain.orders import OrderType, Side
from ordergate.domain.principal import Role
from ordergate.engine.engine import OrderEngine
from ordergate.store import SqlRecords, open_journal
from ordergate.venue.opening import REFERENCE_PRICES
from ordergate.venue.rules import VenueConfig
from ordergate.venue.sim import SimVenue

if TYPE_CHECKING:
    from ordergate.auth.users import User, UserService
    from ordergate.bootstrap import Administration

__all__ = [
    "ADMIN_USER",
    "DEMO_ACCOUNTS",
    "DEMO_FUTURES",
    "DEMO_GROUP",
    "DEMO_USER",
    "FX_WEEK",
    "GLOBEX",
    "MANAGER_USER",
    "SPOT_INSTRUMENTS",
    "DemoAccount",
    "DemoSeed",
    "demo_instruments",
    "demo_orders",
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


#: The demo's futures roots: (root, description, point value).
DEMO_FUTURES: tuple[tuple[str, str, str], ...] = (
    ("ES", "E-mini S&P 500", "50"),
    ("MES", "Micro E-mini S&P 500", "5"),
    ("NQ", "E-mini Nasdaq-100", "20"),
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SPOT_INSTRUMENTS: tuple[Instrument, ...] = (
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


def _contract(root: str, name: str, point_value: str, month: ContractMonth) -> Instrument:
    return _future(
        month.symbol(root), f"{name} {_MONTHS[month.month - 1]} {month.year}", point_value
    )


def demo_instruments(today: date) -> tuple[Instrument, ...]:
    """The demo's instruments on ``today``: each futures root in its front and next live
    quarterly contract (``ES 03-27``, ``ES 06-27``), then the spot instruments."""
    months = front_months(today, count=2)
    futures = tuple(_contract(*future, month) for future in DEMO_FUTURES for month in months)
    return futures + SPOT_INSTRUMENTS


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


def demo_orders(today: date) -> tuple[PlaceOrder, ...]:
    """The demo's resting orders on ``today``: limit buys below the reference prices and buy
    stops above them, in the front contracts (and one in the next ES contract)."""
    front, after = front_months(today, count=2)
    es, mes, nq = front.symbol("ES"), front.symbol("MES"), front.symbol("NQ")
    return (
        _limit(1001, es, "1", "5990.00"),
        _limit(1001, es, "2", "5975.00"),
        _stop(1001, es, "1", "6025.00"),
        _limit(1001, after.symbol("ES"), "1", "5985.00"),
        _limit(1001, mes, "2", "5980.00"),
        _limit(1001, nq, "1", "20900.00"),
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


async def _add_instruments(
    admin: Administration, instruments: tuple[Instrument, ...]
) -> tuple[str, ...]:
    async with admin.store.transaction() as tx:
        known = {i.symbol for i in await tx.accounts.instruments()}
        fresh = [i for i in instruments if i.symbol not in known]
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


async def _place_orders(
    admin: Administration, owner: UserId, logins: set[int], orders: tuple[PlaceOrder, ...]
) -> int:
    """Place the demo ``orders`` of ``logins`` through an engine, so they carry real events.

    They go through an engine over a venue that ignores trading hours: the demo must get
    its resting orders whatever the day `init` runs, while the server's venue may enforce
    the sessions. The server hands them to its venue when it starts, as after a restart. The
    engine takes the database's writer lock while it runs (no server may be running)."""
    wanted = [cmd for cmd in orders if cmd.account in logins]
    if not wanted:
        return 0
    venue = SimVenue(config=VenueConfig(sessions="ignore"), clock=admin.clock)
    for symbol in sorted({cmd.symbol for cmd in wanted}):
        bid = REFERENCE_PRICES[symbol]
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
    """Add whatever of the demo data is missing; the futures are those live on the day the
    administration's clock reads."""
    today = admin.clock.now().date()
    instruments = await _add_instruments(admin, demo_instruments(today))
    users: list[str] = []
    await _ensure_user(admin.users, ADMIN_USER, Role.ADMIN, (), users)
    demo = await _ensure_user(admin.users, DEMO_USER, Role.TRADER, (DEMO_GROUP,), users)
    name, login, password = MANAGER_USER
    await _ensure_user(admin.users, name, Role.MANAGER, (DEMO_GROUP,), users, (login, password))
    accounts = await _add_accounts(admin, UserId(demo.id))
    logins = {a.login for a in accounts}
    orders = await _place_orders(admin, UserId(demo.id), logins, demo_orders(today))
    return DemoSeed(instruments, tuple(users), tuple(a.name for a in accounts), orders)


async def issue_demo_token(admin: Administration, label: str = "ordergate init") -> str:
    """A new bearer token for the demo user (tokens are stored hashed: none can be shown
    again, so each call makes a fresh one)."""
    return await admin.users.create_token(DEMO_USER, label)
