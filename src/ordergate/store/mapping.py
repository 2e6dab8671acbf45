"""Rows to domain objects and back. The domain never sees a row."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import time
from typing import Any

from sqlalchemy import RowMapping

from ordergate.domain.accounts import Account, PositionMode
from ordergate.domain.ids import Login, OrderId, Ticket, UserId
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.domain.orders import Order, OrderStatus, OrderType, Side, TimeInForce
from ordergate.domain.positions import PositionTicket

__all__ = [
    "account_from_row",
    "instrument_from_row",
    "instrument_values",
    "order_from_row",
    "order_values",
    "position_from_row",
    "position_values",
    "sessions_from_json",
    "sessions_to_json",
]


def sessions_to_json(sessions: tuple[TradingSession, ...]) -> str:
    return json.dumps(
        [
            {
                "days": sorted(s.days),
                "start": s.start.strftime("%H:%M"),
                "end": s.end.strftime("%H:%M"),
            }
            for s in sessions
        ]
    )


def sessions_from_json(raw: str) -> tuple[TradingSession, ...]:
    return tuple(
        TradingSession(
            frozenset(item["days"]),
            time.fromisoformat(item["start"]),
            time.fromisoformat(item["end"]),
        )
        for item in json.loads(raw)
    )


def instrument_from_row(row: RowMapping) -> Instrument:
    return Instrument(
        symbol=row["symbol"],
        tick_size=row["tick_size"],
        point_value=row["point_value"],
        digits=row["digits"],
        lot_min=row["lot_min"],
        lot_max=row["lot_max"],
        lot_step=row["lot_step"],
        currency=row["currency"],
        description=row["description"],
        sessions=sessions_from_json(row["sessions"]),
    )


def instrument_values(i: Instrument) -> dict[str, Any]:
    return {
        "symbol": i.symbol,
        "description": i.description,
        "currency": i.currency,
        "tick_size": i.tick_size,
        "point_value": i.point_value,
        "digits": i.digits,
        "lot_min": i.lot_min,
        "lot_max": i.lot_max,
        "lot_step": i.lot_step,
        "sessions": sessions_to_json(i.sessions),
    }


def account_from_row(row: Mapping[Any, Any]) -> Account:
    return Account(
        login=Login(row["login"]),
        name=row["name"],
        owner_id=UserId(row["owner_id"]),
        group=row["group_name"],
        currency=row["currency"],
        balance=row["balance"],
        leverage=row["leverage"],
        mode=PositionMode(row["mode"]),
        enabled=row["enabled"],
    )


def order_from_row(row: RowMapping) -> Order:
    prior = row["prior_status"]
    closes = row["closes_ticket"]
    return Order(
        id=OrderId(row["id"]),
        ticket=Ticket(row["ticket"]),
        login=Login(row["login"]),
        symbol=row["symbol"],
        side=Side(row["side"]),
        type=OrderType(row["type"]),
        quantity=row["quantity"],
        filled=row["filled"],
        avg_fill_price=row["avg_fill_price"],
        limit_price=row["limit_price"],
        stop_price=row["stop_price"],
        tif=TimeInForce(row["tif"]),
        expires_at=row["expires_at"],
        oco=row["oco"],
        tag=row["tag"],
        stop_loss=row["stop_loss"],
        take_profit=row["take_profit"],
        comment=row["comment"],
        closes_ticket=None if closes is None else Ticket(closes),
        status=OrderStatus(row["status"]),
        prior_status=None if prior is None else OrderStatus(prior),
        version=row["version"],
        request_id=row["request_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        client_id=row["client_id"],
    )


def order_values(o: Order) -> dict[str, Any]:
    """Every column of ``o`` but the ticket (assigned by the database)."""
    return {
        "id": o.id,
        "login": o.login,
        "symbol": o.symbol,
        "side": o.side.value,
        "type": o.type.value,
        "quantity": o.quantity,
        "filled": o.filled,
        "avg_fill_price": o.avg_fill_price,
        "limit_price": o.limit_price,
        "stop_price": o.stop_price,
        "tif": o.tif.value,
        "expires_at": o.expires_at,
        "oco": o.oco,
        "tag": o.tag,
        "stop_loss": o.stop_loss,
        "take_profit": o.take_profit,
        "comment": o.comment,
        "closes_ticket": o.closes_ticket,
        "status": o.status.value,
        "prior_status": None if o.prior_status is None else o.prior_status.value,
        "version": o.version,
        "request_id": o.request_id,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
        "client_id": o.client_id,
    }


def position_from_row(row: RowMapping) -> PositionTicket:
    return PositionTicket(
        ticket=Ticket(row["ticket"]),
        login=Login(row["login"]),
        symbol=row["symbol"],
        side=Side(row["side"]),
        quantity=row["quantity"],
        open_price=row["open_price"],
        opened_at=row["opened_at"],
        closed_quantity=row["closed_quantity"],
        close_price=row["close_price"],
        realized_pnl=row["realized_pnl"],
        closed_at=row["closed_at"],
        stop_loss=row["stop_loss"],
        take_profit=row["take_profit"],
    )


def position_values(p: PositionTicket) -> dict[str, Any]:
    return {
        "ticket": p.ticket,
        "login": p.login,
        "symbol": p.symbol,
        "side": p.side.value,
        "quantity": p.quantity,
        "closed_quantity": p.closed_quantity,
        "open_price": p.open_price,
        "close_price": p.close_price,
        "realized_pnl": p.realized_pnl,
        "stop_loss": p.stop_loss,
        "take_profit": p.take_profit,
        "opened_at": p.opened_at,
        "closed_at": p.closed_at,
    }
