"""POST /sign/in: a login and password become a session JWT (also set as a cookie)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ordergate.api.bodies import body_model
from ordergate.api.deps import ContainerDep
from ordergate.api.openapi import DocumentedRoute
from ordergate.api.scaletrade.answers import ScaleTradeProfile
from ordergate.api.scaletrade.docs import request_body, responses
from ordergate.api.scaletrade.models import SignInRequest
from ordergate.api.scaletrade.session import COOKIE
from ordergate.api.scaletrade.wire import ScaleTradeJson, unix
from ordergate.auth.signin import Session

__all__ = ["router"]

router = APIRouter(tags=["ScaleTrade"], route_class=DocumentedRoute)

#: Profile fields ordergate keeps no value for: always empty strings.
_UNKEPT = ("email", "avatar", "phone", "address", "city", "state", "country", "zipcode")

_PROFILE = {
    "id": 1001,
    "login": 1001,
    "type": 0,
    "regdate": 1763683200,
    "leverage": 100,
    **dict.fromkeys(_UNKEPT, ""),
    "name": "Sim101",
    "group": "demo",
    "currency": "USD",
    "balance": 100000,
    "enable": 1,
    "__token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9...",
}


def profile(session: Session) -> dict[str, Any]:
    """The signed-in holder's profile fields and its token: ScaleTrade's (id, login,
    regdate, leverage, email, avatar, name, phone, address, city, state, country, zipcode,
    group, currency, __token) and ordergate's (type, enable; an account's balance, a staff
    user's role)."""
    found = session.credentials
    body: dict[str, Any] = {"type": session.session_type, **dict.fromkeys(_UNKEPT, "")}
    if found.account is not None:
        account = found.account
        body |= {
            "id": account.login,
            "login": account.login,
            "name": account.name,
            "group": account.group,
            "currency": account.currency,
            "leverage": account.leverage,
            "balance": account.balance,
        }
    elif found.user is not None:
        user = found.user
        body |= {
            "id": user.id,
            "login": user.login,
            "name": user.name,
            "group": ",".join(sorted(user.groups)),
            "currency": "",
            "leverage": 0,
            "role": user.role.value,
        }
    body |= {"regdate": unix(found.registered_at), "enable": 1, "__token": session.token}
    return body


@router.post(
    "/sign/in",
    operation_id="SignIn",
    summary="Sign in",
    description=(
        "Answers the profile and `__token`, a JWT carrying the login, the session type (0 "
        "client for an account login; 1 manager and 3 admin for a staff login) and its "
        "expiry. The profile has ScaleTrade's fields; those ordergate keeps no value for "
        "(email, avatar, phone, address, city, state, country, zipcode) are empty strings, "
        'and a staff session, which has no account, shows currency "" and leverage 0. '
        "The token is also set as a cookie, which ScaleTrade does not name: `__token`, as "
        "the field (HttpOnly, SameSite=Strict, Secure over HTTPS). "
        "A wrong password and an unknown login answer the same 403; repeated failures per "
        "login and per client address are refused with 429 and Retry-After."
    ),
    openapi_extra=request_body(SignInRequest, {"login": 1001, "password": "Sim101pass"}),
    responses=responses(
        _PROFILE,
        400,
        model=ScaleTradeProfile,
        extra={
            402: ("USER_DISABLED", "The password is right but the login is disabled"),
            403: ("USER_NOT_FOUND_OR_INCORRECT", "Unknown login or wrong password (alike)"),
            429: ("TOO_MANY_REQUESTS", "Too many failed sign-ins (see Retry-After)"),
        },
        secured=False,
    ),
)
async def sign_in(request: Request, container: ContainerDep) -> Response:
    args = await body_model(request, SignInRequest)
    address = request.client.host if request.client is not None else "unknown"
    session = await container.signin.sign_in(args.login, args.password, address)
    response = ScaleTradeJson(profile(session))
    response.set_cookie(
        COOKIE,
        session.token,
        max_age=container.settings.jwt_ttl_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response
