"""The admin API (role admin, ``Authorization: Bearer <API token>``): push quotes into the
simulated market and look at it, for tests and demos.

- ``POST /admin/quotes``: one quote ``{symbol, bid, ask, bid_size?, ask_size?, last?,
  last_size?}`` or a list of them, all taken or none; 200 with the resulting snapshots.
  Numbers may be JSON strings or numbers: both are read as exact decimals, never floats.
- ``GET /admin/market``: the snapshot of every quoted instrument.
- ``GET /admin/bars``: bars of one instrument, 1-minute or rolled up.

Errors have the default form ``{"error": CODE, "message": ...}``: 401 without a valid token,
403 for a user who is not an admin, 400 for a malformed body or a bad price, 404 for an
unknown instrument. Answers hold decimals as JSON strings (``JsonResponse``), as their
models (``Admin…``, documented through ``ok``) say.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, WithJsonSchema

from ordergate.api.bodies import parse_json
from ordergate.api.deps import ContainerDep, UsersDep
from ordergate.api.openapi import (
    DocumentedRoute,
    ErrorOut,
    WireModel,
    decimal_schema,
    error_responses,
    given,
    when,
)
from ordergate.api.responses import JsonResponse
from ordergate.bootstrap import Container
from ordergate.domain.errors import AuthError, InvalidInput, PermissionDenied
from ordergate.domain.principal import Principal, Role
from ordergate.venue.bars import MINUTES_PER_DAY
from ordergate.venue.base import Quote
from ordergate.venue.marketdata import MarketSnapshot

__all__ = [
    "ADMIN_RESPONSES",
    "MAX_QUOTES",
    "AdminBar",
    "AdminBars",
    "AdminDep",
    "AdminSnapshot",
    "DecimalText",
    "QuoteIn",
    "ok",
    "require_admin",
    "router",
]

#: Quotes one request may push.
MAX_QUOTES = 1000

#: What every admin request may answer besides its own errors: the caller's.
_CALLER_ERRORS = error_responses(
    {
        401: (
            "UNAUTHENTICATED",
            "missing bearer token (Authorization: Bearer <token>)",
            "No bearer token, or one that is unknown, revoked or of a disabled user",
        ),
        403: ("PERMISSION_DENIED", "user:demo is not an admin", "The token's user is no admin"),
    }
)
#: Any other refusal (FastAPI would list a 422 that is never answered without it).
_DEFAULT: dict[int | str, dict[str, Any]] = {
    "default": {
        "model": ErrorOut,
        "description": "Any other refusal, in the default error form",
        "content": {"application/json": {"example": {"error": "<CODE>", "message": "..."}}},
    }
}

#: The answers every admin route documents besides its own (admin_manage.py's too).
ADMIN_RESPONSES: dict[int | str, dict[str, Any]] = {**_CALLER_ERRORS, **_DEFAULT}


def ok(
    model: Any, example: Any, description: str = "Done", **errors: tuple[str, str, str]
) -> dict[int | str, dict[str, Any]]:
    """A route's documented answers: 200 with ``model`` (the route renders the body itself,
    so this documents it) and ``example``, and its own errors in the default form by status
    (``s404=(code, message, description)``)."""
    out: dict[int | str, dict[str, Any]] = {
        200: {
            "model": model,
            "description": description,
            "content": {"application/json": {"example": example}},
        }
    }
    out.update(error_responses({int(key[1:]): value for key, value in errors.items()}))
    return out


router = APIRouter(
    prefix="/admin", tags=["admin"], responses=ADMIN_RESPONSES, route_class=DocumentedRoute
)
_bearer = HTTPBearer(auto_error=False, description="An API token of a user with role admin.")


async def require_admin(
    users: UsersDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, who must hold an admin's bearer token: AuthError (401) without a valid
    one, PermissionDenied (403) for anyone else."""
    if credentials is None:
        raise AuthError("missing bearer token (Authorization: Bearer <token>)")
    principal = await users.authenticate_token(credentials.credentials)
    if principal.role is not Role.ADMIN:
        raise PermissionDenied(f"{principal.actor} is not an admin")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


#: A price or a size. The market checks it (INVALID_PRICE, INVALID_QUANTITY: positive, at
#: most 10 integer digits and 8 places, on the instrument's tick); the schema documents that.
_Positive = Annotated[Decimal, WithJsonSchema(decimal_schema(exclusive_minimum=0))]


class QuoteIn(BaseModel):
    """A quote to push; prices and sizes are exact decimals (strings or JSON numbers)."""

    # A trade's size needs its price (the market checks: INVALID_INPUT).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=when("last_size", {"not": {"type": "null"}}, given("last")),
    )

    symbol: str = Field(min_length=1, max_length=32)
    bid: _Positive
    ask: _Positive
    bid_size: _Positive | None = None
    ask_size: _Positive | None = None
    last: _Positive | None = None
    last_size: _Positive | None = None

    def quote(self, at: datetime) -> Quote:
        return Quote(
            self.symbol,
            self.bid,
            self.ask,
            at,
            self.bid_size,
            self.ask_size,
            self.last,
            self.last_size,
        )


#: An exact decimal as the admin API answers it: a JSON string ("5000.25"), never a number.
DecimalText = Annotated[Decimal, WithJsonSchema({"type": "string", "format": "decimal"})]


class AdminSnapshot(WireModel):
    """One instrument's market: prices and sizes as decimal strings, times RFC 3339 UTC.
    ``open``, ``high``, ``low`` and ``volume`` are of the quote's trading day (UTC)."""

    symbol: str
    bid: DecimalText
    ask: DecimalText
    bid_size: DecimalText | None
    ask_size: DecimalText | None
    last: DecimalText | None
    open: DecimalText
    high: DecimalText
    low: DecimalText
    close: DecimalText | None = Field(description="The previous trading day's last price.")
    volume: DecimalText
    at: datetime = Field(description="When the latest quote came.")


class AdminBar(WireModel):
    """One bar: the period starting at ``start`` (UTC, on a period boundary)."""

    start: datetime
    open: DecimalText
    high: DecimalText
    low: DecimalText
    close: DecimalText
    volume: DecimalText


class AdminBars(WireModel):
    """``period``-minute bars of ``symbol``, oldest first."""

    symbol: str
    period: int
    bars: list[AdminBar]


_SNAPSHOT_EXAMPLE = {
    "symbol": "ES 12-26",
    "bid": "5000.00",
    "ask": "5000.25",
    "bid_size": "3",
    "ask_size": "4",
    "last": "5000.25",
    "open": "4990.00",
    "high": "5001.50",
    "low": "4988.75",
    "close": "4992.25",
    "volume": "1250",
    "at": "2026-03-04T15:00:00+00:00",
}
_BARS_EXAMPLE = {
    "symbol": "ES 12-26",
    "period": 5,
    "bars": [
        {
            "start": "2026-03-04T15:00:00+00:00",
            "open": "5000.00",
            "high": "5000.25",
            "low": "5000.00",
            "close": "5000.25",
            "volume": "3",
        }
    ],
}

_QUOTES = TypeAdapter(list[QuoteIn])
_QUOTE_SCHEMA = QuoteIn.model_json_schema()
#: One quote or a list. The two carry titles of their own: a generator (openapi-python-client)
#: makes a class of each inline object by title, and refuses two of one name.
_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "anyOf": [
                    {**_QUOTE_SCHEMA, "title": "Quote"},
                    {
                        "type": "array",
                        "items": {**_QUOTE_SCHEMA, "title": "QuoteItem"},
                        "minItems": 1,
                        "maxItems": MAX_QUOTES,
                    },
                ]
            },
            "examples": {
                "one": {
                    "summary": "One quote",
                    "value": {"symbol": "EURUSD", "bid": "1.08001", "ask": "1.08003"},
                },
                "several": {
                    "summary": "A list, all taken or none",
                    "value": [
                        {"symbol": "EURUSD", "bid": "1.08001", "ask": "1.08003"},
                        {
                            "symbol": "ES 12-26",
                            "bid": "5000.00",
                            "ask": "5000.25",
                            "last": "5000.25",
                            "last_size": "2",
                        },
                    ],
                },
            },
        }
    },
}


def _parse_quotes(raw: bytes) -> list[QuoteIn]:
    """The body's quotes. JSON numbers become Decimals straight from their text (pydantic
    would read them through a float first and lose digits beyond the 17th)."""
    data = parse_json(raw) if raw.strip() else None
    single = isinstance(data, dict)
    if isinstance(data, dict):
        items: list[Any] = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise InvalidInput("the body must be a quote object or a list of quotes")
    if not 1 <= len(items) <= MAX_QUOTES:
        raise InvalidInput(f"send 1 to {MAX_QUOTES} quotes")
    try:
        return _QUOTES.validate_python(items)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False, include_context=False)
        for error in errors:
            # A single quote's problems are reported at body.<field>, not body.0.<field>.
            loc = error["loc"][1:] if single else error["loc"]
            error["loc"] = ("body", *loc)
        raise RequestValidationError(errors) from None


async def _learn_instruments(container: Container, symbols: set[str]) -> None:
    """Instruments added since the start (``ordergate instrument add``) can be quoted too."""
    unknown = sorted(s for s in symbols if container.market.instrument(s) is None)
    if not unknown:
        return
    found = [i for s in unknown if (i := await container.engine.records.instrument(s)) is not None]
    for instrument in found:
        container.engine.learn_instrument(instrument)
    container.market.add_instruments(found)


def _snapshot(snapshot: MarketSnapshot) -> dict[str, Any]:
    return dataclasses.asdict(snapshot)


@router.post(
    "/quotes",
    summary="Push quotes into the simulated market",
    operation_id="AdminPushQuotes",
    openapi_extra={"requestBody": _BODY},
    responses=ok(
        list[AdminSnapshot],
        [_SNAPSHOT_EXAMPLE],
        "The snapshot after each quote, in order",
        s400=(
            "INVALID_PRICE",
            "ask 1.0998 is below bid 1.1 for EURUSD",
            "A malformed body, or a price or size the instrument refuses",
        ),
        s404=("INSTRUMENT_NOT_FOUND", "instrument XAUUSD not found", "An unknown symbol"),
    ),
)
async def push_quotes(request: Request, admin: AdminDep, container: ContainerDep) -> JsonResponse:
    """Take one quote or a list of quotes, stamped now, all or none (a bad one changes
    nothing); the venue matches resting orders against them. 200: the snapshots after each
    quote, in order."""
    quotes = _parse_quotes(await request.body())
    await _learn_instruments(container, {q.symbol for q in quotes})
    now = container.clock.now()
    snapshots = container.market.push_all([q.quote(now) for q in quotes])
    await container.market.flush()
    return JsonResponse([_snapshot(s) for s in snapshots])


@router.get(
    "/market",
    summary="The market of every quoted instrument",
    operation_id="AdminGetMarket",
    responses=ok(list[AdminSnapshot], [_SNAPSHOT_EXAMPLE], "Each quoted instrument's snapshot"),
)
async def market(admin: AdminDep, container: ContainerDep) -> JsonResponse:
    """Each quoted instrument's snapshot, by symbol."""
    return JsonResponse([_snapshot(s) for s in container.market.snapshots()])


#: The bar periods ``check_period`` takes: the minutes that divide a day.
_PERIODS = [n for n in range(1, MINUTES_PER_DAY + 1) if MINUTES_PER_DAY % n == 0]


@router.get(
    "/bars",
    summary="Bars of one instrument",
    operation_id="AdminGetBars",
    responses=ok(
        AdminBars,
        _BARS_EXAMPLE,
        "The bars, oldest first",
        s400=(
            "INVALID_INPUT",
            "bar period must divide 1440 minutes (1, 5, 15, 60...), got 7",
            "A malformed parameter",
        ),
        s404=("INSTRUMENT_NOT_FOUND", "instrument XAUUSD not found", "An unknown symbol"),
    ),
)
async def bars(
    admin: AdminDep,
    container: ContainerDep,
    symbol: Annotated[str, Query(min_length=1, max_length=32)],
    period: Annotated[
        int,
        Query(
            ge=1,
            le=MINUTES_PER_DAY,
            description=f"Minutes; must divide {MINUTES_PER_DAY}.",
            json_schema_extra={"enum": _PERIODS},
        ),
    ] = 1,
    start: Annotated[datetime | None, Query(description="UTC unless an offset is given.")] = None,
    end: Annotated[datetime | None, Query(description="Exclusive.")] = None,
    limit: Annotated[int, Query(ge=1, le=5000, description="The newest this many.")] = 500,
) -> JsonResponse:
    """``period``-minute bars of ``symbol`` starting in [start, end), oldest first."""
    start, end = (t if t is None or t.tzinfo else t.replace(tzinfo=UTC) for t in (start, end))
    found = await container.market.bars(symbol, period, start, end, limit)
    rows = [{k: v for k, v in dataclasses.asdict(b).items() if k != "symbol"} for b in found]
    return JsonResponse({"symbol": symbol, "period": period, "bars": rows})
