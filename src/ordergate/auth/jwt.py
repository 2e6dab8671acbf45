"""Signed session tokens (HS256 JWT) for ScaleTrade sign-in: client, manager, dealer, admin."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt

from ordergate.domain.errors import AuthError, InvalidInput
from ordergate.engine.ports import Clock, SystemClock

__all__ = ["MIN_SECRET_LENGTH", "SESSION_TYPES", "JwtCodec", "SessionClaims"]

#: 256 bits for HS256 (RFC 7518 3.2); shorter secrets are refused.
MIN_SECRET_LENGTH = 32
#: 0 client, 1 manager, 2 dealer, 3 admin (ScaleTrade's session types).
SESSION_TYPES = range(4)

_ALGORITHM = "HS256"
_KEEP_VERIFIED = 10_000  # tokens kept verified; the lot is forgotten when full
_CLAIMS = ("sub", "login", "uid", "type", "iat", "exp")


@dataclass(frozen=True, slots=True)
class SessionClaims:
    """What a verified session token says about its holder."""

    login: int | None
    user_id: int | None
    session_type: int  # 0 client, 1 manager, 2 dealer, 3 admin
    issued_at: datetime
    expires_at: datetime


class JwtCodec:
    """Issues and verifies session tokens with one secret; time comes from ``clock``."""

    def __init__(
        self, secret: str, *, ttl: timedelta = timedelta(hours=8), clock: Clock | None = None
    ) -> None:
        if len(secret) < MIN_SECRET_LENGTH:
            raise InvalidInput(f"the JWT secret must be at least {MIN_SECRET_LENGTH} characters")
        if ttl <= timedelta(0):
            raise InvalidInput("the session lifetime must be positive")
        self._secret = secret
        self._ttl = ttl
        self._clock: Clock = clock or SystemClock()
        # Tokens already verified, by their SHA-256: the signature and claims of a token
        # never change, so checking them again proves nothing new (its expiry is checked on
        # every use), and PyJWT's check is a sizeable part of a small request's CPU.
        self._verified: dict[bytes, SessionClaims] = {}

    def issue(
        self, *, login: int | None = None, user_id: int | None = None, session_type: int = 0
    ) -> str:
        """A token for a client session (``login``) or a staff session (``user_id``)."""
        if login is None and user_id is None:
            raise ValueError("a session needs a login or a user id")
        if session_type not in SESSION_TYPES:
            raise ValueError(f"unknown session type {session_type}")
        now = self._clock.now()
        payload = {
            "sub": f"login:{login}" if login is not None else f"user:{user_id}",
            "login": login,
            "uid": user_id,
            "type": session_type,
            "iat": int(now.timestamp()),
            "exp": int((now + self._ttl).timestamp()),
        }
        return pyjwt.encode(payload, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> SessionClaims:
        """The claims of a genuine, unexpired token; ``AuthError`` for anything else."""
        key = hashlib.sha256(token.encode()).digest() if isinstance(token, str) else None
        claims = None if key is None else self._verified.get(key)
        if claims is None:
            claims = self._decode(token)
            if key is not None:
                if len(self._verified) >= _KEEP_VERIFIED:
                    self._verified.clear()
                self._verified[key] = claims
        if self._clock.now() >= claims.expires_at:
            raise AuthError("token expired")
        return claims

    def _decode(self, token: str) -> SessionClaims:
        try:
            payload = pyjwt.decode(
                token,
                self._secret,
                # Fixed, never read from the token: this is what refuses "alg: none".
                algorithms=[_ALGORITHM],
                # Time is checked in verify against our clock, not PyJWT's wall clock.
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except pyjwt.InvalidTokenError:
            raise AuthError("invalid token") from None
        return _claims(payload)


def _claims(payload: dict[str, Any]) -> SessionClaims:
    """Check every claim is present and of its type; a signed token can still be one we
    never issued (an older format, another service sharing the secret)."""
    if any(name not in payload for name in _CLAIMS):
        raise AuthError("invalid token: missing claims")
    login, uid = payload["login"], payload["uid"]
    session_type, iat, exp = payload["type"], payload["iat"], payload["exp"]
    if not (
        _optional_int(login)
        and _optional_int(uid)
        and (login is not None or uid is not None)
        and _int(session_type)
        and session_type in SESSION_TYPES
        and _int(iat)
        and _int(exp)
    ):
        raise AuthError("invalid token: malformed claims")
    try:
        issued_at = datetime.fromtimestamp(iat, UTC)
        expires_at = datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        raise AuthError("invalid token: malformed claims") from None
    return SessionClaims(login, uid, session_type, issued_at, expires_at)


def _int(value: object) -> bool:
    # bool is an int to Python but not a number in a token.
    return isinstance(value, int) and not isinstance(value, bool)


def _optional_int(value: object) -> bool:
    return value is None or _int(value)
