"""Password hashing with argon2id, for user and account sign-in (ScaleTrade)."""

from __future__ import annotations

import asyncio
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error, InvalidHashError

from ordergate.domain.errors import InvalidInput

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "burn_verify_async",
    "check_password",
    "hash_password",
    "hash_password_async",
    "verify_password",
    "verify_password_async",
]

MIN_PASSWORD_LENGTH = 6
MAX_PASSWORD_LENGTH = 64

_hasher = PasswordHasher()


def check_password(password: str) -> None:
    """Refuse a new password outside 6-64 characters with ``InvalidInput``."""
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidInput(
            f"password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
        )
    if not _encodable(password):
        raise InvalidInput("password must be valid Unicode text")


def hash_password(password: str) -> str:
    """An argon2id hash of ``password`` (salted; encodes its own parameters)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash``; False, never an error, for a mismatch
    or a malformed hash."""
    if not _encodable(password):  # a lone surrogate (JSON can carry one) matches nothing
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (Argon2Error, InvalidHashError):
        return False


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


async def hash_password_async(password: str) -> str:
    """``hash_password`` off the event loop: argon2 is deliberately slow and CPU-bound."""
    return await asyncio.to_thread(hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    """``verify_password`` off the event loop."""
    return await asyncio.to_thread(verify_password, password_hash, password)


@cache
def _dummy_hash() -> str:
    # Made on first use rather than at import: hashing costs tens of milliseconds.
    return hash_password("ordergate-dummy-password")


async def burn_verify_async() -> None:
    """Spend the work of one real verify, for sign-ins that fail before there is a hash to
    check (unknown user or login, no password set), so timing does not tell them apart."""
    await asyncio.to_thread(verify_password, _dummy_hash(), "not-the-dummy-password")
