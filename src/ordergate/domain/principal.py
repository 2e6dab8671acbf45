"""Who is acting, and the one permission rule every use case applies."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ordergate.domain.accounts import Account
from ordergate.domain.errors import PermissionDenied
from ordergate.domain.ids import Login, UserId

__all__ = ["Principal", "Role", "can_act", "ensure_can_act"]


class Role(enum.StrEnum):
    TRADER = "trader"
    MANAGER = "manager"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a user (token, JWT) or a ScaleTrade client session (``login``)."""

    user_id: UserId | None
    role: Role
    groups: frozenset[str] = field(default=frozenset())
    #: set for a client session: it acts on this login only, whatever the role.
    login: Login | None = None
    name: str = ""

    @property
    def actor(self) -> str:
        """How the audit trail names this caller."""
        if self.login is not None:
            return f"login:{self.login}"
        return f"user:{self.name or self.user_id}"


def can_act(principal: Principal, account: Account) -> bool:
    """A trader on its own accounts, a manager on its groups' accounts, an admin on all;
    a client session on its own login only."""
    if principal.login is not None:
        return principal.login == account.login
    if principal.role is Role.ADMIN:
        return True
    if principal.role is Role.MANAGER and account.group in principal.groups:
        return True
    return principal.user_id is not None and principal.user_id == account.owner_id


def ensure_can_act(principal: Principal, account: Account) -> None:
    if not can_act(principal, account):
        raise PermissionDenied(f"{principal.actor} may not act on account {account.name}")
