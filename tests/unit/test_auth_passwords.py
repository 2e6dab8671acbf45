"""Passwords: argon2 hashes that verify, refuse, and never blow up on a bad hash."""

from __future__ import annotations

import pytest

from ordergate.auth.passwords import (
    burn_verify_async,
    check_password,
    hash_password,
    hash_password_async,
    verify_password,
    verify_password_async,
)
from ordergate.domain.errors import InvalidInput


def test_a_password_verifies_against_its_hash() -> None:
    assert verify_password(hash_password("correct horse"), "correct horse")


def test_a_wrong_password_does_not_verify() -> None:
    assert not verify_password(hash_password("correct horse"), "battery staple")


def test_the_hash_is_argon2id_and_salted() -> None:
    first, second = hash_password("same"), hash_password("same")
    assert first.startswith("$argon2id$")
    assert first != second
    assert "same" not in first


@pytest.mark.parametrize(
    "bad_hash",
    ["", "plain-text", "$argon2id$v=19$m=65536,t=3,p=4$bad", "$2b$12$" + "x" * 53],
)
def test_a_malformed_hash_is_a_mismatch_not_an_error(bad_hash: str) -> None:
    assert verify_password(bad_hash, "anything") is False


async def test_the_async_variants_agree_with_the_sync_ones() -> None:
    hashed = await hash_password_async("s3cret!")
    assert await verify_password_async(hashed, "s3cret!")
    assert not await verify_password_async(hashed, "S3cret!")
    assert not await verify_password_async("garbage", "s3cret!")
    assert verify_password(hashed, "s3cret!")


async def test_burning_a_verify_completes_without_a_real_hash() -> None:
    await burn_verify_async()


@pytest.mark.parametrize("password", ["123456", "x" * 64])
def test_passwords_of_6_to_64_characters_are_accepted(password: str) -> None:
    check_password(password)


@pytest.mark.parametrize("password", ["", "12345", "x" * 65])
def test_passwords_outside_6_to_64_characters_are_refused(password: str) -> None:
    with pytest.raises(InvalidInput, match="6 to 64"):
        check_password(password)


def test_a_password_that_is_not_valid_unicode_is_refused_and_matches_nothing() -> None:
    with pytest.raises(InvalidInput, match="Unicode"):
        check_password("abc\ud800def")
    assert not verify_password(hash_password("abcdef"), "abc\ud800def")
