"""What administration lists and revokes: API tokens (never their values: only hashes are
kept), and accounts with their owners. Shared by ``ordergate token|account …`` and the
admin API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, select, update

from ordergate.auth.tokens import hash_api_token, looks_like_api_token
from ordergate.auth.users import UserService
from ordergate.domain.errors import NotFound
from ordergate.store.tables import accounts, api_tokens, users

__all__ = ["AccountInfo", "TokenInfo", "list_accounts", "list_tokens", "revoke_token"]

_MAX_BIGINT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """An API token as administration sees it: its id, owner and label, never its value."""

    id: int
    user: str
    label: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    login: int
    name: str
    owner: str
    group: str
    currency: str
    balance: Decimal
    leverage: int
    mode: str
    enabled: bool


_TOKENS = select(
    api_tokens.c.id,
    users.c.name,
    api_tokens.c.label,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
).select_from(api_tokens.join(users, users.c.id == api_tokens.c.user_id))


async def _tokens(service: UserService, *where: ColumnElement[bool]) -> list[TokenInfo]:
    async with service.store.transaction(readonly=True) as tx:
        rows = await tx.connection.execute(_TOKENS.where(*where).order_by(api_tokens.c.id))
        return [TokenInfo(r.id, r.name, r.label, r.created_at, r.revoked_at) for r in rows]


async def list_tokens(
    service: UserService, user: str | None = None, *, revoked: bool = False
) -> list[TokenInfo]:
    """The tokens of every user (or of ``user``: ``UserNotFound`` if there is none), oldest
    first; revoked ones too with ``revoked``."""
    where: list[ColumnElement[bool]] = []
    if user is not None:
        found = await service.get_user(user)
        where.append(users.c.id == found.id)
    if not revoked:
        where.append(api_tokens.c.revoked_at.is_(None))
    return await _tokens(service, *where)


async def revoke_token(service: UserService, ref: str, now: datetime) -> TokenInfo:
    """Revoke the token ``ref`` names: its id (as ``token list`` shows it) or the token
    itself. ``NotFound`` if there is none; revoking a revoked token changes nothing."""
    if looks_like_api_token(ref):
        where = api_tokens.c.token_hash == hash_api_token(ref)
        shown = "that token"
    elif ref.isdigit() and int(ref) <= _MAX_BIGINT:
        where = api_tokens.c.id == int(ref)
        shown = f"token {ref}"
    else:
        raise NotFound(f"no token {ref!r} (give its id, as `token list` shows it, or the token)")
    async with service.store.transaction() as tx:
        await tx.connection.execute(
            update(api_tokens)
            .where(where, api_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await tx.commit()
    service.forget()
    found = await _tokens(service, where)
    if not found:
        raise NotFound(f"{shown} not found")
    return found[0]


async def list_accounts(service: UserService) -> list[AccountInfo]:
    """Every account with its owner's name, by login."""
    stmt = (
        select(
            accounts.c.login,
            accounts.c.name,
            users.c.name.label("owner"),
            accounts.c.group_name,
            accounts.c.currency,
            accounts.c.balance,
            accounts.c.leverage,
            accounts.c.mode,
            accounts.c.enabled,
        )
        .select_from(accounts.join(users, users.c.id == accounts.c.owner_id))
        .order_by(accounts.c.login)
    )
    async with service.store.transaction(readonly=True) as tx:
        rows = await tx.connection.execute(stmt)
        return [
            AccountInfo(
                r.login,
                r.name,
                r.owner,
                r.group_name,
                r.currency,
                r.balance,
                r.leverage,
                r.mode,
                r.enabled,
            )
            for r in rows
        ]
