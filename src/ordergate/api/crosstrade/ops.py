"""Operations: each CrossTrade request is one handler over one args model (path parameters,
body and query fields together), registered under its RPC name, so that the REST route and
the WebSocket ``rpc`` run exactly the same code and answer the same body."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from starlette.requests import Request

from ordergate.api.bodies import body_model, invalid, validate
from ordergate.api.crosstrade.instruments import resolve_instrument
from ordergate.api.openapi import TrimmedModel, decimal_schema
from ordergate.bootstrap import Container
from ordergate.domain.errors import InstrumentNotFound, InvalidInput
from ordergate.domain.ids import ORDER_ID_PATTERN, OrderId
from ordergate.domain.principal import Principal
from ordergate.engine.engine import OrderEngine

__all__ = [
    "OPERATIONS",
    "CLIENT_ID_PATTERN",
    "AccountName",
    "Args",
    "Ctx",
    "Operation",
    "OrderIdText",
    "PositiveDecimal",
    "body_args",
    "invalid",
    "operation",
    "query_args",
    "run",
    "validate",
]

M = TypeVar("M", bound=BaseModel)


class Args(TrimmedModel):
    """Base of every operation's arguments. A field the docs do not know is ignored, as
    upstream ignores it (scripts send fields of newer or older doc generations); so a
    misspelt ``instrument`` cancels the whole account there as here."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


#: An account as the operations take it (the path parameter of most routes).
AccountName = Annotated[
    str, Field(min_length=1, max_length=64, description="Name of the account in NT8")
]
#: The caller's own id for an order (placement ``orderId``): 1-64 of these characters.
CLIENT_ID_PATTERN = "^[A-Za-z0-9_.:-]{1,64}$"
_CLIENT_ID = re.compile(CLIENT_ID_PATTERN)
_PLATFORM_ID = re.compile(ORDER_ID_PATTERN)
#: An order as a request names it: its id, or the caller's own id given at placement.
#: ``Ctx.order_id`` checks it (INVALID_INPUT, over REST and WebSocket alike); the pattern
#: documents that check.
OrderIdText = Annotated[
    str,
    Field(
        description="The order's id (32 lower-case hex), or the orderId the caller gave it "
        "at placement",
        json_schema_extra={"pattern": CLIENT_ID_PATTERN},
    ),
]
#: A quantity or a price. The domain checks it (INVALID_QUANTITY, INVALID_PRICE: positive, at
#: most 10 integer digits and 8 places); the schema documents that check.
PositiveDecimal = Annotated[Decimal, WithJsonSchema(decimal_schema(exclusive_minimum=0))]


@dataclass(frozen=True, slots=True)
class Ctx:
    """Who is calling, and the server they call."""

    container: Container
    principal: Principal

    @property
    def engine(self) -> OrderEngine:
        return self.container.engine

    async def symbol(self, raw: str) -> str:
        """The instrument ``raw`` names (NT8 name or alias), among those the market knows,
        else those in the database (added while the server runs)."""
        market = self.container.market
        exact = market.instrument(raw) if isinstance(raw, str) else None
        if exact is not None:  # the instrument's own symbol: nothing to resolve
            return exact.symbol
        now = self.container.clock.now()
        try:
            return resolve_instrument(raw, market.instruments(), now)
        except InstrumentNotFound:
            return resolve_instrument(raw, await self.engine.records.instruments(), now)

    async def order_id(self, account: str, ref: str) -> OrderId:
        """The id of the order ``ref`` names in ``account``: the order's own id, or the id
        the caller gave it at placement (for the order's whole life). An unknown one comes
        back as it is, for the use case to answer as unknown."""
        if not isinstance(ref, str) or not _CLIENT_ID.fullmatch(ref):
            raise InvalidInput("an order id is 32 lower-case hex, or 1-64 of A-Z a-z 0-9 _ . : -")
        if _PLATFORM_ID.fullmatch(ref) and self.engine.state.order(OrderId(ref)) is not None:
            return OrderId(ref)
        placed = await self.engine.client_order(self.principal, account, ref)
        return OrderId(ref) if placed is None else placed.id


Handler = Callable[[Ctx, Any], Awaitable[dict[str, Any]]]


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    args: type[BaseModel]
    handler: Handler


OPERATIONS: dict[str, Operation] = {}


def operation(name: str, args: type[BaseModel]) -> Callable[[Handler], Handler]:
    """Register the decorated handler as the RPC ``name`` taking ``args``."""

    def register(handler: Handler) -> Handler:
        if name in OPERATIONS:
            raise ValueError(f"operation {name} registered twice")
        OPERATIONS[name] = Operation(name, args, handler)
        return handler

    return register


async def body_args(request: Request, model: type[M], **path: Any) -> M:
    """The args of a POST/PUT: the JSON body (exact decimals) plus the path parameters."""
    return await body_model(request, model, **path)


def query_args(request: Request, model: type[M], **path: Any) -> M:
    """The args of a GET: the query string plus the path parameters."""
    return validate(model, {**request.query_params, **path}, "query")


async def run(ctx: Ctx, name: str, args: BaseModel) -> dict[str, Any]:
    return await OPERATIONS[name].handler(ctx, args)
