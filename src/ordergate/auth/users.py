"""Users, their API tokens and passwords, and account passwords: who a caller is."""

from __future__ import annotations

import re
import weakref
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, RowMapping, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from ordergate.auth.kept import Kept
from ordergate.auth.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    burn_verify_async,
    check_password,
    hash_password_async,
    verify_password_async,
)
from ordergate.auth.tokens import hash_api_token, looks_like_api_token, new_api_token
from ordergate.domain.accounts import Account
from ordergate.domain.errors import (
    AccountNotFound,
    AlreadyExists,
    AuthError,
    InvalidInput,
    UserNotFound,
)
from ordergate.domain.ids import Login, UserId
from ordergate.domain.principal import Principal, Role
from ordergate.engine.ports import Clock, SystemClock
from ordergate.store import SqlStore
from ordergate.store.mapping import account_from_row
from ordergate.store.tables import accounts, api_tokens, user_groups, users

__all__ = ["Credentials", "User", "UserService", "verify_secret"]

_NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
# Ids and logins are BIGINT: a larger number from a request can match nothing, and is
# answered without a query the database driver would refuse.
_MAX_BIGINT = 2**63 - 1
_MAX_GROUP = 64
_MAX_LABEL = 64

# One row per (user, group), or one row with no group: a user and its groups in one query.
_USER_COLUMNS = (
    users.c.id,
    users.c.name,
    users.c.login,
    users.c.created_at,
    users.c.role,
    users.c.enabled,
    users.c.password_hash,
    user_groups.c.group_name,
)
_WITH_GROUPS = users.outerjoin(user_groups, user_groups.c.user_id == users.c.id)


@dataclass(frozen=True, slots=True)
class User:
    """A person or API client as administration sees it (never its secrets)."""

    id: UserId
    name: str
    role: Role
    groups: frozenset[str]
    enabled: bool
    #: the ScaleTrade sign-in login of a manager or admin
    login: int | None = None
    created_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What a ScaleTrade sign-in login names: an account (client session) or a manager or
    admin (staff session), with its password hash."""

    account: Account | None
    user: User | None
    password_hash: str | None
    registered_at: datetime | None = None
    #: whether the user owning ``account`` is enabled (a disabled user's accounts sign in
    #: no more: their sessions are that user's too)
    owner_enabled: bool = True

    @property
    def enabled(self) -> bool:
        if self.account is not None:
            return self.account.enabled and self.owner_enabled
        return self.user is not None and self.user.enabled


#: Callers recently found for a token, a staff user or a client session's login, shared by
#: every ``UserService`` on one store and emptied by any change this process makes to users,
#: accounts or tokens; a change made elsewhere (another process, plain SQL) shows within the
#: kept seconds (the access watch empties it within about a second for disabled ones).
_CALLERS: weakref.WeakKeyDictionary[SqlStore, Kept[Principal]] = weakref.WeakKeyDictionary()


class UserService:
    """Adds users and tokens, and turns tokens and passwords into callers, for the CLI and
    both dialects' sign-in. ``cache_seconds`` keeps the callers found for that long (0: every
    request reads them; see ``auth/kept.py``)."""

    def __init__(
        self, store: SqlStore, clock: Clock | None = None, *, cache_seconds: float = 0
    ) -> None:
        self._store = store
        self._clock: Clock = clock or SystemClock()
        self._cache_seconds = cache_seconds
        self._callers: Kept[Principal] = _CALLERS.setdefault(store, Kept())

    @property
    def store(self) -> SqlStore:
        return self._store

    async def add_user(
        self,
        name: str,
        role: Role,
        groups: Iterable[str] = (),
        password: str | None = None,
        login: int | None = None,
    ) -> User:
        """A new enabled user; a manager or admin signs in to ScaleTrade with ``login`` and
        ``password`` (the login must not be an account's: they share one number space)."""
        _check_name(name)
        role = _role(role)
        group_set = _groups(groups)
        if login is not None:
            if role is Role.TRADER:
                raise InvalidInput("a trader signs in with its accounts' logins, not its own")
            if isinstance(login, bool) or not 0 <= login <= _MAX_BIGINT:
                raise InvalidInput("login must be a non-negative 64-bit integer")
        password_hash = None
        if password is not None:
            check_password(password)
            # Hashed before the transaction opens, so no write lock is held while it runs.
            password_hash = await hash_password_async(password)
        try:
            now = self._clock.now()
            user_id = await self._insert_user(name, role, group_set, password_hash, login, now)
        except IntegrityError:
            if await self._find(name) is None:
                if login is not None:
                    raise AlreadyExists(f"login {login} is taken") from None
                raise  # not the name: an id clash or a constraint unknown here; say so
            raise AlreadyExists(f"a user named {name} exists") from None
        return User(user_id, name, role, group_set, True, login, now)

    async def _insert_user(
        self,
        name: str,
        role: Role,
        groups: frozenset[str],
        password_hash: str | None,
        login: int | None,
        now: datetime,
    ) -> UserId:
        async with self._store.transaction() as tx:
            conn = tx.connection
            if login is not None and await _account_login_taken(conn, login):
                raise AlreadyExists(f"login {login} is taken by an account")
            result = await conn.execute(
                insert(users)
                .values(
                    name=name,
                    login=login,
                    role=role.value,
                    password_hash=password_hash,
                    enabled=True,
                    created_at=now,
                )
                .returning(users.c.id)
            )
            user_id = UserId(result.scalar_one())
            if groups:
                await conn.execute(
                    insert(user_groups),
                    [{"user_id": user_id, "group_name": g} for g in sorted(groups)],
                )
            await tx.commit()
        return user_id

    async def get_user(self, name: str) -> User:
        """The user called ``name``; ``UserNotFound`` if there is none."""
        found = await self._find(name)
        if found is None:
            raise UserNotFound(f"no user named {name}")
        return found[0]

    async def list_users(self) -> list[User]:
        """Every user, by name."""
        async with self._store.transaction(readonly=True) as tx:
            found = await _users(tx.connection)
        return [user for user, _ in found]

    async def _find(self, name: str) -> tuple[User, str | None] | None:
        """The user called ``name`` and its password hash; None if there is none."""
        if not _NAME.fullmatch(name):
            # Cannot exist; and PostgreSQL refuses some text (NUL) in a query outright.
            return None
        async with self._store.transaction(readonly=True) as tx:
            found = await _users(tx.connection, users.c.name == name)
        return found[0] if found else None

    async def create_token(self, user_name: str, label: str = "") -> str:
        """A new API token for ``user_name``: returned once, only its hash is kept."""
        if len(label) > _MAX_LABEL:
            raise InvalidInput(f"token label must be at most {_MAX_LABEL} characters")
        token = new_api_token()
        async with self._store.transaction() as tx:
            user_id = await _user_id(tx.connection, user_name)
            await tx.connection.execute(
                insert(api_tokens).values(
                    user_id=user_id,
                    token_hash=hash_api_token(token),
                    label=label,
                    created_at=self._clock.now(),
                )
            )
            await tx.commit()
        return token

    async def revoke_tokens(self, user_name: str) -> int:
        """Revoke every live token of ``user_name``; how many were revoked."""
        async with self._store.transaction() as tx:
            user_id = await _user_id(tx.connection, user_name)
            result = await tx.connection.execute(
                update(api_tokens)
                .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=self._clock.now())
            )
            await tx.commit()
        self._callers.forget()
        return result.rowcount

    async def authenticate_token(self, token: str) -> Principal:
        """The caller behind a CrossTrade bearer token, in one query; ``AuthError`` for an
        unknown, revoked or malformed token or a disabled user."""
        if not isinstance(token, str) or not looks_like_api_token(token):
            raise AuthError("invalid token")
        token_hash = hash_api_token(token)
        return await self._kept(token_hash, lambda: self._token_caller(token_hash))

    async def _token_caller(self, token_hash: str) -> Principal:
        source = api_tokens.join(users, users.c.id == api_tokens.c.user_id).outerjoin(
            user_groups, user_groups.c.user_id == users.c.id
        )
        stmt = (
            select(users.c.id, users.c.name, users.c.role, user_groups.c.group_name)
            .select_from(source)
            .where(
                api_tokens.c.token_hash == token_hash,
                api_tokens.c.revoked_at.is_(None),
                users.c.enabled,
            )
        )
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(stmt)).mappings().all()
        if not rows:
            raise AuthError("invalid token")
        return _principal(rows)

    async def principal_for_user(self, user_id: int) -> Principal:
        """The caller for a staff session's user id; ``AuthError`` if gone or disabled."""
        if not 0 < user_id <= _MAX_BIGINT:
            raise AuthError("unknown or disabled user")
        return await self._kept(user_id, lambda: self._user_caller(user_id))

    async def _user_caller(self, user_id: int) -> Principal:
        stmt = (
            select(users.c.id, users.c.name, users.c.role, user_groups.c.group_name)
            .select_from(_WITH_GROUPS)
            .where(users.c.id == user_id, users.c.enabled)
        )
        async with self._store.transaction(readonly=True) as tx:
            rows = (await tx.connection.execute(stmt)).mappings().all()
        if not rows:
            raise AuthError("unknown or disabled user")
        return _principal(rows)

    async def principal_for_login(self, login: int) -> Principal:
        """The caller for a client session of account ``login``: it acts on that login only,
        while the account and the user owning it are enabled (``AuthError`` otherwise)."""
        if isinstance(login, bool) or not 0 <= login <= _MAX_BIGINT:
            raise AuthError("unknown or disabled account")
        return await self._kept(("login", login), lambda: self._login_caller(login))

    async def _login_caller(self, login: int) -> Principal:
        stmt = (
            select(accounts.c.login)
            .select_from(accounts.join(users, users.c.id == accounts.c.owner_id))
            .where(accounts.c.login == login, accounts.c.enabled, users.c.enabled)
        )
        async with self._store.transaction(readonly=True) as tx:
            found = (await tx.connection.execute(stmt)).scalar()
        if found is None:
            raise AuthError("unknown or disabled account")
        return Principal(user_id=None, role=Role.TRADER, login=Login(found))

    async def _kept(self, key: Hashable, lookup: Callable[[], Awaitable[Principal]]) -> Principal:
        found = await self._callers.find(key, self._cache_seconds, lookup)
        if found is None:  # the lookups raise AuthError rather than find nothing
            raise AuthError("unknown caller")
        return found

    def forget(self) -> None:
        """Drop the callers kept for tokens and sessions: users or accounts changed."""
        self._callers.forget()

    async def verify_user_password(self, name: str, password: str) -> User | None:
        """The enabled user ``name`` if ``password`` is its password, else None, with the
        same argon2 work whether or not the user exists."""
        found = await self._find(name)
        user, password_hash = found if found is not None else (None, None)
        if not await verify_secret(password_hash, password):
            return None
        return user if user is not None and user.enabled else None

    async def set_account_password(self, login: int, password: str) -> None:
        """Set the ScaleTrade client sign-in password of account ``login``."""
        check_password(password)
        if not 0 <= login <= _MAX_BIGINT:
            raise AccountNotFound(f"no account with login {login}")
        password_hash = await hash_password_async(password)
        async with self._store.transaction() as tx:
            result = await tx.connection.execute(
                update(accounts)
                .where(accounts.c.login == login)
                .values(password_hash=password_hash)
            )
            if result.rowcount == 0:
                raise AccountNotFound(f"no account with login {login}")
            await tx.commit()

    async def credentials(self, login: int) -> Credentials | None:
        """The account or the staff user that signs in to ScaleTrade as ``login``."""
        if isinstance(login, bool) or not 0 <= login <= _MAX_BIGINT:
            return None
        async with self._store.transaction(readonly=True) as tx:
            conn = tx.connection
            stmt = (
                select(accounts, users.c.enabled.label("owner_enabled"))
                .select_from(accounts.join(users, users.c.id == accounts.c.owner_id))
                .where(accounts.c.login == login)
            )
            row = (await conn.execute(stmt)).mappings().first()
            if row is not None:
                account = account_from_row(row)
                return Credentials(
                    account,
                    None,
                    row["password_hash"],
                    row["created_at"],
                    owner_enabled=bool(row["owner_enabled"]),
                )
            found = await _users(conn, users.c.login == login)
        if not found:
            return None
        user, password_hash = found[0]
        return Credentials(None, user, password_hash, user.created_at)

    async def verify_account_password(self, login: int, password: str) -> Account | None:
        """The enabled account ``login`` if ``password`` is its password, else None, with
        the same argon2 work whether or not the account exists."""
        row = None
        if 0 <= login <= _MAX_BIGINT:
            stmt = select(accounts).where(accounts.c.login == login)
            async with self._store.transaction(readonly=True) as tx:
                row = (await tx.connection.execute(stmt)).mappings().first()
        password_hash = None if row is None else row["password_hash"]
        if not await verify_secret(password_hash, password) or row is None:
            return None
        account = account_from_row(row)
        return account if account.enabled else None


async def verify_secret(password_hash: str | None, password: str) -> bool:
    """Check ``password``; without a hash to check, or with a password no one could have
    set, spend the same work anyway and say no."""
    if password_hash is None or not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        await burn_verify_async()
        return False
    return await verify_password_async(password_hash, password)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidInput("user name must be 1 to 64 of the characters A-Z a-z 0-9 _ . @ -")


def _role(role: Role | str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r}; one of trader, manager, admin") from None


def _groups(groups: Iterable[str]) -> frozenset[str]:
    if isinstance(groups, str):
        # A bare string would silently become one group per character.
        raise TypeError("groups must be an iterable of group names, not a string")
    group_set = frozenset(groups)
    for group in group_set:
        if not isinstance(group, str) or not 1 <= len(group) <= _MAX_GROUP or group.isspace():
            raise InvalidInput(f"group names must be 1 to {_MAX_GROUP} characters")
    return group_set


async def _user_id(conn: AsyncConnection, name: str) -> UserId:
    found = None
    if _NAME.fullmatch(name):
        found = (await conn.execute(select(users.c.id).where(users.c.name == name))).scalar()
    if found is None:
        raise UserNotFound(f"no user named {name}")
    return UserId(found)


async def _users(
    conn: AsyncConnection, *where: ColumnElement[bool]
) -> list[tuple[User, str | None]]:
    """Users matching ``where``, by name, each with its password hash."""
    stmt = (
        select(*_USER_COLUMNS)
        .select_from(_WITH_GROUPS)
        .where(*where)
        .order_by(users.c.name, user_groups.c.group_name)
    )
    rows = (await conn.execute(stmt)).mappings().all()
    # One entry per user, in name order; its rows differ only in group_name.
    heads = {row["id"]: row for row in rows}
    groups = _groups_by_user(rows)
    return [(_user(row, groups[user_id]), row["password_hash"]) for user_id, row in heads.items()]


def _user(row: RowMapping, groups: frozenset[str]) -> User:
    return User(
        UserId(row["id"]),
        row["name"],
        Role(row["role"]),
        groups,
        row["enabled"],
        row["login"],
        row["created_at"],
    )


async def _account_login_taken(conn: AsyncConnection, login: int) -> bool:
    stmt = select(accounts.c.login).where(accounts.c.login == login)
    return (await conn.execute(stmt)).first() is not None


def _groups_by_user(rows: Sequence[RowMapping]) -> dict[int, frozenset[str]]:
    sets: dict[int, set[str]] = {}
    for row in rows:
        names = sets.setdefault(row["id"], set())
        if row["group_name"] is not None:
            names.add(row["group_name"])
    return {user_id: frozenset(names) for user_id, names in sets.items()}


def _principal(rows: Sequence[RowMapping]) -> Principal:
    """One Principal from the (id, name, role, group_name) rows of one user."""
    first = rows[0]
    return Principal(
        user_id=UserId(first["id"]),
        role=Role(first["role"]),
        groups=_groups_by_user(rows)[first["id"]],
        name=first["name"],
    )
