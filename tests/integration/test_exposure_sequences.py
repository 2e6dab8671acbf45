"""Any sequence of placements, quotes, changes, cancels, bulk cancels (confirmed or refused)
and flattens leaves the engine's exposure (engine.state.exposure) equal to the sum recomputed
from its open orders (quantity - filled) and open tickets, after every step, while the venue
is still at work, and once it has settled; and a restart then holds exactly what the engine
held. Hypothesis makes the sequences; each runs on an emptied database.
ORDERGATE_EXPOSURE_EXAMPLES sets how many (default 15 per database)."""

import asyncio
import contextlib
import os
import shutil
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ordergate.domain.commands import CancelOrder, CancelOrders, ChangeOrder, Flatten
from ordergate.domain.errors import DomainError
from ordergate.domain.orders import Side
from ordergate.store import SqlStore, create_engine
from tests.builders import (
    World,
    close_venues,
    limit,
    market,
    memory,
    recomputed_exposure,
    restart,
    truncate_all,
    world,
)
from tests.invariants import violations

D = Decimal
EXAMPLES = int(os.environ.get("ORDERGATE_EXPOSURE_EXAMPLES", "15"))
MID = {"ES 12-26": D(5000), "NQ 12-26": D(18000)}

symbols = st.sampled_from(sorted(MID))
sides = st.sampled_from(list(Side))
steps = st.one_of(
    st.tuples(
        st.just("place"),
        sides,
        symbols,
        st.integers(1, 3),
        st.integers(-4, 4),
        st.sampled_from([None, "a", "b"]),
    ),
    st.tuples(st.just("market"), sides, symbols, st.integers(1, 2)),
    st.tuples(st.just("quote"), symbols, st.integers(-5, 5), st.sampled_from([None, "1", "2"])),
    st.tuples(st.just("change"), st.integers(0, 20), st.integers(1, 4)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("cancel_all"), st.sampled_from([None, *sorted(MID)]), st.booleans()),
    st.tuples(st.just("flatten"), st.sampled_from([None, *sorted(MID)])),
    st.tuples(st.just("settle")),
    st.tuples(st.just("advance"), st.integers(1, 5)),
)
LOGINS = (1001, 2002)


def exposure_drift(w: World) -> list[str]:
    """Each account whose exposure is not the recomputed one, one line each."""
    return [
        f"account {login}: {w.engine.state.exposure(login)} kept, "  # type: ignore[arg-type]
        f"{recomputed_exposure(w.engine, login)} recomputed"
        for login in LOGINS
        if w.engine.state.exposure(login) != recomputed_exposure(w.engine, login)  # type: ignore[arg-type]
    ]


async def _step(w: World, step: tuple[Any, ...], placed: list[int]) -> None:
    kind, *args = step
    if kind == "place":
        side, symbol, qty, ticks, oco = args
        price = MID[symbol] + D(ticks) * D("0.25") * 4
        order = await w.engine.place(
            w.me, limit(side, price=str(price), qty=str(qty), symbol=symbol, oco=oco)
        )
        placed.append(order.key)
    elif kind == "market":
        side, symbol, qty = args
        placed.append((await w.engine.place(w.me, market(side, str(qty), symbol))).key)
    elif kind == "quote":
        symbol, points, size = args
        bid = MID[symbol] + D(points)
        w.quote(symbol, str(bid), str(bid + D("0.25")), size=size)
    elif kind == "change" and placed:
        ticket, qty = placed[args[0] % len(placed)], args[1]
        await w.engine.change(w.me, ChangeOrder(account=1001, order=ticket, quantity=D(qty)))
    elif kind == "cancel" and placed:
        await w.engine.cancel(w.me, CancelOrder(account=1001, order=placed[args[0] % len(placed)]))
    elif kind == "cancel_all":
        symbol, refuse = args
        w.venue.config.set(symbol, cancel_refusal_pct=100 if refuse else 0)
        await w.engine.cancel_orders(w.me, CancelOrders(account=1001, symbol=symbol))
    elif kind == "flatten":
        await w.engine.flatten(w.me, Flatten(account=1001, symbol=args[0]))
    elif kind == "settle":
        await w.engine.settle()
    elif kind == "advance":  # time moves: the venue's answers fall due, some are delivered
        w.clock.advance(timedelta(seconds=args[0] / 1000))
        await asyncio.sleep(0)


async def _run(url: str, template: Path | None, steps: list[tuple[Any, ...]]) -> None:
    if template is not None:  # a fresh copy of the migrated SQLite database
        path = Path(url.split("///", 1)[1])
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(template, path)
    store = SqlStore(create_engine(url))
    try:
        if template is None:
            await truncate_all(store)
        w = await world(store, ack_delay_ms=2)
        w.venue.config.set(partial_fills=True)
        w.venue.cancel_delay_ms = 3
        placed: list[int] = []
        for step in steps:
            # A refused step (locked, not cancellable, no margin...) changes nothing.
            with contextlib.suppress(DomainError):
                await _step(w, step, placed)
            assert exposure_drift(w) == [], f"after {step}"
        await w.engine.writer.idle()
        held = memory(w.engine)
        w = await restart(w, recover=False)  # what was in flight is lost with the venue
        assert memory(w.engine) == held
        await w.engine.recover()
        await w.advance(1)
        assert exposure_drift(w) == []
        assert await violations(store, w.venue, w.engine) == []
        settled = memory(w.engine)
        w = await restart(w)
        assert memory(w.engine) == settled
    finally:
        await close_venues()
        await store.engine.dispose()


def test_any_sequence_of_commands_keeps_the_exposure_exact_and_survives_a_restart(
    db_url: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue("sqlite_template") if "sqlite" in db_url else None

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=True,
    )
    @given(st.lists(steps, min_size=1, max_size=15))
    def run(sequence: list[tuple[Any, ...]]) -> None:
        asyncio.run(_run(db_url, template, sequence))

    run()
