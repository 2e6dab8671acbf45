"""CrossTrade bearer tokens: made here, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import re
import secrets

__all__ = ["hash_api_token", "looks_like_api_token", "new_api_token"]

_PREFIX = "og_"

# token_urlsafe(32) is 43 characters of the URL-safe base64 alphabet.
_TOKEN = re.compile(re.escape(_PREFIX) + r"[A-Za-z0-9_-]{43}")


def new_api_token() -> str:
    """A fresh API token (256 random bits), for a user's CrossTrade bearer header."""
    return _PREFIX + secrets.token_urlsafe(32)


def hash_api_token(token: str) -> str:
    """The SHA-256 hex digest under which ``token`` is stored and looked up."""
    # A fast hash is right here, unlike for passwords: the token is 256 random bits, so
    # nobody can brute-force it from its hash, and authenticating must stay one indexed
    # equality query per request rather than an argon2 run per request.
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_api_token(token: str) -> bool:
    """Whether ``token`` has the shape ``new_api_token`` makes; others need no look-up."""
    return _TOKEN.fullmatch(token) is not None
