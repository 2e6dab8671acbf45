"""The journal's rows: domain objects to plain column values and back, for the drivers the
journal talks to directly (sqlite3, asyncpg). Numbers are integers of 10**-SCALE units
(``Fixed``) and times UTC, as the SQLAlchemy column types store them (store/types.py), so
that what the journal writes reads back the same through SQLAlchemy."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.ids import Login, OrderId, Ticket, UserId
from ordergate.domain.instruments import Instrument
from ordergate.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.positions import Fill, PositionTicket
from ordergate.engine.journal import Transitioned
from ordergate.store.mapping import sessions_from_json
from ordergate.store.tables import accounts, fills, instruments, order_events, orders, positions
from ordergate.store.types import from_units, to_units

__all__ = [
    "ACCOUNT_COLUMNS",
    "EVENT_COLUMNS",
    "FILL_COLUMNS",
    "INSTRUMENT_COLUMNS",
    "ORDER_COLUMNS",
    "ORDER_UPDATE_COLUMNS",
    "POSITION_COLUMNS",
    "Times",
    "account_of",
    "event_row",
    "fill_row",
    "instrument_of",
    "order_of",
    "order_row",
    "order_update_row",
    "position_of",
    "position_row",
    "sqlite_time",
    "sqlite_time_in",
]

ORDER_COLUMNS: Final = tuple(c.name for c in orders.c)
#: What a change of a stored order writes: all but its key and what never changes.
ORDER_UPDATE_COLUMNS: Final = tuple(
    c
    for c in ORDER_COLUMNS
    if c not in ("ticket", "id", "login", "symbol", "side", "created_at", "client_id")
)
if ORDER_COLUMNS[5:23] + ORDER_COLUMNS[24:25] != ORDER_UPDATE_COLUMNS or len(ORDER_COLUMNS) != 26:
    raise RuntimeError(f"orders' columns changed: {ORDER_COLUMNS}")  # order_row's order
POSITION_COLUMNS: Final = tuple(c.name for c in positions.c)
EVENT_COLUMNS: Final = tuple(c.name for c in order_events.c if c.name != "id")
FILL_COLUMNS: Final = tuple(c.name for c in fills.c if c.name != "id")
ACCOUNT_COLUMNS: Final = tuple(c.name for c in accounts.c)
INSTRUMENT_COLUMNS: Final = tuple(c.name for c in instruments.c)
if POSITION_COLUMNS != (
    "ticket",
    "login",
    "symbol",
    "side",
    "quantity",
    "closed_quantity",
    "open_price",
    "close_price",
    "realized_pnl",
    "stop_loss",
    "take_profit",
    "opened_at",
    "closed_at",
):  # position_row writes them in this order
    raise RuntimeError(f"positions' columns changed: {POSITION_COLUMNS}")

#: A time as the driver takes it (text on SQLite, an aware datetime on PostgreSQL).
Times = Callable[[datetime], Any]


def sqlite_time(value: datetime) -> str:
    """SQLAlchemy's SQLite text of a UTC time (what ``UtcDateTime`` writes there)."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def sqlite_time_in(value: Any) -> datetime:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


_UNITS: dict[Decimal, int] = {}
#: Distinct numbers ``_units`` remembers before it starts again.
_UNITS_KEPT: Final = 1 << 16


def _units(value: Decimal | None) -> int | None:
    """``to_units``, remembered: a batch's prices and sizes repeat (one quote fills many
    orders at one price)."""
    if value is None:
        return None
    found = _UNITS.get(value)
    if found is None:
        if len(_UNITS) >= _UNITS_KEPT:
            _UNITS.clear()
        found = _UNITS[value] = to_units(value)
    return found


def _dec(value: int | None) -> Decimal | None:
    return None if value is None else from_units(int(value))


def _time(times: Times, value: datetime | None) -> Any:
    return None if value is None else times(value)


def order_row(o: Order, times: Times) -> tuple[Any, ...]:
    """Every column of ``o``, in ``ORDER_COLUMNS``' order."""
    return (
        o.ticket,
        o.id,
        o.login,
        o.symbol,
        o.side.value,
        o.type.value,
        _units(o.quantity),
        _units(o.filled),
        _units(o.avg_fill_price),
        _units(o.limit_price),
        _units(o.stop_price),
        o.tif.value,
        _time(times, o.expires_at),
        o.oco,
        o.tag,
        _units(o.stop_loss),
        _units(o.take_profit),
        o.comment,
        o.closes_ticket,
        o.status.value,
        None if o.prior_status is None else o.prior_status.value,
        o.version,
        o.request_id,
        times(o.created_at),
        times(o.updated_at),
        o.client_id,
    )


def order_update_row(o: Order, times: Times) -> tuple[Any, ...]:
    """``ORDER_UPDATE_COLUMNS`` of ``o``, then its ticket: ``order_row`` without its key and
    what never changes (the slices the module's column check fixes)."""
    row = order_row(o, times)
    return (*row[5:23], row[24], row[0])


def order_of(row: Sequence[Any], times_in: Callable[[Any], datetime]) -> Order:
    """An order from its row in ``ORDER_COLUMNS``' order."""
    (
        ticket,
        oid,
        login,
        symbol,
        side,
        kind,
        quantity,
        filled,
        avg,
        limit,
        stop,
        tif,
        expires,
        oco,
        tag,
        stop_loss,
        take_profit,
        comment,
        closes,
        status,
        prior,
        version,
        request_id,
        created,
        updated,
        client_id,
    ) = row
    return Order(
        id=OrderId(oid),
        ticket=Ticket(ticket),
        login=Login(login),
        symbol=symbol,
        side=Side(side),
        type=OrderType(kind),
        quantity=from_units(quantity),
        filled=from_units(filled),
        avg_fill_price=_dec(avg),
        limit_price=_dec(limit),
        stop_price=_dec(stop),
        tif=TimeInForce(tif),
        expires_at=None if expires is None else times_in(expires),
        oco=oco,
        tag=tag,
        stop_loss=_dec(stop_loss),
        take_profit=_dec(take_profit),
        comment=comment,
        closes_ticket=None if closes is None else Ticket(closes),
        status=OrderStatus(status),
        prior_status=None if prior is None else OrderStatus(prior),
        version=version,
        request_id=request_id,
        created_at=times_in(created),
        updated_at=times_in(updated),
        client_id=client_id,
    )


def position_row(p: PositionTicket, times: Times) -> tuple[Any, ...]:
    """Every column of ``p``, in ``POSITION_COLUMNS``' order."""
    return (
        p.ticket,
        p.login,
        p.symbol,
        p.side.value,
        _units(p.quantity),
        _units(p.closed_quantity),
        _units(p.open_price),
        _units(p.close_price),
        _units(p.realized_pnl),
        _units(p.stop_loss),
        _units(p.take_profit),
        times(p.opened_at),
        _time(times, p.closed_at),
    )


def position_of(row: Mapping[str, Any], times_in: Callable[[Any], datetime]) -> PositionTicket:
    closed = row["closed_at"]
    return PositionTicket(
        ticket=Ticket(row["ticket"]),
        login=Login(row["login"]),
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=from_units(row["quantity"]),
        open_price=from_units(row["open_price"]),
        opened_at=times_in(row["opened_at"]),
        closed_quantity=from_units(row["closed_quantity"]),
        close_price=_dec(row["close_price"]),
        realized_pnl=from_units(row["realized_pnl"]),
        closed_at=None if closed is None else times_in(closed),
        stop_loss=_dec(row["stop_loss"]),
        take_profit=_dec(row["take_profit"]),
    )


def event_row(e: Transitioned, times: Times) -> tuple[Any, ...]:
    """An audit row in ``EVENT_COLUMNS``' order."""
    return (
        e.ticket,
        None if e.from_status is None else e.from_status.value,
        e.to_status.value,
        e.reason,
        e.actor,
        e.request_id,
        times(e.at),
    )


def fill_row(f: Fill, times: Times) -> tuple[Any, ...]:
    """A fill in ``FILL_COLUMNS``' order."""
    return (
        f.order_ticket,
        f.login,
        f.symbol,
        f.side.value,
        _units(f.quantity),
        _units(f.price),
        times(f.at),
    )


def account_of(row: Mapping[str, Any]) -> Account:
    return Account(
        login=Login(row["login"]),
        name=row["name"],
        owner_id=UserId(row["owner_id"]),
        group=row["group_name"],
        currency=row["currency"],
        balance=from_units(row["balance"]),
        leverage=row["leverage"],
        mode=PositionMode(row["mode"]),
        enabled=bool(row["enabled"]),
    )


def instrument_of(row: Mapping[str, Any]) -> Instrument:
    return Instrument(
        symbol=row["symbol"],
        tick_size=from_units(row["tick_size"]),
        point_value=from_units(row["point_value"]),
        digits=row["digits"],
        lot_min=from_units(row["lot_min"]),
        lot_max=from_units(row["lot_max"]),
        lot_step=from_units(row["lot_step"]),
        currency=row["currency"],
        description=row["description"],
        sessions=sessions_from_json(row["sessions"]),
    )
