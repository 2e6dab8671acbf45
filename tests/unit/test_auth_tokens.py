"""API tokens: random, recognisable, and stored only as a SHA-256 digest."""

from __future__ import annotations

import hashlib

import pytest

from ordergate.auth.tokens import hash_api_token, looks_like_api_token, new_api_token


def test_a_new_token_is_prefixed_and_carries_256_random_bits() -> None:
    token = new_api_token()
    assert token.startswith("og_")
    assert len(token) == 3 + 43
    assert looks_like_api_token(token)


def test_new_tokens_differ() -> None:
    assert len({new_api_token() for _ in range(100)}) == 100


def test_the_hash_is_the_sha256_hex_digest() -> None:
    token = new_api_token()
    digest = hash_api_token(token)
    assert digest == hashlib.sha256(token.encode()).hexdigest()
    assert len(digest) == 64
    assert hash_api_token(token) == digest


def test_different_tokens_hash_differently() -> None:
    assert hash_api_token(new_api_token()) != hash_api_token(new_api_token())


@pytest.mark.parametrize(
    "text",
    [
        "",
        "og_",
        "og_short",
        "Bearer og_" + "a" * 43,
        "xx_" + "a" * 43,
        "og_" + "a" * 44,
        "og_" + "a" * 42 + "!",
        "og_" + "a" * 43 + "\n",
    ],
)
def test_text_not_shaped_like_a_token_is_recognised_as_such(text: str) -> None:
    assert not looks_like_api_token(text)
