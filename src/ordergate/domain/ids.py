"""Identifiers: order ids (32 lower-case hex), tickets and logins (integers)."""

from __future__ import annotations

import re
import uuid
from typing import NewType

from ordergate.domain.errors import InvalidInput

__all__ = ["Login", "OrderId", "Ticket", "UserId", "new_order_id", "parse_order_id"]

OrderId = NewType("OrderId", str)
Ticket = NewType("Ticket", int)
Login = NewType("Login", int)
UserId = NewType("UserId", int)

_ORDER_ID = re.compile(r"[0-9a-f]{32}")


def new_order_id() -> OrderId:
    """A fresh order id: 32 lower-case hex characters (CrossTrade ``orderId``)."""
    return OrderId(uuid.uuid4().hex)


def parse_order_id(raw: str) -> OrderId:
    if not isinstance(raw, str) or not _ORDER_ID.fullmatch(raw):
        raise InvalidInput("order id must be 32 lower-case hex characters")
    return OrderId(raw)
