"""ScaleTrade's account reads: ``GET /account/me`` (the profile and its figures), ``GET
/account/balance`` (the figures alone, as the stream's ``b`` event carries them) and ``GET
/balances/list`` (the figures of several logins).

Figures are valued at the current quotes: equity is balance + floating profit, margin the
notional of the open trades over the account's leverage, ``margin_level`` equity / margin x
100 (0 with no margin in use). The simulated venue keeps no credit, charges no commission
or swap and calls no margin: ``credit``, ``commission``, ``storage`` and ``level_type`` are 0.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Annotated, Any, Final

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.openapi import DocumentedRoute, field_schema
from ordergate.api.scaletrade.answers import (
    ScaleTradeAccount,
    ScaleTradeBalances,
    ScaleTradeFigures,
)
from ordergate.api.scaletrade.args import read_args
from ordergate.api.scaletrade.docs import query_parameters, responses
from ordergate.api.scaletrade.models import LoginField
from ordergate.api.scaletrade.session import Session, SessionDep
from ordergate.api.scaletrade.wire import ScaleTradeJson, price, unix
from ordergate.domain.accounts import Account
from ordergate.engine import queries
from ordergate.engine.accounting import AccountState

__all__ = ["MAX_LOGINS", "figures", "router"]

router = APIRouter(tags=["ScaleTrade"], route_class=DocumentedRoute)

#: The most logins one ``/balances/list`` names.
MAX_LOGINS: Final = 1000
_ZERO = Decimal(0)
#: ``level_type``: 0 OK (1 margin call, 2 stop-out: the venue calls neither).
_LEVEL_OK = 0


def figures(state: AccountState) -> dict[str, Any]:
    """An account's figures now, as ``/account/balance`` and ``/balances/list`` answer them
    (the same as the stream's ``b`` event)."""
    return {
        "login": state.login,
        "balance": price(state.balance),
        "credit": _ZERO,
        "equity": price(state.equity),
        "margin": price(state.margin_used),
        "margin_free": price(state.free_margin),
        "margin_level": price(state.margin_level),
        "level_type": _LEVEL_OK,
        "profit": price(state.unrealized_pnl),
        "storage": _ZERO,
        "commission": _ZERO,
    }


class LoginQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: LoginField | None = None


class LoginsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    logins: Annotated[list[LoginField], Field(min_length=1, max_length=MAX_LOGINS)]


_LOGIN = (
    "login",
    "Account login (default: a client session's own; a manager or admin names one)",
    field_schema(LoginQuery, "login"),
    False,
)
_FIGURES_EXAMPLE = {
    "login": 1001,
    "balance": 100000,
    "credit": 0,
    "equity": 100004.25,
    "margin": 1100.02,
    "margin_free": 98904.23,
    "margin_level": 9090.76,
    "level_type": 0,
    "profit": 4.25,
    "storage": 0,
    "commission": 0,
}
_DECISIONS = (
    "`margin_level` is equity / margin x 100 (MT4's rule; ScaleTrade's two examples divide "
    "the balance instead), 0 with no margin in use; `profit` the floating profit of the open "
    "trades. `credit`, `commission`, `storage` and `level_type` are 0: the simulated venue "
    "keeps no credit, charges neither and calls no margin."
)


async def _state(s: Session, login: int | None) -> tuple[Account, AccountState]:
    account = await s.engine.account(s.principal, s.login(login))
    return account, queries.valued(s.engine, account)


def _day_and_month(now: datetime) -> tuple[datetime, datetime]:
    day = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    return day, day.replace(day=1)


@router.get(
    "/account/me",
    operation_id="GetAccountMe",
    summary="The account's profile and figures",
    description=(
        "ScaleTrade answers this to a client session, with no fields; here a manager or "
        "admin session names the login too (`login`, as on the other reads), and a client "
        "session may name its own. Profile fields ordergate does not keep (`avatar`, "
        "`email`, `phone`, `address`, `city`, `country`, `zipcode`, `comment`) are empty "
        "strings; `enable_read_only` and `enable_change_password` 0 (neither exists here); "
        "`regdate` when the account was added. `prevbalance` and `prevmonthbalance` are the "
        "balance at 00:00 UTC today and on the first of the month: the balance less the "
        "profit of the trades closed since (a trade's profit counts when it closes in full; "
        "no balance operations are recorded). " + _DECISIONS
    ),
    openapi_extra=query_parameters(_LOGIN),
    responses=responses(
        {
            "id": 1001,
            "login": 1001,
            "currency": "USD",
            "group": "demo",
            "comment": "",
            "enable": 1,
            "enable_read_only": 0,
            "enable_change_password": 0,
            "leverage": 100,
            "avatar": "",
            "email": "",
            "name": "Sim101",
            "phone": "",
            "address": "",
            "city": "",
            "country": "",
            "zipcode": "",
            "regdate": 1767600000,
            "prevbalance": 99990,
            "prevmonthbalance": 98000,
            # the figures but login, level_type and profit, which the route does not send
            **{
                k: v
                for k, v in _FIGURES_EXAMPLE.items()
                if k not in ("login", "level_type", "profit")
            },
        },
        400,
        model=ScaleTradeAccount,
    ),
)
async def account_me(request: Request, s: SessionDep) -> Response:
    query = await read_args(request, LoginQuery, ints=("login",))
    account, state = await _state(s, query.login)
    day, month = _day_and_month(s.container.clock.now())
    found = await s.container.users.credentials(account.login)
    today = await queries.realized_since(s.engine, s.principal, account.login, day)
    this_month = await queries.realized_since(s.engine, s.principal, account.login, month)
    shown = figures(state)
    return ScaleTradeJson(
        {
            "id": account.login,
            "login": account.login,
            "currency": account.currency,
            "group": account.group,
            "comment": "",
            "enable": int(account.enabled),
            "enable_read_only": 0,
            "enable_change_password": 0,
            "leverage": account.leverage,
            "avatar": "",
            "email": "",
            "name": account.name,
            **dict.fromkeys(("phone", "address", "city", "country", "zipcode"), ""),
            "regdate": unix(None if found is None else found.registered_at),
            "prevbalance": price(state.balance - today),
            "prevmonthbalance": price(state.balance - this_month),
            **{k: shown[k] for k in ("balance", "storage", "commission", "credit")},
            **{k: shown[k] for k in ("margin", "margin_free", "margin_level", "equity")},
        }
    )


@router.get(
    "/account/balance",
    operation_id="GetAccountBalance",
    summary="The account's balance, equity and margin",
    description=(
        "ScaleTrade's client overview lists a balance snapshot whose page does not exist; "
        "this is it: the figures of the stream's `b` event. login in the query string or a "
        "JSON body (default: a client session's own). " + _DECISIONS
    ),
    openapi_extra=query_parameters(_LOGIN),
    responses=responses(_FIGURES_EXAMPLE, 400, model=ScaleTradeFigures),
)
async def account_balance(request: Request, s: SessionDep) -> Response:
    query = await read_args(request, LoginQuery, ints=("login",))
    _, state = await _state(s, query.login)
    return ScaleTradeJson(figures(state))


_LOGINS_SCHEMA = field_schema(LoginsQuery, "logins")


@router.get(
    "/balances/list",
    operation_id="GetBalancesList",
    summary="The balances of several logins",
    description=(
        "`logins` (1 to 1000; JSON in the query string, or in a JSON body on the GET as "
        "ScaleTrade sends it): one row per login, in the order asked, each with its `login`. "
        "ScaleTrade offers this to manager and admin sessions; here a client session may ask "
        "for its own login too. A login the session may not act on refuses the whole request "
        "with 403, as an unknown one does. " + _DECISIONS
    ),
    openapi_extra={
        "parameters": [
            {
                "name": "logins",
                "in": "query",
                "required": True,
                "description": "JSON array of logins, e.g. [1001, 1002]",
                "content": {"application/json": {"schema": _LOGINS_SCHEMA}},
            }
        ]
    },
    responses=responses({"rows": [_FIGURES_EXAMPLE]}, 400, model=ScaleTradeBalances),
)
async def balances_list(request: Request, s: SessionDep) -> Response:
    query = await read_args(request, LoginsQuery, json=("logins",))
    rows = []
    for login in query.logins:
        _, state = await _state(s, login)
        rows.append(figures(state))
    return ScaleTradeJson({"rows": rows})
