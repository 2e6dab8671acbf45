"""What the server serves itself, with no internet: the API docs on packaged assets, the
ScaleTrade sign-in, and a phone's screen."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.async_api import Page, Route, expect

from tests.browser.conftest import Site, order_row, shoot, signed_in

#: Every URL that is not the test server's own.
ELSEWHERE = re.compile(r"^(?!http://127\.0\.0\.1:)")
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


async def _refuse(route: Route) -> None:
    await route.abort("internetdisconnected")


async def offline(page: Page) -> list[str]:
    """Refuse every request that leaves the server; the URLs asked for."""
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if ELSEWHERE.match(r.url) else None)
    await page.context.route(ELSEWHERE, _refuse)
    return asked


async def test_the_api_docs_render_from_packaged_assets(page: Page, site: Site) -> None:
    asked = await offline(page)
    await page.goto(f"{site.url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("ordergate")
    await expect(page.locator(".opblock-tag-section").first).to_be_visible()

    await page.goto(f"{site.url}/redoc")
    await expect(page.locator("h1", has_text="ordergate")).to_be_visible()
    # ReDoc's "API docs by Redocly" footer asks for its logo, and leaves it out when it
    # cannot load it: the only request of either page that leaves the server.
    assert set(asked) <= {REDOCLY_LOGO}


async def test_the_blotter_needs_nothing_from_the_internet(page: Page, site: Site) -> None:
    asked = await offline(page)
    await signed_in(page, site)
    await expect(page.locator("#chart canvas").first).to_be_visible()
    assert asked == []


async def test_a_scaletrade_login_signs_in_and_cancels(page: Page, site: Site) -> None:
    await site.ct.container.users.set_account_password(1001, "Sim101pass")
    await site.place(orderType="Limit", limitPrice=5990)
    await page.goto(site.url)
    await page.fill("#signin-login", "1001")
    await page.fill("#signin-password", "Sim101pass")
    await page.click("#signin-st button")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#accounts tbody tr")).to_have_count(1)  # its own login only
    await expect(page.locator("#accounts tbody")).to_contain_text("Sim101")
    rows = page.locator("#orders tbody tr[data-order-id]")
    await expect(rows).to_have_count(1)
    await expect(page.locator("#ticket")).to_be_hidden()  # read-only: no placing

    await rows.first.get_by_role("button", name="Cancel").click()
    await expect(page.locator("#orders tbody")).to_have_text("No working orders")


async def test_the_blotter_fits_a_phone(page: Page, site: Site, tmp_path: Path) -> None:
    order_id = await site.place(orderType="Limit", limitPrice=5990)
    await page.set_viewport_size({"width": 390, "height": 844})
    await signed_in(page, site)
    await expect(order_row(page, order_id)).to_be_visible()
    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0  # wide tables scroll inside their panels, not the page
    await expect(page.locator("#t-submit")).to_be_visible()
    await shoot(page, tmp_path, "phone.png")
