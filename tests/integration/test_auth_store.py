"""Users, tokens, secrets and passwords as stored, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select, update

from ordergate.auth import (
    Principal,
    Role,
    User,
    UserService,
    hash_api_token,
    load_or_create_secret,
)
from ordergate.domain.accounts import Account
from ordergate.domain.errors import (
    AccountNotFound,
    AlreadyExists,
    AuthError,
    InvalidInput,
    UserNotFound,
)
from ordergate.store import SqlStore, create_engine
from ordergate.store.tables import api_tokens, settings, users
from tests.builders import account, add_user


async def disable_user(store: SqlStore, name: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(update(users).where(users.c.name == name).values(enabled=False))


async def stored_account(store: SqlStore, *, enabled: bool = True) -> Account:
    """Account Sim101 (login 1001) of user 1 "demo", stored."""
    await add_user(store, "demo")
    acct = account(enabled=enabled)
    async with store.transaction() as tx:
        await tx.accounts.add(acct)
        await tx.commit()
    return acct


async def test_an_added_user_reads_back_with_its_groups(store: SqlStore) -> None:
    service = UserService(store)
    added = await service.add_user("desk.lead@eu", Role.MANAGER, groups=["demo", "vip"])
    assert added == User(added.id, "desk.lead@eu", Role.MANAGER, frozenset({"demo", "vip"}), True)
    assert await service.get_user("desk.lead@eu") == added


async def test_users_are_listed_by_name_with_their_groups(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("zed", Role.TRADER)
    await service.add_user("amy", Role.MANAGER, groups=["b", "a"])
    listed = await service.list_users()
    assert [(u.name, u.role, u.groups) for u in listed] == [
        ("amy", Role.MANAGER, frozenset({"a", "b"})),
        ("zed", Role.TRADER, frozenset()),
    ]


async def test_a_duplicate_user_name_is_refused(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("alice", Role.TRADER)
    with pytest.raises(AlreadyExists, match="alice"):
        await service.add_user("alice", Role.ADMIN)
    assert [u.role for u in await service.list_users()] == [Role.TRADER]


@pytest.mark.parametrize("name", ["", "x" * 65, "has space", "semi;colon", "ünïcode", "a/b"])
async def test_a_bad_user_name_is_refused_and_nothing_is_stored(store: SqlStore, name: str) -> None:
    service = UserService(store)
    with pytest.raises(InvalidInput, match="user name"):
        await service.add_user(name, Role.TRADER)
    assert await service.list_users() == []


@pytest.mark.parametrize("groups", [[""], ["g" * 65], [" "]])
async def test_a_bad_group_name_is_refused(store: SqlStore, groups: list[str]) -> None:
    with pytest.raises(InvalidInput, match="group"):
        await UserService(store).add_user("bob", Role.MANAGER, groups=groups)


async def test_an_unknown_role_is_refused(store: SqlStore) -> None:
    with pytest.raises(InvalidInput, match="role"):
        await UserService(store).add_user("bob", "superuser")  # type: ignore[arg-type]


async def test_an_unknown_user_is_not_found(store: SqlStore) -> None:
    with pytest.raises(UserNotFound):
        await UserService(store).get_user("nobody")


async def test_a_token_authenticates_as_its_user(store: SqlStore) -> None:
    service = UserService(store)
    user = await service.add_user("mgr", Role.MANAGER, groups=["demo", "vip"])
    token = await service.create_token("mgr", label="bot")
    assert await service.authenticate_token(token) == Principal(
        user_id=user.id, role=Role.MANAGER, groups=frozenset({"demo", "vip"}), name="mgr"
    )


async def test_the_stored_token_row_holds_only_the_hash(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("alice", Role.TRADER)
    token = await service.create_token("alice", label="laptop")
    async with store.engine.connect() as conn:
        row = (await conn.execute(select(api_tokens))).mappings().one()
    assert row["token_hash"] == hash_api_token(token)
    assert row["label"] == "laptop"
    assert not any(token in str(value) for value in row.values())


@pytest.mark.parametrize("token", ["", "garbage", "og_short", "og_" + "A" * 43])
async def test_an_unknown_or_malformed_token_is_refused(store: SqlStore, token: str) -> None:
    service = UserService(store)
    await service.add_user("alice", Role.TRADER)
    await service.create_token("alice")
    with pytest.raises(AuthError, match="invalid token"):
        await service.authenticate_token(token)


async def test_revoked_tokens_are_refused(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("alice", Role.TRADER)
    tokens = [await service.create_token("alice"), await service.create_token("alice")]
    assert await service.revoke_tokens("alice") == 2
    assert await service.revoke_tokens("alice") == 0
    for token in tokens:
        with pytest.raises(AuthError, match="invalid token"):
            await service.authenticate_token(token)


async def test_revoking_leaves_other_users_tokens_alone(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("alice", Role.TRADER)
    await service.add_user("bob", Role.TRADER)
    token = await service.create_token("bob")
    await service.create_token("alice")
    assert await service.revoke_tokens("alice") == 1
    assert (await service.authenticate_token(token)).name == "bob"


async def test_a_disabled_users_token_is_refused(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("alice", Role.TRADER)
    token = await service.create_token("alice")
    await disable_user(store, "alice")
    with pytest.raises(AuthError, match="invalid token"):
        await service.authenticate_token(token)


async def test_tokens_are_only_made_for_known_users(store: SqlStore) -> None:
    service = UserService(store)
    with pytest.raises(UserNotFound):
        await service.create_token("nobody")
    with pytest.raises(UserNotFound):
        await service.revoke_tokens("nobody")


async def test_a_session_user_becomes_a_principal_while_enabled(store: SqlStore) -> None:
    service = UserService(store)
    user = await service.add_user("admin", Role.ADMIN)
    principal = await service.principal_for_user(user.id)
    assert (principal.user_id, principal.role, principal.name) == (user.id, Role.ADMIN, "admin")
    await disable_user(store, "admin")
    with pytest.raises(AuthError):
        await service.principal_for_user(user.id)
    with pytest.raises(AuthError):
        await service.principal_for_user(user.id + 1)


async def test_a_user_password_verifies_only_when_right(store: SqlStore) -> None:
    service = UserService(store)
    user = await service.add_user("mgr", Role.MANAGER, password="hunter22")
    await service.add_user("nopass", Role.MANAGER)
    assert await service.verify_user_password("mgr", "hunter22") == user
    assert await service.verify_user_password("mgr", "hunter23") is None
    assert await service.verify_user_password("nobody", "hunter22") is None
    assert await service.verify_user_password("nopass", "hunter22") is None
    assert await service.verify_user_password("mgr", "x" * 1000) is None


async def test_a_disabled_user_cannot_sign_in_with_its_password(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("mgr", Role.MANAGER, password="hunter22")
    await disable_user(store, "mgr")
    assert await service.verify_user_password("mgr", "hunter22") is None


async def test_the_user_password_is_stored_as_an_argon2_hash(store: SqlStore) -> None:
    await UserService(store).add_user("mgr", Role.MANAGER, password="hunter22")
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(users.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert "hunter22" not in stored


@pytest.mark.parametrize("password", ["12345", "x" * 65])
async def test_a_user_password_outside_6_to_64_characters_is_refused(
    store: SqlStore, password: str
) -> None:
    service = UserService(store)
    with pytest.raises(InvalidInput, match="password"):
        await service.add_user("mgr", Role.MANAGER, password=password)
    assert await service.list_users() == []


async def test_an_account_password_verifies_only_when_right(store: SqlStore) -> None:
    acct = await stored_account(store)
    service = UserService(store)
    assert await service.verify_account_password(acct.login, "s3cret!") is None
    await service.set_account_password(acct.login, "s3cret!")
    assert await service.verify_account_password(acct.login, "s3cret!") == acct
    assert await service.verify_account_password(acct.login, "s3cret?") is None
    assert await service.verify_account_password(9999, "s3cret!") is None


async def test_a_disabled_account_cannot_sign_in(store: SqlStore) -> None:
    acct = await stored_account(store, enabled=False)
    service = UserService(store)
    await service.set_account_password(acct.login, "s3cret!")
    assert await service.verify_account_password(acct.login, "s3cret!") is None


async def test_an_account_password_needs_an_account_and_6_to_64_characters(
    store: SqlStore,
) -> None:
    acct = await stored_account(store)
    service = UserService(store)
    with pytest.raises(AccountNotFound):
        await service.set_account_password(9999, "s3cret!")
    with pytest.raises(InvalidInput, match="password"):
        await service.set_account_password(acct.login, "short")


async def test_the_secret_is_created_once_and_stable(store: SqlStore) -> None:
    first = await load_or_create_secret(store, None)
    assert len(first) >= 32
    assert await load_or_create_secret(store, None) == first
    async with store.engine.connect() as conn:
        rows = (await conn.execute(select(settings.c.key, settings.c.value))).all()
    assert [tuple(r) for r in rows] == [("jwt_secret", first)]


async def test_two_processes_starting_at_once_share_one_secret(
    store: SqlStore, db_url: str
) -> None:
    other = SqlStore(create_engine(db_url))
    try:
        mine, theirs = await asyncio.gather(
            load_or_create_secret(store, None), load_or_create_secret(other, None)
        )
    finally:
        await other.engine.dispose()
    assert mine == theirs


async def test_a_configured_secret_overrides_the_stored_one(store: SqlStore) -> None:
    configured = "c" * 40
    assert await load_or_create_secret(store, configured) == configured
    stored = await load_or_create_secret(store, None)
    assert await load_or_create_secret(store, configured) == configured
    assert stored != configured


@pytest.mark.parametrize("configured", ["", "short", "c" * 31])
async def test_a_configured_secret_shorter_than_32_characters_is_refused(
    store: SqlStore, configured: str
) -> None:
    with pytest.raises(InvalidInput, match="32"):
        await load_or_create_secret(store, configured)


@pytest.mark.parametrize("name", ["nul\x00name", "x" * 1000, "semi;colon"])
async def test_looking_up_an_impossible_user_name_finds_nobody(store: SqlStore, name: str) -> None:
    service = UserService(store)
    with pytest.raises(UserNotFound):
        await service.get_user(name)
    with pytest.raises(UserNotFound):
        await service.create_token(name)
    assert await service.verify_user_password(name, "hunter22") is None


@pytest.mark.parametrize("number", [-1, 2**63, 10**30])
async def test_an_out_of_range_login_or_user_id_finds_nothing(store: SqlStore, number: int) -> None:
    service = UserService(store)
    assert await service.verify_account_password(number, "s3cret!") is None
    with pytest.raises(AccountNotFound):
        await service.set_account_password(number, "s3cret!")
    with pytest.raises(AuthError):
        await service.principal_for_user(number)


async def test_staff_and_account_logins_share_one_number_space(store: SqlStore) -> None:
    service = UserService(store)
    owner = await service.add_user("owner", Role.TRADER)
    async with store.transaction() as tx:
        await tx.accounts.add(account(1001, "Sim101", owner=owner.id))
        await tx.commit()

    with pytest.raises(AlreadyExists, match="login 1001 is taken"):
        await service.add_user("desk", Role.MANAGER, ["demo"], "desk-pass", login=1001)
    desk = await service.add_user("desk", Role.MANAGER, ["demo"], "desk-pass", login=900)
    with pytest.raises(AlreadyExists, match="login 900 is taken"):
        await service.add_user("desk2", Role.ADMIN, (), "desk-pass", login=900)
    with pytest.raises(AlreadyExists, match="login 900 is taken"):
        async with store.transaction() as tx:
            await tx.accounts.add(account(900, "Clash", owner=owner.id))

    found = await service.credentials(900)
    assert found is not None
    assert (found.account, found.user) == (None, desk)
    client = await service.credentials(1001)
    assert client is not None
    assert client.account is not None
    assert client.account.name == "Sim101"
    assert await service.credentials(4242) is None


async def test_a_trader_has_no_staff_login(store: SqlStore) -> None:
    with pytest.raises(InvalidInput, match="accounts' logins"):
        await UserService(store).add_user("t", Role.TRADER, (), "a-password", login=77)


async def test_callers_are_kept_for_the_cache_time_and_dropped_on_a_revoke(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ordergate.auth.kept as kept_module

    now = [1000.0]
    monkeypatch.setattr(kept_module.time, "monotonic", lambda: now[0])
    service = UserService(store, cache_seconds=1.0)
    await service.add_user("alice", Role.TRADER)
    token = await service.create_token("alice")
    assert (await service.authenticate_token(token)).name == "alice"
    await disable_user(store, "alice")  # behind the service's back, as another process would
    assert (await service.authenticate_token(token)).name == "alice"  # kept, for 1 s at most
    now[0] += 1.01
    with pytest.raises(AuthError, match="invalid token"):
        await service.authenticate_token(token)

    await service.add_user("bob", Role.TRADER)
    token = await service.create_token("bob")
    assert (await service.authenticate_token(token)).name == "bob"
    # Another service on the same store (another request's) revokes: refused at once.
    assert await UserService(store).revoke_tokens("bob") == 1
    with pytest.raises(AuthError, match="invalid token"):
        await service.authenticate_token(token)


async def test_callers_missed_together_share_one_lookup(store: SqlStore) -> None:
    # Under load a kept caller expires while many requests are in flight: they wait for one
    # lookup rather than each reading the caller (a read transaction each).
    service = UserService(store, cache_seconds=60)
    await service.add_user("alice", Role.TRADER)
    token = await service.create_token("alice")
    lookups: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("SELECT") and "api_tokens" in statement:
            lookups.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        found = await asyncio.gather(*(service.authenticate_token(token) for _ in range(50)))
        assert {p.name for p in found} == {"alice"}
        assert len(lookups) == 1
        # A revoke drops the kept caller and any lookup under way: the next request reads.
        await service.revoke_tokens("alice")
        results = await asyncio.gather(
            *(service.authenticate_token(token) for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, AuthError) for r in results)
        assert len(lookups) == 2
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)


async def test_without_a_cache_time_every_request_reads_the_caller(store: SqlStore) -> None:
    service = UserService(store)
    await service.add_user("alice", Role.TRADER)
    token = await service.create_token("alice")
    await service.authenticate_token(token)
    await disable_user(store, "alice")
    with pytest.raises(AuthError, match="invalid token"):
        await service.authenticate_token(token)
