"""The uvicorn options ``ordergate serve`` runs with."""

import pytest

from ordergate.api.limits import uvicorn_options
from ordergate.settings import Settings


@pytest.mark.parametrize(
    ("level", "logged"),
    [("debug", True), ("info", True), ("warning", False), ("error", False), ("critical", False)],
)
def test_requests_are_access_logged_only_where_the_level_shows_them(level, logged):
    options = uvicorn_options(Settings(log_level=level, secret=None))
    assert options["access_log"] is logged
