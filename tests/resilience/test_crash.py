"""Crash consistency, short form: a real server killed with SIGKILL at a few random points of
a bulk cancel and of a stream of placements and fills, on SQLite and on PostgreSQL; after each
kill the database holds every rule, and after a restart the venue's book matches it.

The long form (many kill points, 100k orders, a time budget):
``python -m tests.resilience.crash --help`` (crash.py); figures in bench/README.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.resilience.crash import run_cancel, run_stream
from tests.resilience.harness import PgTarget, SqliteTarget, Target

ORDERS = 2_000


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    """Databases of the test's own: SQLite files, or databases on the tests' PostgreSQL
    server (``pg_url`` skips, or fails under ORDERGATE_REQUIRE_PG=1, when it is away)."""
    chosen: Target = (
        SqliteTarget() if request.param == "sqlite" else PgTarget(request.getfixturevalue("pg_url"))
    )
    yield chosen
    asyncio.run(chosen.close())


async def test_a_bulk_cancel_killed_at_any_point_loses_no_order(target: Target) -> None:
    # Point 0 kills once the cancel is answered and confirmed; 1 and 2 at random delays
    # within that time; 2 also kills the restarted server during its recovery.
    run = await run_cancel(target, ORDERS, kills=3, seed=7, again_every=3)
    assert [p.again_s is not None for p in run.points] == [False, False, True]
    assert run.problems == []


async def test_placements_and_fills_killed_at_any_point_lose_nothing(target: Target) -> None:
    # Two kills into a stream through both dialects; the second server is also killed
    # during its recovery.
    run = await run_stream(target, kills=2, seed=7, again_every=2, stream_s=0.6)
    assert run.orders > 0
    assert run.fills > 0
    assert run.problems == []
