"""The blotter in a real headless Chromium: the system's (Debian's ``chromium``), driven by
Playwright, against the seeded test server on a real uvicorn.

Without a Chromium the tests skip with the reason; with ``CI=true`` they fail instead.
Playwright never downloads a browser here: it launches ``ORDERGATE_CHROMIUM`` (default
``/usr/bin/chromium``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordergate.bootstrap import shutdown
from ordergate.store import sqlite_url
from tests.api.crosstrade.conftest import Server, start
from tests.builders import close_venues
from tests.wire import serving

CHROMIUM = os.environ.get("ORDERGATE_CHROMIUM", "/usr/bin/chromium")
IN_CI = os.environ.get("CI", "").lower() == "true"
#: The committed screenshots README shows: written there only when asked
#: (ORDERGATE_SCREENSHOTS=1), so that a test run leaves the source tree as it was.
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
KEEP_SHOTS = os.environ.get("ORDERGATE_SCREENSHOTS") == "1"
#: How long a page condition may take to hold. Events reach the page in milliseconds; the
#: margin is for a busy 2-core machine.
WAIT_MS = 5_000

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
except ImportError:  # pragma: no cover - the dev extras install it
    async_playwright = None  # type: ignore[assignment]


def _missing() -> str | None:
    if async_playwright is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set ORDERGATE_CHROMIUM)"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser's path; skips the test without one (fails in CI)."""
    reason = _missing()
    if reason is not None:
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@dataclass
class Site:
    """The seeded server on a real uvicorn, and HTTP to it from outside the page."""

    ct: Server
    url: str
    http: httpx.AsyncClient

    async def api(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """A CrossTrade REST call as user demo (the page's user)."""
        return await self.http.request(
            method, f"/v1/api{path}", json=body, headers=self.ct.auth(self.ct.token)
        )

    async def place(self, **order: Any) -> str:
        """A Sim101 order placed through REST, not the page: its id."""
        body = {"instrument": "ES 12-26", "action": "Buy", "quantity": 1, "timeInForce": "Gtc"}
        answer = await self.api("POST", "/accounts/Sim101/orders/place", {**body, **order})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["orderId"])

    async def quote(self, symbol: str, bid: str, ask: str) -> None:
        """Push a quote through the admin API, as a feed would."""
        answer = await self.http.post(
            "/admin/quotes",
            json={"symbol": symbol, "bid": bid, "ask": ask},
            headers=self.ct.auth(self.ct.admin_token),
        )
        assert answer.status_code == 200, answer.text


@pytest.fixture
async def site(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[Site]:
    path = tmp_path / "ordergate.db"
    shutil.copyfile(sqlite_template, path)
    ct = await start(sqlite_url(str(path)))
    try:
        async with serving(ct, log_level="warning") as port:
            url = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient(base_url=url) as http:
                yield Site(ct, url, http)
    finally:
        await ct.client.aclose()
        await shutdown(ct.container)
        await close_venues()


@pytest.fixture
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, headless=True)
        yield launched
        await launched.close()


@pytest.fixture
async def page(browser: Browser, site: Site, tmp_path: Path) -> AsyncIterator[Page]:
    """A 1280x800 page, in a time zone other than the server's, not signed in yet."""
    context = await browser.new_context(
        viewport={"width": 1280, "height": 800}, timezone_id="America/New_York", locale="en-US"
    )
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    opened = await context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    yield opened
    await opened.screenshot(path=tmp_path / "last.png")  # the screen at the end, for a failure
    await context.close()
    assert errors == [], f"the page raised: {errors}"


async def signed_in(page: Page, site: Site) -> Page:
    """The blotter, opened with the ``#token=`` fragment and loaded."""
    await page.goto(f"{site.url}/#token={site.ct.token}")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#accounts tbody tr[data-account='Sim101']")).to_be_visible()
    return page


async def shoot(page: Page, tmp_path: Path, name: str, *, keep: bool = False) -> Path:
    """A screenshot in the test's directory; ``keep`` also writes docs/screenshots/<name>
    when ORDERGATE_SCREENSHOTS=1."""
    path = tmp_path / name
    await page.screenshot(path=path, full_page=True)
    if keep and KEEP_SHOTS:
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, SHOTS / name)
    return path


def order_row(page: Page, order_id: str) -> Any:
    return page.locator(f"#orders tbody tr[data-order-id='{order_id}']")


__all__ = ["WAIT_MS", "Site", "order_row", "shoot", "signed_in"]
