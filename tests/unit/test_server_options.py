"""The uvicorn options ``ordergate serve`` runs with."""

import pytest
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from ordergate.api.http_guard import HttpGuard
from ordergate.api.limits import MAX_HEADER_BYTES, uvicorn_options
from ordergate.settings import Settings


@pytest.mark.parametrize(
    ("level", "logged"),
    [("debug", True), ("info", True), ("warning", False), ("error", False), ("critical", False)],
)
def test_requests_are_access_logged_only_where_the_level_shows_them(level, logged):
    options = uvicorn_options(Settings(log_level=level, secret=None))
    assert options["access_log"] is logged


def test_uvicorns_default_parser_is_run_behind_the_http_guard():
    options = uvicorn_options(Settings(secret=None))
    protocol = options["http"]
    assert issubclass(protocol, HttpGuard)
    assert protocol.inner is AutoHTTPProtocol
    assert protocol.max_head_bytes == MAX_HEADER_BYTES
