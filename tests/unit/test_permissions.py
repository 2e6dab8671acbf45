"""Who may act on an account: owner traders, managers of its group, admins, its own client
session; nobody else."""

from __future__ import annotations

import pytest

from ordergate.auth import Principal, Role, can_act, ensure_can_act
from ordergate.domain.errors import PermissionDenied
from ordergate.domain.ids import Login, UserId
from tests.builders import account, trader

MINE = account(1001, "Sim101", owner=1, group="demo")
THEIRS = account(2002, "Other", owner=2, group="other")


def manager(*groups: str, user_id: int = 7) -> Principal:
    return Principal(UserId(user_id), Role.MANAGER, frozenset(groups), name="boss")


def client_session(login: int, role: Role = Role.TRADER) -> Principal:
    return Principal(None, role, login=Login(login))


def test_a_trader_acts_on_its_own_account() -> None:
    assert can_act(trader(1), MINE)


def test_a_trader_may_not_act_on_another_users_account() -> None:
    assert not can_act(trader(1), THEIRS)


def test_a_manager_acts_on_the_accounts_of_its_groups() -> None:
    assert can_act(manager("demo"), MINE)
    assert can_act(manager("other", "demo"), THEIRS)


def test_a_manager_may_not_act_outside_its_groups() -> None:
    assert not can_act(manager("other"), MINE)
    assert not can_act(manager(), MINE)


def test_an_admin_acts_on_every_account() -> None:
    admin = Principal(UserId(9), Role.ADMIN, name="root")
    assert can_act(admin, MINE)
    assert can_act(admin, THEIRS)


def test_a_client_session_acts_on_its_own_login() -> None:
    assert can_act(client_session(1001), MINE)


def test_a_client_session_may_not_act_on_another_login_whatever_its_role() -> None:
    assert not can_act(client_session(1001), THEIRS)
    assert not can_act(client_session(1001, Role.ADMIN), THEIRS)


def test_a_principal_without_user_or_login_acts_on_nothing() -> None:
    assert not can_act(Principal(None, Role.TRADER), MINE)


def test_ensure_can_act_refuses_with_permission_denied_naming_the_account() -> None:
    with pytest.raises(PermissionDenied, match="Other"):
        ensure_can_act(trader(1), THEIRS)


def test_ensure_can_act_lets_an_allowed_caller_through() -> None:
    ensure_can_act(trader(1), MINE)
