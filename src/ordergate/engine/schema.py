"""The event schema: how bus events look on the wire. This is the contract the dialects'
WebSocket streams build on; renaming a field here breaks clients (tests/unit/test_bus.py pins
every name).

Every message is an envelope::

    {"seq": 42, "type": "order", "at": "2026-11-20T15:30:00.000000Z", "data": {...}}

- ``seq``: integer, strictly increasing across everything one subscriber receives. It is
  global to the process (every event the bus publishes takes the next number, whoever it is
  for), so a subscriber with filters sees gaps in it; gaps mean "not for you", not "lost".
  Losses are announced by a ``lagged`` envelope. Numbering restarts at 1 with the process.
- ``type``: ``"quote"``, ``"order"``, ``"fill"``, ``"position"`` or ``"lagged"``.
- ``at``: when the bus published it. The event's own time is ``data.at``.
- ``data``: the fields of the type, below.

Values: decimals are strings in plain notation without trailing zeros (``"5000.25"``,
``"0.00001"``, ``"-12.5"``, ``"0"``), so that the same value always reads the same; times
are ISO-8601 UTC with microseconds and ``Z`` (``"2026-11-20T15:30:00.000000Z"``); enums are
their lower-case values; ``null`` where a value is absent.

``quote`` — a new top of book for an instrument:
    ``symbol``, ``bid``, ``ask``, ``bid_size`` (or null), ``ask_size`` (or null),
    ``last`` (or null), ``last_size`` (or null), ``at``.
``order`` — an order moved from one status to another (the audit trail, live):
    ``order_id`` (32 hex), ``ticket`` (int), ``login`` (int), ``symbol``,
    ``from_status`` (null when the order was just created), ``to_status``, ``reason``, ``at``.
    Statuses: submitted, accepted, working, partially_filled, pending_change, pending_cancel,
    cancelled, expired, filled, rejected.
``fill`` — an execution of (part of) an order:
    ``order_id``, ``ticket`` (the order's), ``login``, ``symbol``, ``side`` (buy/sell),
    ``quantity``, ``price``, ``at``.
``position`` — a position ticket opened, grown, reduced or closed by a fill:
    ``ticket`` (the position ticket), ``login``, ``symbol``, ``side``, ``quantity``
    (what is still open; ``"0"`` = closed), ``open_price``, ``realized_pnl``, ``at``.
``lagged`` — the subscriber read too slowly and its queue overflowed; the oldest events it
had not read were dropped:
    ``missed`` (how many), ``first_seq``, ``last_seq`` (the seq range they fell in; the
    envelope's own ``seq`` is ``last_seq``). What follows is newer than ``last_seq``; a client
    that needs every event resyncs from a snapshot (the REST order and position lists).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from ordergate.domain.events import (
    Event,
    MarketQuote,
    MonitorLogged,
    OrderFilled,
    OrderTransitioned,
    PositionChanged,
)

__all__ = [
    "KINDS",
    "Envelope",
    "EventKind",
    "Lagged",
    "kind_of",
    "to_wire",
    "wire_decimal",
    "wire_time",
]

EventKind = Literal["quote", "order", "fill", "position", "monitor"]

#: The stable name of each event type on the wire.
_KIND: Final[Mapping[type, EventKind]] = {
    MarketQuote: "quote",
    OrderTransitioned: "order",
    OrderFilled: "fill",
    PositionChanged: "position",
    MonitorLogged: "monitor",
}
KINDS: Final[frozenset[str]] = frozenset(_KIND.values())


@dataclass(frozen=True, slots=True)
class Lagged:
    """What a subscriber missed because it read too slowly (see the module docstring)."""

    missed: int
    first_seq: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class Envelope:
    """One message of a subscription: an event (or a ``Lagged`` notice) with its number.

    ``data`` is the domain object, for in-process readers; ``to_wire`` gives the JSON form.
    """

    seq: int
    type: str
    at: datetime
    data: Event | Lagged

    def to_wire(self) -> dict[str, Any]:
        data = self.data
        body = (
            {"missed": data.missed, "first_seq": data.first_seq, "last_seq": data.last_seq}
            if isinstance(data, Lagged)
            else to_wire(data)
        )
        return {"seq": self.seq, "type": self.type, "at": wire_time(self.at), "data": body}


def kind_of(event: Event) -> EventKind:
    """The wire name of ``event``'s type."""
    return _KIND[type(event)]


def wire_decimal(value: Decimal) -> str:
    """Plain notation, no trailing zeros: ``Decimal("5000.25000000")`` -> ``"5000.25"``."""
    if value == 0:
        return "0"  # also for -0 and 0E-8, which would otherwise read "-0" / "0.00000000"
    return format(value.normalize(), "f")


def _opt_decimal(value: Decimal | None) -> str | None:
    return None if value is None else wire_decimal(value)


def wire_time(at: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z``; a naive time is a bug, not a guess."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at!r} cannot go on the wire")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _quote(e: MarketQuote) -> dict[str, Any]:
    return {
        "symbol": e.symbol,
        "bid": wire_decimal(e.bid),
        "ask": wire_decimal(e.ask),
        "bid_size": _opt_decimal(e.bid_size),
        "ask_size": _opt_decimal(e.ask_size),
        "last": _opt_decimal(e.last),
        "last_size": _opt_decimal(e.last_size),
        "at": wire_time(e.at),
    }


def _order(e: OrderTransitioned) -> dict[str, Any]:
    return {
        "order_id": str(e.order_id),
        "ticket": int(e.ticket),
        "login": int(e.login),
        "symbol": e.symbol,
        "from_status": None if e.from_status is None else e.from_status.value,
        "to_status": e.to_status.value,
        "reason": e.reason,
        "at": wire_time(e.at),
    }


def _fill(e: OrderFilled) -> dict[str, Any]:
    return {
        "order_id": str(e.order_id),
        "ticket": int(e.ticket),
        "login": int(e.login),
        "symbol": e.symbol,
        "side": e.side.value,
        "quantity": wire_decimal(e.quantity),
        "price": wire_decimal(e.price),
        "at": wire_time(e.at),
    }


def _position(e: PositionChanged) -> dict[str, Any]:
    return {
        "ticket": int(e.ticket),
        "login": int(e.login),
        "symbol": e.symbol,
        "side": e.side.value,
        "quantity": wire_decimal(e.quantity),
        "open_price": wire_decimal(e.open_price),
        "realized_pnl": wire_decimal(e.realized_pnl),
        "at": wire_time(e.at),
    }


def _monitor(e: MonitorLogged) -> dict[str, Any]:
    return {
        "login": int(e.login),
        "type": e.type,
        "message": e.message,
        "actor": e.actor,
        "state": e.state,
        "locked": e.locked,
        "at": wire_time(e.at),
    }


# Any: each formatter takes its own event type; _KIND and this table list the same types.
_FORMAT: Final[Mapping[type, Callable[[Any], dict[str, Any]]]] = {
    MarketQuote: _quote,
    OrderTransitioned: _order,
    OrderFilled: _fill,
    PositionChanged: _position,
    MonitorLogged: _monitor,
}


def to_wire(event: Event) -> dict[str, Any]:
    """The JSON-safe ``data`` of ``event`` (orjson- and json-serialisable as it is)."""
    return _FORMAT[type(event)](event)
