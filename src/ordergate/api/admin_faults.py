"""The simulated venue's faults over the admin API (role admin, ``Authorization: Bearer <API
token>``): the venue made slow, picky or closed on a running server, venue-wide or for one
instrument. What ``ordergate.testing``'s ``Sandbox.faults`` does in process, for a bot tested
against a server it does not own.

- ``GET /admin/faults``: the venue-wide rules (``venue``), the instruments' overrides
  (``symbols``), and whether the instruments' trading hours apply (``sessions``, the
  ``sim_sessions`` setting; read-only here).
- ``PUT /admin/faults``: change some of the six rules, venue-wide or, with ``symbol`` (a
  known instrument), for that instrument alone; a symbol without an override starts from the
  venue-wide rules. Rules left out (or null) keep their value; a value out of range is 400
  and changes nothing. 200: the rules after it.
- ``DELETE /admin/faults?symbol=``: drop the instrument's override: it follows the venue-wide
  rules again. Without ``symbol``: every rule back to what the server started with (its
  ``sim_*`` settings). 200: the rules after it.

An override holds all six rules, so an instrument with one does not follow later venue-wide
changes until it is dropped. Faults live in the server's memory: a restart or ``POST
/admin/reset`` brings back the settings' rules. Delays run on the server's clock.

Errors have the default form ``{"error": CODE, "message": ...}``: 400 for a malformed body
or a value out of range, 404 for an unknown instrument.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from ordergate.api.admin import ADMIN_RESPONSES, AdminDep, ok
from ordergate.api.deps import ContainerDep
from ordergate.api.openapi import DocumentedRoute, WireModel
from ordergate.api.responses import JsonResponse
from ordergate.bootstrap import Container
from ordergate.domain.errors import InstrumentNotFound
from ordergate.settings import venue_config
from ordergate.venue.rules import VenueConfig, VenueRules

__all__ = ["MAX_DELAY_MS", "AdminFaults", "AdminFaultsChange", "AdminVenueRules", "router"]

#: The longest delay ``VenueRules`` takes, in milliseconds (an hour).
MAX_DELAY_MS = 3_600_000

router = APIRouter(
    prefix="/admin", tags=["admin"], responses=ADMIN_RESPONSES, route_class=DocumentedRoute
)

_ACK = "Milliseconds before the venue acknowledges an order (new, changed or replaced)."
_FILL = "Milliseconds from the quote that crosses an order to its fill."
_CANCEL = "Milliseconds before the venue takes a cancel."
_REFUSAL = "Percent of the cancels reaching the venue that it refuses (a busy dealer)."
_PARTIAL = "Fill no more than the quote's size; otherwise a crossing order fills in full."
_CLOSED = "Closed by the operator, whatever the sessions say: orders and cancels refused."

_Delay = Annotated[int, Field(ge=0, le=MAX_DELAY_MS)]
_Percent = Annotated[int, Field(ge=0, le=100)]
_Symbol = Annotated[str, Field(min_length=1, max_length=32)]


class AdminVenueRules(WireModel):
    """How the venue treats an instrument."""

    ack_delay_ms: _Delay = Field(description=_ACK)
    fill_delay_ms: _Delay = Field(description=_FILL)
    cancel_delay_ms: _Delay = Field(description=_CANCEL)
    cancel_refusal_pct: _Percent = Field(description=_REFUSAL)
    partial_fills: bool = Field(description=_PARTIAL)
    market_closed: bool = Field(description=_CLOSED)


class AdminFaults(WireModel):
    """The venue's rules now."""

    sessions: Literal["enforce", "ignore"] = Field(
        description="`enforce`: instruments trade within their sessions only; `ignore`: "
        "around the clock (the server's sim_sessions setting)."
    )
    venue: AdminVenueRules = Field(description="The rules of every instrument without its own.")
    symbols: dict[str, AdminVenueRules] = Field(
        description="The instruments with rules of their own, by symbol."
    )


class AdminFaultsChange(BaseModel):
    """Rules to change, venue-wide or (``symbol``) for one instrument; a rule left out or
    null keeps its value. JSON types exactly: integers for the numbers, booleans."""

    model_config = ConfigDict(extra="forbid", strict=True)

    symbol: _Symbol | None = Field(
        default=None, description="A known instrument; left out: the venue-wide rules."
    )
    ack_delay_ms: _Delay | None = Field(default=None, description=_ACK)
    fill_delay_ms: _Delay | None = Field(default=None, description=_FILL)
    cancel_delay_ms: _Delay | None = Field(default=None, description=_CANCEL)
    cancel_refusal_pct: _Percent | None = Field(default=None, description=_REFUSAL)
    partial_fills: bool | None = Field(default=None, description=_PARTIAL)
    market_closed: bool | None = Field(default=None, description=_CLOSED)

    def changes(self) -> dict[str, int | bool]:
        return {
            name: value
            for name, value in self.model_dump(exclude={"symbol"}).items()
            if value is not None
        }


def _rules(rules: VenueRules) -> dict[str, Any]:
    return dataclasses.asdict(rules)


def _faults(config: VenueConfig) -> JsonResponse:
    return JsonResponse(
        {
            "sessions": config.sessions,
            "venue": _rules(config.default),
            "symbols": {s: _rules(config.per_symbol[s]) for s in sorted(config.per_symbol)},
        }
    )


async def _known(container: Container, symbol: str) -> None:
    """InstrumentNotFound unless ``symbol`` is an instrument (one added since the start too)."""
    known = container.market.instrument(symbol) or await container.engine.records.instrument(symbol)
    if known is None:
        raise InstrumentNotFound(f"instrument {symbol} not found")


_RULES_EXAMPLE = {
    "ack_delay_ms": 0,
    "fill_delay_ms": 0,
    "cancel_delay_ms": 0,
    "cancel_refusal_pct": 0,
    "partial_fills": False,
    "market_closed": False,
}
_EXAMPLE = {
    "sessions": "enforce",
    "venue": _RULES_EXAMPLE,
    "symbols": {"ES 03-26": {**_RULES_EXAMPLE, "ack_delay_ms": 5000, "cancel_refusal_pct": 100}},
}
_UNKNOWN = ("INSTRUMENT_NOT_FOUND", "instrument XAUUSD not found", "An unknown symbol")


@router.get(
    "/faults",
    summary="The simulated venue's rules",
    operation_id="AdminGetFaults",
    responses=ok(AdminFaults, _EXAMPLE, "The venue-wide rules and the instruments' own"),
)
async def faults(admin: AdminDep, container: ContainerDep) -> JsonResponse:
    """The venue-wide rules, the instruments' overrides and the sessions rule."""
    return _faults(container.venue.config)


@router.put(
    "/faults",
    summary="Make the simulated venue misbehave",
    operation_id="AdminSetFaults",
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "example": {"symbol": "ES 03-26", "ack_delay_ms": 5000, "market_closed": True}
                }
            }
        }
    },
    responses=ok(
        AdminFaults,
        _EXAMPLE,
        "The rules after the change",
        s400=(
            "INVALID_INPUT",
            "body.cancel_refusal_pct: Input should be less than or equal to 100",
            "A malformed body or a value out of range: nothing changed",
        ),
        s404=_UNKNOWN,
    ),
)
async def set_faults(
    admin: AdminDep, container: ContainerDep, change: AdminFaultsChange
) -> JsonResponse:
    """Change the rules given, for ``symbol`` or venue-wide; the others keep their value."""
    config = container.venue.config
    changes = change.changes()
    if change.symbol is not None:
        await _known(container, change.symbol)
    if changes:  # nothing to change makes no override either
        config.set(change.symbol, **changes)
    return _faults(config)


@router.delete(
    "/faults",
    summary="Clear the simulated venue's faults",
    operation_id="AdminClearFaults",
    responses=ok(AdminFaults, _EXAMPLE, "The rules after clearing", s404=_UNKNOWN),
)
async def clear_faults(
    admin: AdminDep,
    container: ContainerDep,
    symbol: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=32,
            description="Drop this instrument's override; left out: every rule back to the "
            "server's settings.",
        ),
    ] = None,
) -> JsonResponse:
    """Drop ``symbol``'s override, or bring every rule back to the server's settings."""
    config = container.venue.config
    if symbol is not None:
        await _known(container, symbol)
        config.per_symbol.pop(symbol, None)
    else:
        started = venue_config(container.settings)
        config.default = started.default
        config.per_symbol = dict(started.per_symbol)
    return _faults(config)
