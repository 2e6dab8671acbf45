"""Authentication and the permission check: users, API tokens, passwords, JWT sessions.

Every use case asks ``ensure_can_act(principal, account)``; it lives in the domain and is
re-exported here so that the edge has one place to import identity from.
"""

from ordergate.auth.jwt import JwtCodec, SessionClaims
from ordergate.auth.passwords import (
    hash_password,
    hash_password_async,
    verify_password,
    verify_password_async,
)
from ordergate.auth.secret import load_or_create_secret
from ordergate.auth.tokens import hash_api_token, new_api_token
from ordergate.auth.users import User, UserService
from ordergate.domain.principal import Principal, Role, can_act, ensure_can_act

__all__ = [
    "JwtCodec",
    "Principal",
    "Role",
    "SessionClaims",
    "User",
    "UserService",
    "can_act",
    "ensure_can_act",
    "hash_api_token",
    "hash_password",
    "hash_password_async",
    "load_or_create_secret",
    "new_api_token",
    "verify_password",
    "verify_password_async",
]
