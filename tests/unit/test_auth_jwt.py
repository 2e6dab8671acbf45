"""Session tokens: what is issued verifies until it expires; anything forged, altered or
malformed is refused with AuthError."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta

import jwt as pyjwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.auth.jwt import JwtCodec, SessionClaims
from ordergate.domain.errors import AuthError, InvalidInput
from tests.builders import NOW

SECRET = "s" * 64  # long enough for the HS512 forgery below too
OTHER_SECRET = "o" * 64
TTL = timedelta(hours=8)


class FixedClock:
    """A clock that moves only when told to."""

    def __init__(self, now: datetime = NOW) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current

    def advance(self, by: timedelta) -> None:
        self.current += by


def codec(clock: FixedClock | None = None, secret: str = SECRET) -> JwtCodec:
    return JwtCodec(secret, ttl=TTL, clock=clock or FixedClock())


def signed(payload: dict[str, object], secret: str = SECRET, algorithm: str = "HS256") -> str:
    """A token with exactly ``payload``, signed as given: what a forger could make."""
    return pyjwt.encode(payload, secret, algorithm=algorithm)


def valid_payload(**changes: object) -> dict[str, object]:
    payload: dict[str, object] = {
        "sub": "login:1001",
        "login": 1001,
        "uid": None,
        "type": 0,
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + TTL).timestamp()),
    }
    payload.update(changes)
    return payload


def test_a_client_session_token_verifies_to_its_claims() -> None:
    claims = codec().verify(codec().issue(login=1001))
    assert claims == SessionClaims(
        login=1001, user_id=None, session_type=0, issued_at=NOW, expires_at=NOW + TTL
    )
    assert claims.issued_at.tzinfo is not None


def test_a_manager_session_token_carries_its_user_and_type() -> None:
    claims = codec().verify(codec().issue(user_id=7, session_type=1))
    assert (claims.login, claims.user_id, claims.session_type) == (None, 7, 1)


def test_the_token_is_hs256_with_the_documented_claims() -> None:
    token = codec().issue(login=1001)
    assert pyjwt.get_unverified_header(token)["alg"] == "HS256"
    payload = pyjwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert payload == valid_payload()


def test_a_token_is_valid_until_just_before_it_expires() -> None:
    clock = FixedClock()
    token = codec(clock).issue(login=1001)
    clock.advance(TTL - timedelta(seconds=1))
    assert codec(clock).verify(token).login == 1001


def test_expired_token_is_refused() -> None:
    clock = FixedClock()
    token = codec(clock).issue(login=1001)
    clock.advance(TTL)
    with pytest.raises(AuthError, match="token expired"):
        codec(clock).verify(token)


def test_a_token_is_verified_once_and_its_expiry_checked_on_every_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = FixedClock()
    jwt = codec(clock)
    token = jwt.issue(login=1001)
    decoded: list[str] = []
    decode = pyjwt.decode

    def counted(*args: object, **kwargs: object) -> object:
        decoded.append("x")
        return decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pyjwt, "decode", counted)
    assert [jwt.verify(token).login for _ in range(3)] == [1001, 1001, 1001]
    assert len(decoded) == 1
    # A tampered copy is not the verified token: it is checked, and refused.
    header, payload, signature = token.split(".")
    with pytest.raises(AuthError):
        jwt.verify(f"{header}.{payload}.{signature[:-2]}AA")
    assert len(decoded) == 2
    clock.advance(TTL)
    with pytest.raises(AuthError, match="token expired"):
        jwt.verify(token)  # kept as verified, but expired all the same


def test_tampered_payload_is_refused() -> None:
    header, payload, signature = codec().issue(login=1001).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["login"] = 2002
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(AuthError, match="invalid token"):
        codec().verify(f"{header}.{forged}.{signature}")


def test_token_signed_with_another_secret_is_refused() -> None:
    token = codec(secret=OTHER_SECRET).issue(login=1001)
    with pytest.raises(AuthError, match="invalid token"):
        codec().verify(token)


def test_alg_none_is_refused() -> None:
    token = pyjwt.encode(valid_payload(), None, algorithm="none")
    with pytest.raises(AuthError, match="invalid token"):
        codec().verify(token)


def test_another_algorithm_with_the_right_secret_is_refused() -> None:
    with pytest.raises(AuthError, match="invalid token"):
        codec().verify(signed(valid_payload(), algorithm="HS512"))


@pytest.mark.parametrize("garbage", ["", "garbage", "a.b.c", "..", "Bearer x.y.z", "é.é.é"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(AuthError, match="invalid token"):
        codec().verify(garbage)


@given(st.text(max_size=300))
def test_no_text_raises_anything_but_auth_error(text: str) -> None:
    with pytest.raises(AuthError):
        codec().verify(text)


@pytest.mark.parametrize("claim", ["sub", "login", "uid", "type", "iat", "exp"])
def test_a_signed_token_missing_a_claim_is_refused(claim: str) -> None:
    payload = valid_payload()
    del payload[claim]
    with pytest.raises(AuthError, match="invalid token"):
        codec().verify(signed(payload))


@pytest.mark.parametrize(
    "changes",
    [
        {"login": "1001"},
        {"login": True},
        {"login": None, "uid": None},
        {"type": 7},
        {"type": "admin"},
        {"exp": "tomorrow"},
        {"iat": 1.5},
        {"exp": 10**20},
    ],
)
def test_a_signed_token_with_malformed_claims_is_refused(changes: dict[str, object]) -> None:
    with pytest.raises(AuthError, match="invalid token"):
        codec().verify(signed(valid_payload(**changes)))


def test_a_session_needs_a_login_or_a_user() -> None:
    with pytest.raises(ValueError, match="login or a user"):
        codec().issue()


def test_an_unknown_session_type_cannot_be_issued() -> None:
    with pytest.raises(ValueError, match="session type"):
        codec().issue(login=1001, session_type=4)


def test_a_secret_shorter_than_32_characters_is_refused() -> None:
    with pytest.raises(InvalidInput, match="32"):
        JwtCodec("s" * 31)
