"""The pytest plugin of ``ordergate.testing`` (loaded through the ``pytest11`` entry point
wherever ordergate is installed): the ``sandbox`` fixture, a real server per test.

    def test_my_bot_buys_the_dip(sandbox):
        bot = MyBot(sandbox.crosstrade)
        sandbox.price_path("ES 03-26", ["6000", "5990", "5980"])
        ...

Options of the server go in a marker: ``@pytest.mark.sandbox(start=datetime(...),
sessions="ignore", settings={"jwt_ttl_minutes": 5})``. Nothing starts in a test that does
not ask for the fixture; the sandbox module is imported only then.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ordergate.testing.sandbox import Sandbox

__all__ = ["pytest_configure", "sandbox"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox(start=None, sessions='enforce', settings=None): options of the server the "
        "`sandbox` fixture starts (ordergate.testing.Sandbox)",
    )


@pytest.fixture
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    """A running ordergate server with the demo data, a test clock and clients: see
    ``ordergate.testing.Sandbox``. Stopped after the test."""
    from ordergate.testing.sandbox import Sandbox

    marker = request.node.get_closest_marker("sandbox")
    options = dict(marker.kwargs) if marker is not None else {}
    with Sandbox(tmp_path_factory.mktemp("sandbox"), **options) as box:
        yield box
