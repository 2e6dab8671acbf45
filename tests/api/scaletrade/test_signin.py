"""POST /sign/in and the session token: profiles, session types, refusals that say nothing
about which part was wrong, throttling, and how a token is presented and refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.scaletrade.conftest import BOSS, DESK, PASSWORDS, FixedClock, St, sign_in

pytestmark = pytest.mark.asyncio


async def test_client_sign_in_answers_the_account_profile_and_a_client_token(st: St) -> None:
    answer = await sign_in(st.client, 1001, PASSWORDS[1001])

    assert answer.status_code == 200
    body = answer.json()
    assert body["id"] == 1001
    assert body["login"] == 1001
    assert body["type"] == 0
    assert body["name"] == "Sim101"
    assert body["group"] == "demo"
    assert body["currency"] == "USD"
    assert body["leverage"] == 100
    assert body["enable"] == 1
    assert body["email"] == ""
    assert isinstance(body["regdate"], int)
    assert body["regdate"] > 0
    claims = (await st.codec()).verify(body["__token"])
    assert (claims.login, claims.user_id, claims.session_type) == (1001, None, 0)
    assert claims.expires_at > datetime.now(UTC) + timedelta(hours=7)


async def test_sign_in_sets_the_token_as_an_http_only_strict_cookie(st: St) -> None:
    answer = await sign_in(st.client, 1001, PASSWORDS[1001])

    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"__token={answer.json()['__token']};")
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Max-Age=28800" in cookie


async def test_manager_and_admin_sign_in_to_staff_sessions(st: St) -> None:
    desk = (await sign_in(st.client, *DESK)).json()
    boss = (await sign_in(st.client, *BOSS)).json()

    assert (desk["type"], desk["login"], desk["name"], desk["group"]) == (1, 900, "desk", "demo")
    assert (boss["type"], boss["login"], boss["name"]) == (3, 1, "boss")
    codec = await st.codec()
    assert codec.verify(desk["__token"]).session_type == 1
    assert codec.verify(boss["__token"]).user_id is not None


@pytest.mark.parametrize(
    ("login", "password"),
    [(1001, "wrong-password"), (4242, "Sim101pass"), (900, "Sim101pass"), (1001, "x" * 64)],
)
async def test_wrong_password_and_unknown_login_are_refused_alike(
    st: St, login: int, password: str
) -> None:
    answer = await sign_in(st.client, login, password)

    assert answer.status_code == 403
    assert answer.json() == {
        "error": "USER_NOT_FOUND_OR_INCORRECT",
        "message": "login or password is incorrect",
    }
    assert "set-cookie" not in answer.headers


async def test_a_disabled_account_with_the_right_password_is_402(st: St) -> None:
    from sqlalchemy import update

    from ordergate.store.tables import accounts

    async with st.server.container.store.transaction() as tx:
        await tx.connection.execute(
            update(accounts).where(accounts.c.login == 1002).values(enabled=False)
        )
        await tx.commit()

    right = await sign_in(st.client, 1002, PASSWORDS[1002])
    wrong = await sign_in(st.client, 1002, "not-the-password")

    assert right.status_code == 402
    assert right.json()["error"] == "USER_DISABLED"
    assert wrong.status_code == 403  # a wrong password learns nothing, not even "disabled"


async def test_repeated_failures_throttle_the_login_even_with_the_right_password(
    st: St,
) -> None:
    for _ in range(5):
        assert (await sign_in(st.client, 1002, "bad-password")).status_code == 403

    refused = await sign_in(st.client, 1002, PASSWORDS[1002])

    assert refused.status_code == 429
    assert refused.json()["error"] == "TOO_MANY_REQUESTS"
    assert 1 <= int(refused.headers["retry-after"]) <= 300
    # Another login is not held back by this one's failures.
    assert (await sign_in(st.client, 1001, PASSWORDS[1001])).status_code == 200


async def test_a_success_clears_the_logins_failures(st: St) -> None:
    for _ in range(4):
        await sign_in(st.client, 1002, "bad-password")
    assert (await sign_in(st.client, 1002, PASSWORDS[1002])).status_code == 200
    for _ in range(4):
        await sign_in(st.client, 1002, "bad-password")

    assert (await sign_in(st.client, 1002, PASSWORDS[1002])).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"login": 1001}',
        b'{"password": "Sim101pass"}',
        b'{"login": "1001", "password": "Sim101pass"}',
        b'{"login": true, "password": "Sim101pass"}',
        b'{"login": -1, "password": "Sim101pass"}',
        b'{"login": 1001, "password": "short"}',
        b'{"login": 1001, "password": "Sim101pass", "type": 1}',
        b'{"login": 1001, "password": 12345678}',
        b"[1001]",
        b"not json",
    ],
)
async def test_a_malformed_sign_in_is_400_invalid_data(st: St, body: bytes) -> None:
    answer = await st.client.post(
        "/sign/in", content=body, headers={"Content-Type": "application/json"}
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "INVALID_DATA"
    assert "Sim101pass" not in answer.text  # the input is never echoed


@pytest.mark.parametrize("form", ["bare", "bearer", "cookie"])
async def test_the_token_is_taken_bare_with_bearer_or_from_the_cookie(st: St, form: str) -> None:
    token = st.tokens[1001]
    headers = {"bare": {"Authorization": token}, "bearer": {"Authorization": f"Bearer {token}"}}
    if form == "cookie":
        st.client.cookies.set("__token", token)

    answer = await st.client.get("/trades", headers=headers.get(form, {}))

    assert answer.status_code == 200, answer.text


async def _refused(st: St, token: str) -> None:
    answer = await st.client.get("/trades", headers={"Authorization": token})
    assert answer.status_code == 401
    assert answer.json()["error"] == "UNAUTHORIZED"


async def test_missing_expired_tampered_and_foreign_tokens_are_401(st: St) -> None:
    no_token = await st.client.get("/trades")
    assert no_token.status_code == 401
    assert no_token.json()["error"] == "UNAUTHORIZED"

    past = FixedClock(datetime.now(UTC) - timedelta(days=1))
    await _refused(st, (await st.codec(clock=past)).issue(login=1001))
    header, payload, signature = st.tokens[1001].split(".")
    flipped = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1]
    await _refused(st, f"{header}.{flipped}.{signature}")
    await _refused(st, (await st.codec(secret="x" * 40)).issue(login=1001))
    await _refused(st, "not-a-jwt")


async def test_a_staff_session_ends_when_its_user_is_disabled(st: St) -> None:
    from sqlalchemy import update

    from ordergate.store.tables import users

    async with st.server.container.store.transaction() as tx:
        await tx.connection.execute(update(users).where(users.c.login == 900).values(enabled=False))
        await tx.commit()

    await _refused(st, st.tokens[900])


async def test_a_password_is_compared_exactly_as_it_was_set(st: St) -> None:
    """Spaces at a password's ends are part of it: an account whose password has them signs
    in with them, and a password given with spaces it does not have is wrong."""
    await st.server.container.users.set_account_password(1002, " spaced pass ")

    exact = await sign_in(st.client, 1002, " spaced pass ")
    trimmed = await sign_in(st.client, 1002, "spaced pass")
    padded = await sign_in(st.client, 1001, PASSWORDS[1001] + " ")

    assert exact.status_code == 200, exact.text
    assert trimmed.status_code == 403
    assert padded.status_code == 403
