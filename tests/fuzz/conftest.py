"""The fuzz and hostile-input suites run against the CrossTrade test server (and its live
uvicorn), with argon2 at its cheapest: they sign in, and fail to, many times."""

import pytest
from argon2 import PasswordHasher

from ordergate.auth import passwords
from tests.api.crosstrade.conftest import ct, live

__all__ = ["ct", "live"]  # fixtures


@pytest.fixture(autouse=True)
def _cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its cheapest parameters (as tests/api/scaletrade does)."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    )
