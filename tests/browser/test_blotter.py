"""The blotter at ``/`` in a real Chromium, against a real server: what a user watching a
sandbox sees as orders rest, fill and get cancelled, every update pushed by the streams."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from playwright.async_api import Page, expect

from ordergate.auth.webhooks import Webhooks
from ordergate.domain.instruments import Instrument, TradingSession
from ordergate.venue.base import Quote
from tests.browser.conftest import Site, order_row, shoot, signed_in

D = Decimal


async def test_a_token_signs_in_and_shows_only_the_users_accounts(
    page: Page, site: Site, tmp_path: Path
) -> None:
    await page.goto(site.url)
    await page.fill("#signin-token", "og_not-a-token")
    await page.click("#signin-ct button")
    await expect(page.locator("#signin-error")).to_contain_text("refused")

    await page.fill("#signin-token", site.ct.token)
    await page.click("#signin-ct button")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    accounts = page.locator("#accounts tbody tr")
    await expect(accounts).to_have_count(2)
    await expect(accounts.nth(0)).to_contain_text("Sim101")
    await expect(accounts.nth(1)).to_contain_text("Sim102")  # user other's account is not there
    await expect(page.locator("#accounts tbody")).to_contain_text("1,000,000.00")
    await shoot(page, tmp_path, "signed-in.png")

    # The session survives a reload (this tab's storage), and signing out forgets it.
    await page.reload()
    await expect(page.locator("#accounts tbody tr")).to_have_count(2)
    await page.click("#sign-out")
    await expect(page.locator("#signin")).to_be_visible()


async def test_an_order_placed_through_rest_appears_within_a_second(page: Page, site: Site) -> None:
    await signed_in(page, site)
    order_id = await site.place(orderType="Limit", limitPrice=5990)
    row = order_row(page, order_id)
    await expect(row).to_be_visible(timeout=1_000)
    await expect(row).to_contain_text("ES 12-26")
    await expect(row.locator(".order-state")).to_have_text("Working")
    await expect(row.locator("td.buy")).to_have_text("Buy")

    # A click shows its lifecycle.
    await row.click()
    await expect(page.locator("#lifecycle")).to_be_visible()
    await expect(page.locator("#lc-events tbody")).to_contain_text("Working")


async def test_a_fill_moves_the_position_and_the_pnl(
    page: Page, site: Site, tmp_path: Path
) -> None:
    order_id = await site.place(orderType="Limit", limitPrice=5990)
    await signed_in(page, site)
    await expect(order_row(page, order_id)).to_be_visible()

    await site.quote("ES 12-26", "5989.75", "5990.00")  # crosses the buy limit: it fills
    position = page.locator("#positions tbody tr[data-instrument='ES 12-26']")
    await expect(position).to_contain_text("Long")
    await expect(position).to_contain_text("5,990.00")
    await expect(position.locator(".unrealized")).to_have_text("-12.50")  # at the bid
    await expect(order_row(page, order_id)).to_have_count(0)
    await expect(page.locator("#fills tbody")).to_contain_text("5,990.00")

    await site.quote("ES 12-26", "6000.00", "6000.25")
    await expect(position.locator(".unrealized")).to_have_text("500.00")
    await expect(position.locator(".unrealized")).to_have_class(re.compile(r"\bpos\b"))
    sim101 = page.locator("#accounts tbody tr[data-account='Sim101']")
    await expect(sim101.locator("td").nth(3)).to_have_text("500.00")  # the session P&L
    await shoot(page, tmp_path, "blotter-position.png", keep=True)

    await position.get_by_role("button", name="Flatten").click()
    await expect(position).to_have_count(0)


async def test_cancel_all_empties_the_working_orders_and_shows_the_report(
    page: Page, site: Site, tmp_path: Path
) -> None:
    ids = [await site.place(orderType="Limit", limitPrice=5980 + i) for i in range(3)]
    await signed_in(page, site)
    for order_id in ids:
        await expect(order_row(page, order_id)).to_be_visible()

    await page.click("#cancel-all")
    await expect(page.locator("#orders tbody")).to_have_text("No working orders")
    report = page.locator("#report")
    await expect(report).to_contain_text("Cancel all of Sim101")
    await expect(report.locator(".accepted")).to_have_text("3 accepted")
    await expect(report.locator(".refused")).to_have_text("0 not cancelled")
    for order_id in ids:
        await expect(report.locator(".accepted-list")).to_contain_text(order_id)


def _closing_soon(symbol: str, site: Site) -> Instrument:
    """An instrument whose session (every day) is open for the hour around the server's now."""
    now = site.ct.clock.now()
    session = TradingSession(
        frozenset(range(7)), (now - timedelta(hours=1)).time(), (now + timedelta(hours=1)).time()
    )
    return Instrument(
        symbol=symbol,
        tick_size=D("0.01"),
        point_value=D("1000"),
        digits=2,
        lot_min=D("1"),
        lot_max=D("100"),
        lot_step=D("1"),
        sessions=(session,),
    )


async def test_a_closed_market_refusal_shows_in_the_bulk_cancel_report(
    page: Page, site: Site, tmp_path: Path
) -> None:
    crude = _closing_soon("CL 03-27", site)
    async with site.ct.container.store.transaction() as tx:
        await tx.accounts.add_instrument(crude)
        await tx.commit()
    market = site.ct.container.market
    market.add_instruments([crude])
    market.push(Quote("CL 03-27", D("70.00"), D("70.01"), site.ct.clock.now()))
    closed = await site.place(instrument="CL 03-27", orderType="Limit", limitPrice=69)
    open_ = await site.place(orderType="Limit", limitPrice=5990)
    await site.ct.advance(2 * 3600)  # past the close of CL 03-27's session

    await signed_in(page, site)
    await page.click("#cancel-all")
    report = page.locator("#report")
    await expect(report.locator(".accepted")).to_have_text("1 accepted")
    await expect(report.locator(".refused")).to_have_text("1 not cancelled")
    refused = report.locator(".refused-list li")
    await expect(refused).to_contain_text(closed)
    await expect(refused).to_contain_text("MARKET_CLOSED")
    await expect(order_row(page, open_)).to_have_count(0)
    await expect(order_row(page, closed)).to_be_visible()  # still working: the refusal is shown
    await shoot(page, tmp_path, "blotter-cancel-report.png", keep=True)


async def test_the_kill_switch_locks_the_ticket(page: Page, site: Site) -> None:
    await signed_in(page, site)
    await page.select_option("#t-account", "Sim101")
    await expect(page.locator("#t-submit")).to_be_enabled()

    answer = await site.api("PUT", "/killswitch", {"enabled": True, "account": "Sim101"})
    assert answer.status_code == 200, answer.text
    await expect(page.locator("#t-submit")).to_be_disabled()
    await expect(page.locator("#t-lock")).to_contain_text("kill switch")
    # Another account's ticket is not locked.
    await page.select_option("#t-account", "Sim102")
    await expect(page.locator("#t-submit")).to_be_enabled()


async def test_a_webhook_alert_shows_in_alert_history(page: Page, site: Site) -> None:
    await signed_in(page, site)
    webhook = await Webhooks(site.ct.container.users).webhook_id("demo")
    payload = (
        f"key={site.ct.token}; command=PLACE; account=Sim101; instrument=ES 12-26; "
        "action=BUY; qty=1; order_type=LIMIT; limit_price=5970; tif=GTC;"
    )
    answer = await site.http.post(
        f"/v1/send/{webhook}", content=payload, headers={"Content-Type": "text/plain"}
    )
    assert answer.status_code == 200, answer.text
    alert = page.locator(f"#alerts tbody tr[data-alert-id='{answer.json()['alertId']}']")
    await expect(alert).to_contain_text("PLACE")
    await expect(alert).to_contain_text("Success")
    await expect(alert).to_contain_text("Sim101")
    (order_id,) = answer.json()["orderIds"]
    await expect(order_row(page, order_id)).to_be_visible()


async def test_the_ticket_places_an_order_that_the_stream_shows(page: Page, site: Site) -> None:
    await signed_in(page, site)
    await page.fill("#t-instrument", "ES 12-26")
    await page.check("#ticket input[value='Sell']")
    await page.select_option("#t-type", "Limit")
    await page.fill("#t-limit", "6100")
    await page.click("#t-submit")
    await expect(page.locator("#t-result")).to_contain_text("Placed Sell 1 ES 12-26")
    row = page.locator("#orders tbody tr", has_text="6,100.00")
    await expect(row.locator("td.sell")).to_have_text("Sell")

    await page.fill("#t-limit", "0.001")  # off the tick grid: refused, with the reason
    await page.click("#t-submit")
    await expect(page.locator("#t-result")).to_contain_text("Refused")
