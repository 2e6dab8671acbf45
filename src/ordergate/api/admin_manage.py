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

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from ordergate.api.admin import ADMIN_RESPONSES, AdminDep
from ordergate.api.deps import ContainerDep, UsersDep, container_of
from ordergate.api.responses import JsonResponse
from ordergate.auth.access import set_account_enabled, set_user_enabled
from ordergate.auth.directory import TokenInfo, list_accounts, list_tokens, revoke_token
from ordergate.bootstrap import Container, bootstrap, shutdown
from ordergate.domain.errors import Conflict

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"], responses=ADMIN_RESPONSES)

_Name = Annotated[str, Path(min_length=1, max_length=64)]


def _token(t: TokenInfo) -> dict[str, Any]:
    return {
        "id": t.id,
        "user": t.user,
        "label": t.label,
        "created_at": t.created_at,
        "revoked_at": t.revoked_at,
    }


@router.get("/tokens", summary="The API tokens (never their values)")
async def tokens(
    admin: AdminDep,
    users: UsersDep,
    user: Annotated[str | None, Query(max_length=64)] = None,
    revoked: bool = False,
) -> JsonResponse:
    """Live tokens, oldest first (``revoked=true``: revoked ones too; ``user``: one user's)."""
    found = await list_tokens(users, user, revoked=revoked)
    return JsonResponse({"tokens": [_token(t) for t in found]})


@router.post("/tokens/{token_id}/revoke", summary="Revoke an API token")
async def revoke(
    admin: AdminDep,
    container: ContainerDep,
    token_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> JsonResponse:
    """Revoke the token ``token_id`` (as ``GET /admin/tokens`` lists it); refused at once."""
    found = await revoke_token(container.users, str(token_id), container.clock.now())
    return JsonResponse(_token(found))


@router.get("/users", summary="The users")
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


@router.post("/users/{name}/disable", summary="Disable a user")
async def user_disable(admin: AdminDep, container: ContainerDep, name: _Name) -> JsonResponse:
    """Its tokens, sessions, sign-in and open WebSockets stop."""
    return await _set_user(container, name, False)


@router.post("/users/{name}/enable", summary="Enable a user")
async def user_enable(admin: AdminDep, container: ContainerDep, name: _Name) -> JsonResponse:
    return await _set_user(container, name, True)


@router.get("/accounts", summary="The accounts")
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


@router.post("/accounts/{account}/disable", summary="Disable an account")
async def account_disable(admin: AdminDep, container: ContainerDep, account: _Name) -> JsonResponse:
    """It signs in no more and takes no new orders, changes or closes (cancels go on)."""
    return await _set_account(container, account, False)


@router.post("/accounts/{account}/enable", summary="Enable an account")
async def account_enable(admin: AdminDep, container: ContainerDep, account: _Name) -> JsonResponse:
    return await _set_account(container, account, True)


@router.post("/reset", summary="Back to a fresh demo")
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
