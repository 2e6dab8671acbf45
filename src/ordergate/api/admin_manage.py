"""The admin API's administration (role admin, ``Authorization: Bearer <API token>``): what
``ordergate token|user|account …`` and ``ordergate reset`` do, over HTTP.

- ``GET /admin/tokens`` (``?user=``, ``?revoked=true``): the tokens' ids, users, labels and
  dates (a token's value is never kept); ``POST /admin/tokens/{id}/revoke``.
- ``GET /admin/users``; ``POST /admin/users/{name}/disable`` and ``…/enable``.
- ``GET /admin/accounts``; ``POST /admin/accounts/{account}/disable`` and ``…/enable`` (a
  login or a name).
- ``POST /admin/reset?confirm=true``: the database emptied and the demo seeded again, the
  server restarted on it; the answer holds the new demo and admin tokens (the caller's token
  is gone with the rest). Requests arriving meanwhile may fail. Only a server that built its
  own engine (``ordergate serve``) can be reset so; otherwise 409.

Errors have the default form ``{"error": CODE, "message": ...}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import Field, WithJsonSchema

from ordergate.api.admin import ADMIN_RESPONSES, AdminDep, DecimalText, ok
from ordergate.api.deps import ContainerDep, UsersDep, container_of
from ordergate.api.openapi import DocumentedRoute, WireModel
from ordergate.api.responses import JsonResponse
from ordergate.auth.access import set_account_enabled, set_user_enabled
from ordergate.auth.directory import TokenInfo, list_accounts, list_tokens, revoke_token
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.domain.accounts import PositionMode
from ordergate.domain.errors import Conflict
from ordergate.domain.principal import Role

__all__ = [
    "AdminAccount",
    "AdminAccountState",
    "AdminAccounts",
    "AdminReset",
    "AdminResetAdded",
    "AdminSignIn",
    "AdminToken",
    "AdminTokens",
    "AdminUser",
    "AdminUserState",
    "AdminUsers",
    "router",
]

router = APIRouter(
    prefix="/admin", tags=["admin"], responses=ADMIN_RESPONSES, route_class=DocumentedRoute
)

_Name = Annotated[str, Path(min_length=1, max_length=64)]


def _one_of(values: list[str]) -> Any:
    """A string that is one of ``values`` (an enum inline, not a shared component)."""
    return WithJsonSchema({"type": "string", "enum": values})


class AdminToken(WireModel):
    """An API token as administration sees it: never its value."""

    id: int = Field(description="What `POST /admin/tokens/{token_id}/revoke` takes.")
    user: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class AdminTokens(WireModel):
    tokens: list[AdminToken]


class AdminUser(WireModel):
    id: int
    name: str
    role: Annotated[str, _one_of([r.value for r in Role])]
    groups: list[str] = Field(description="Sorted.")
    login: int | None = Field(description="The ScaleTrade sign-in login of a manager or admin.")
    enabled: bool


class AdminUsers(WireModel):
    users: list[AdminUser]


class AdminUserState(WireModel):
    name: str
    enabled: bool


class AdminAccount(WireModel):
    login: int
    name: str
    owner: str = Field(description="The owning user's name.")
    group: str
    currency: str
    balance: DecimalText
    leverage: int
    mode: Annotated[str, _one_of([m.value for m in PositionMode])]
    enabled: bool


class AdminAccounts(WireModel):
    accounts: list[AdminAccount]


class AdminAccountState(WireModel):
    login: int
    enabled: bool


class AdminResetAdded(WireModel):
    instruments: list[str]
    users: list[str]
    accounts: list[str]
    orders: int = Field(description="The demo's resting orders placed.")


class AdminSignIn(WireModel):
    """A demo ScaleTrade sign-in (``POST /sign/in``)."""

    name: str
    login: int
    password: str


class AdminReset(WireModel):
    """What a reset added, the new bearer tokens and the demo sign-ins."""

    added: AdminResetAdded
    user: str = Field(description="The demo trader, whose token ``token`` is.")
    token: str
    admin_token: str = Field(description="The admin's new token: the old ones are gone.")
    accounts: list[AdminSignIn]


_TOKEN_EXAMPLE = {
    "id": 3,
    "user": "demo",
    "label": "bot",
    "created_at": "2026-03-04T15:00:00+00:00",
    "revoked_at": None,
}
_USER_EXAMPLE = {
    "id": 2,
    "name": "demo",
    "role": "trader",
    "groups": ["demo"],
    "login": None,
    "enabled": True,
}
_ACCOUNT_EXAMPLE = {
    "login": 1001,
    "name": "Sim101",
    "owner": "demo",
    "group": "demo",
    "currency": "USD",
    "balance": "100000.00",
    "leverage": 100,
    "mode": "netting",
    "enabled": True,
}
_RESET_EXAMPLE = {
    "added": {
        "instruments": ["ES 03-26", "EURUSD"],
        "users": ["admin", "demo", "desk"],
        "accounts": ["Sim101", "Sim102"],
        "orders": 4,
    },
    "user": "demo",
    "token": "og_...",
    "admin_token": "og_...",
    "accounts": [{"name": "Sim101", "login": 1001, "password": "..."}],
}
_NO_USER = ("USER_NOT_FOUND", "no user named nobody", "No user of that name")
_NO_ACCOUNT = ("ACCOUNT_NOT_FOUND", "account Nope not found", "No account of that login or name")


def _token(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user,
        "label": t.label,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
    }


@router.get(
    "/tokens",
    summary="The API tokens (never their values)",
    operation_id="AdminListTokens",
    responses=ok(
        AdminTokens,
        {"tokens": [_TOKEN_EXAMPLE]},
        "The tokens, oldest first",
        s404=_NO_USER,
    ),
)
async def tokens(
    admin: AdminDep,
    users: UsersDep,
    user: Annotated[str | None, Query(max_length=64)] = None,
    revoked: bool = False,
) -> JsonResponse:
    """Live tokens, oldest first (``revoked=true``: revoked ones too; ``user``: one user's)."""
    found = await list_tokens(users, user, revoked=revoked)
    return JsonResponse({"tokens": [_token(t) for t in found]})


@router.post(
    "/tokens/{token_id}/revoke",
    summary="Revoke an API token",
    operation_id="AdminRevokeToken",
    responses=ok(
        AdminToken,
        {**_TOKEN_EXAMPLE, "revoked_at": "2026-03-04T16:00:00+00:00"},
        "The token, revoked",
        s404=("NOT_FOUND", "token 9999 not found", "No token of that id"),
    ),
)
async def revoke(
    admin: AdminDep,
    container: ContainerDep,
    token_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> JsonResponse:
    """Revoke the token ``token_id`` (as ``GET /admin/tokens`` lists it); refused at once."""
    found = await revoke_token(container.users, str(token_id), container.clock.now())
    return JsonResponse(_token(found))


@router.get(
    "/users",
    summary="The users",
    operation_id="AdminListUsers",
    responses=ok(AdminUsers, {"users": [_USER_EXAMPLE]}, "Every user, by name"),
)
async def user_list(admin: AdminDep, users: UsersDep) -> JsonResponse:
    """Every user by name: role, groups, ScaleTrade staff login, enabled."""
    found = await users.list_users()
    rows = [
        {
            "id": u.id,
            "name": u.name,
            "role": u.role.value,
            "groups": sorted(u.groups),
            "login": u.login,
            "enabled": u.enabled,
        }
        for u in found
    ]
    return JsonResponse({"users": rows})


async def _set_user(container: Container, name: str, enabled: bool) -> JsonResponse:
    user = await set_user_enabled(container.users, name, enabled)
    await container.access.check()  # this server at once; others within a second
    return JsonResponse({"name": user.name, "enabled": user.enabled})


@router.post(
    "/users/{name}/disable",
    summary="Disable a user",
    operation_id="AdminDisableUser",
    responses=ok(AdminUserState, {"name": "demo", "enabled": False}, s404=_NO_USER),
)
async def user_disable(admin: AdminDep, container: ContainerDep, name: _Name) -> JsonResponse:
    """Its tokens, sessions, sign-in and open WebSockets stop."""
    return await _set_user(container, name, False)


@router.post(
    "/users/{name}/enable",
    summary="Enable a user",
    operation_id="AdminEnableUser",
    responses=ok(AdminUserState, {"name": "demo", "enabled": True}, s404=_NO_USER),
)
async def user_enable(admin: AdminDep, container: ContainerDep, name: _Name) -> JsonResponse:
    return await _set_user(container, name, True)


@router.get(
    "/accounts",
    summary="The accounts",
    operation_id="AdminListAccounts",
    responses=ok(AdminAccounts, {"accounts": [_ACCOUNT_EXAMPLE]}, "Every account, by login"),
)
async def account_list(admin: AdminDep, users: UsersDep) -> JsonResponse:
    """Every account by login, with its owner's name."""
    rows = [
        {
            "login": a.login,
            "name": a.name,
            "owner": a.owner,
            "group": a.group,
            "currency": a.currency,
            "balance": a.balance,
            "leverage": a.leverage,
            "mode": a.mode,
            "enabled": a.enabled,
        }
        for a in await list_accounts(users)
    ]
    return JsonResponse({"accounts": rows})


async def _set_account(container: Container, ref: str, enabled: bool) -> JsonResponse:
    login = await set_account_enabled(container.users, ref, enabled)
    await container.access.check()
    return JsonResponse({"login": login, "enabled": enabled})


@router.post(
    "/accounts/{account}/disable",
    summary="Disable an account",
    operation_id="AdminDisableAccount",
    responses=ok(AdminAccountState, {"login": 1001, "enabled": False}, s404=_NO_ACCOUNT),
)
async def account_disable(admin: AdminDep, container: ContainerDep, account: _Name) -> JsonResponse:
    """It signs in no more and takes no new orders, changes or closes (cancels go on)."""
    return await _set_account(container, account, False)


@router.post(
    "/accounts/{account}/enable",
    summary="Enable an account",
    operation_id="AdminEnableAccount",
    responses=ok(AdminAccountState, {"login": 1001, "enabled": True}, s404=_NO_ACCOUNT),
)
async def account_enable(admin: AdminDep, container: ContainerDep, account: _Name) -> JsonResponse:
    return await _set_account(container, account, True)


@router.post(
    "/reset",
    summary="Back to a fresh demo",
    operation_id="AdminReset",
    responses=ok(
        AdminReset,
        _RESET_EXAMPLE,
        "The fresh demo: what was added, the new tokens and the sign-ins",
        s400=("INVALID_INPUT", "query.confirm: Field required", "No `confirm=true`"),
        s409=(
            "CONFLICT",
            "this server runs on an engine it did not build: use `ordergate reset`",
            "A server that did not build its engine (embedded, a test's)",
        ),
    ),
)
async def reset(
    request: Request,
    admin: AdminDep,
    confirm: Annotated[
        Literal["true"], Query(description="Must be `true`: a reset empties the database")
    ],
) -> JsonResponse:
    """Empty the database, seed the demo again and restart this server's engine on it
    (``confirm=true`` required). 200: what was added and the new tokens."""
    # Imported here: only a reset needs the demo machinery.
    from ordergate.reset import reset_demo

    app = request.app
    if not getattr(app.state, "owns_container", False):
        raise Conflict("this server runs on an engine it did not build: use `ordergate reset`")
    old = container_of(request)
    settings = old.settings
    await shutdown(old)
    try:
        result = await reset_demo(settings, label="admin reset")
    finally:
        app.state.container = await bootstrap(settings, feed=True)
    return JsonResponse(result)
