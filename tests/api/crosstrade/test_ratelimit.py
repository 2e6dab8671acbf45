"""The CrossTrade rate limit: a token bucket per user (3 requests a second, bursts of 20 by
default). Through HTTP with a burst of 5 and 1 request a second, on a limiter whose clock the
test moves; then the limiter on its own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from ordergate.api.app import create_app
from ordergate.api.crosstrade.ratelimit import RateLimiter
from ordergate.bootstrap import shutdown
from ordergate.store import SqlStore
from tests.api.crosstrade.conftest import Server, start
from tests.builders import snapshot

ORDERS = "/v1/api/accounts/{account}/orders"
CANCEL = "/v1/api/accounts/Sim101/orders/cancel"
LIMITED = "Rate limit exceeded"


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Limited:
    server: Server
    client: httpx.AsyncClient  # an app over the server's container, on the fake clock
    clock: FakeClock
    configured: RateLimiter  # the limiter the app built from the settings

    def auth(self, token: str | None = None) -> dict[str, str]:
        return self.server.auth(token)

    async def get(self, token: str | None = None, account: str = "Sim101") -> httpx.Response:
        return await self.client.get(ORDERS.format(account=account), headers=self.auth(token))


@pytest.fixture
async def limited(db_url: str, store: SqlStore) -> AsyncIterator[Limited]:
    """A server limited to bursts of 5 and 1 request a second, its limiter on a fake clock."""
    server = await start(db_url, rate_limit_enabled=True, rate_limit_burst=5, rate_limit_per_s=1)
    app = create_app(container=server.container)
    configured: RateLimiter = app.state.crosstrade_limiter
    clock = FakeClock()
    app.state.crosstrade_limiter = RateLimiter(
        configured.rate, configured.burst, enabled=configured.enabled, now=clock
    )
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")
    yield Limited(server, client, clock, configured)
    await client.aclose()
    await server.client.aclose()
    await shutdown(server.container)


async def spend(
    limited: Limited, count: int, token: str | None = None, account: str = "Sim101"
) -> None:
    for _ in range(count):
        response = await limited.get(token, account)
        assert response.status_code == 200, response.text


def assert_limited(response: httpx.Response) -> int:
    """The 429 form; the Retry-After seconds."""
    assert response.status_code == 429, response.text
    assert response.json() == {"error": LIMITED}
    assert response.headers["content-type"].startswith("application/json")
    retry = int(response.headers["Retry-After"])
    assert retry >= 1
    return retry


async def test_settings_configure_the_limiter(limited):
    assert (limited.configured.rate, limited.configured.burst) == (1, 5)
    assert limited.configured.enabled is True


async def test_sixth_request_of_a_burst_is_refused_with_retry_after(limited):
    await spend(limited, 5)
    assert_limited(await limited.get())


async def test_another_users_bucket_is_separate(limited):
    await spend(limited, 5)
    await spend(limited, 5, limited.server.other_token, "Other")
    assert_limited(await limited.get())
    assert_limited(await limited.get(limited.server.other_token, "Other"))


async def test_the_bucket_is_the_users_not_the_tokens(limited):
    second = await limited.server.container.users.create_token("demo", "second")
    await spend(limited, 3)
    await spend(limited, 2, second)
    assert_limited(await limited.get(second))
    assert_limited(await limited.get())


async def test_requests_pass_again_once_retry_after_has_passed(limited):
    await spend(limited, 5)
    retry = assert_limited(await limited.get())
    limited.clock.advance(retry / 2)
    assert_limited(await limited.get())
    limited.clock.advance(retry / 2)
    await spend(limited, 1)
    assert_limited(await limited.get())  # one second bought one request back, not a burst


async def test_a_long_pause_refills_no_more_than_the_burst(limited):
    await spend(limited, 5)
    limited.clock.advance(3600)
    await spend(limited, 5)
    assert_limited(await limited.get())


async def test_refused_requests_do_not_push_the_wait_back(limited):
    await spend(limited, 5)
    for _ in range(10):
        assert_limited(await limited.get())
    limited.clock.advance(1)
    await spend(limited, 1)


async def test_the_token_is_checked_before_the_rate(limited):
    await spend(limited, 5)
    url = ORDERS.format(account="Sim101")
    response = await limited.client.get(url, headers={"Authorization": "Bearer og_nope"})
    assert response.status_code == 401
    missing = await limited.client.get(url)
    assert missing.status_code == 401


async def place(limited: Limited) -> str:
    response = await limited.client.post(
        "/v1/api/accounts/Sim101/orders/place",
        headers=limited.auth(),
        json={
            "instrument": "ES 12-26",
            "action": "Buy",
            "quantity": 1,
            "orderType": "Limit",
            "limitPrice": 5990,
            "timeInForce": "Gtc",
        },
    )
    assert response.status_code == 200, response.text
    return str(response.json()["orderId"])


async def test_a_rate_limited_request_changes_nothing(limited):
    order = await place(limited)
    await limited.server.container.engine.settle()
    await spend(limited, 4)
    before = await snapshot(limited.server.container.store)

    assert_limited(await limited.client.post(CANCEL, headers=limited.auth(), json={}))
    await limited.server.container.engine.settle()
    assert await snapshot(limited.server.container.store) == before
    response = await limited.client.post(
        "/v1/api/accounts/Sim101/orders/place", headers=limited.auth(), json={}
    )
    assert_limited(response)  # refused before its body is even read
    assert await snapshot(limited.server.container.store) == before

    limited.clock.advance(1)
    response = await limited.client.post(CANCEL, headers=limited.auth(), json={})
    assert response.json() == {"orderIds": [order], "notCancelled": [], "success": True}


async def test_rate_limit_disabled_never_limits(db_url, store):
    server = await start(db_url, rate_limit_enabled=False, rate_limit_burst=1, rate_limit_per_s=1)
    try:
        for _ in range(30):  # 30 requests at once: 29 over a burst of 1 at 1 a second
            response = await server.client.get(
                ORDERS.format(account="Sim101"), headers=server.auth()
            )
            assert response.status_code == 200, response.text
    finally:
        await server.client.aclose()
        await shutdown(server.container)


# -- the limiter on its own -------------------------------------------------------------------


def limiter(
    rate: int = 1, burst: int = 5, *, enabled: bool = True
) -> tuple[RateLimiter, FakeClock]:
    clock = FakeClock()
    return RateLimiter(rate, burst, enabled=enabled, now=clock), clock


def test_a_new_key_starts_with_a_full_burst():
    bucket, _ = limiter(burst=3)
    assert [bucket.take("a") for _ in range(3)] == [None, None, None]
    assert bucket.take("a") == pytest.approx(1.0)


def test_the_wait_is_the_time_until_one_whole_token():
    bucket, clock = limiter(rate=2, burst=1)
    assert bucket.take("a") is None
    assert bucket.take("a") == pytest.approx(0.5)
    clock.advance(0.2)
    assert bucket.take("a") == pytest.approx(0.3)


def test_tokens_refill_at_the_rate():
    bucket, clock = limiter(rate=2, burst=4)
    assert all(bucket.take("a") is None for _ in range(4))
    clock.advance(0.5)
    assert bucket.take("a") is None
    assert bucket.take("a") is not None
    clock.advance(1.0)
    assert [bucket.take("a") is None for _ in range(3)] == [True, True, False]


def test_refill_is_capped_at_the_burst():
    bucket, clock = limiter(rate=3, burst=5)
    assert all(bucket.take("a") is None for _ in range(5))
    clock.advance(3600)
    assert [bucket.take("a") is None for _ in range(6)] == [True] * 5 + [False]


def test_a_refused_take_costs_nothing():
    bucket, clock = limiter(rate=1, burst=1)
    assert bucket.take("a") is None
    for _ in range(100):
        assert bucket.take("a") == pytest.approx(1.0)
    clock.advance(1)
    assert bucket.take("a") is None


def test_keys_have_buckets_of_their_own():
    bucket, _ = limiter(burst=2)
    assert [bucket.take("a"), bucket.take("a")] == [None, None]
    assert bucket.take("a") is not None
    assert [bucket.take("b"), bucket.take("b")] == [None, None]


def test_a_disabled_limiter_allows_everything():
    bucket, _ = limiter(burst=1, enabled=False)
    assert all(bucket.take("a") is None for _ in range(1000))


@pytest.mark.parametrize(("rate", "burst"), [(0, 5), (1, 0), (-1, 5)])
def test_rate_and_burst_must_be_positive(rate, burst):
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate, burst)
