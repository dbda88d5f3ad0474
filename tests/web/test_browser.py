"""End to end in headless Chromium (Debian's, never a downloaded one): a resident asks and escalates,
an officer answers from a second browser, the delivery loop runs, and the answer appears in the
resident's open page without a reload; the admin dashboard counts it all."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.channels.web import LiveHub, web_notifiers
from bot.services.delivery import DeliveryService
from bot.wiring import Container
from tests.conftest import ROOT
from tests.web.conftest import PASSWORD
from tests.web.test_live import wait_for_streams

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = ROOT / "test-artifacts"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def base_url(aiohttp_server, app: web.Application) -> str:
    server = await aiohttp_server(app)
    return str(server.make_url("")).rstrip("/")


async def new_page(browser, errors: list[str], **options):
    context = await browser.new_context(locale="zh-CN", **options)
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    return page


async def sign_in(page, base_url: str, username: str) -> None:
    await page.goto(f"{base_url}/login")
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click("form.login button")
    await page.wait_for_load_state("load")


async def figure(page, figure_id: str) -> str:
    return (await page.text_content(f"#{figure_id}") or "").strip()


async def capture(page, path: Path, **options: object) -> None:
    """A picture of the page for people to look at, not a check: Chromium now and then refuses a capture
    on a loaded machine ("Unable to capture screenshot"), which must not fail a test whose assertions
    passed. Only that refusal is let through; any other error (a closed page, a bad path) still fails."""
    from playwright.async_api import Error as PlaywrightError

    ARTIFACTS.mkdir(exist_ok=True)
    try:
        await page.screenshot(path=str(path), **options)
    except PlaywrightError as exc:
        if "unable to capture screenshot" not in str(exc).lower():
            raise
        warnings.warn(f"screenshot {path.name} not taken: {exc}", stacklevel=2)


async def shot(page, name: str) -> None:
    await capture(page, ARTIFACTS / f"web-{name}.png", full_page=True)


async def test_ask_escalate_answer_live_and_count(
    browser, base_url: str, container: Container, hub: LiveHub, people
) -> None:
    await people.officer()
    await people.admin()
    errors: list[str] = []

    admin = await new_page(browser, errors)
    await sign_in(admin, base_url, "admin")
    await admin.goto(f"{base_url}/admin")
    asked_before, escalated_before = (
        int(await figure(admin, "fig-asked")),
        int(await figure(admin, "fig-escalated")),
    )

    # The resident, on a phone-sized screen.
    resident = await new_page(browser, errors, viewport=PHONE, is_mobile=True, has_touch=True)
    await resident.goto(f"{base_url}/c/gongyuan")
    await resident.fill("#question", "身份证丢了怎么补办")
    await resident.click("#ask-button")
    card = resident.locator(".answer-card", has_text="居民身份证丢失补领")
    await card.wait_for()
    assert "公园派出所户籍窗口" in await card.inner_text()
    # The page scrolls (no box inside it), and the answer's title is in view after sending.
    log_box = await resident.eval_on_selector(".chat .log", "e => getComputedStyle(e).overflowY")
    assert log_box == "visible"
    await resident.wait_for_timeout(300)
    title = await card.locator("h3").bounding_box()
    assert title is not None and 0 <= title["y"] <= PHONE["height"] - title["height"]
    await resident.fill("#question", "身份证")
    await resident.press("#question", "Enter")
    await resident.locator("a.choice", has_text="居民身份证有效期满换领").wait_for()
    await shot(resident, "1-resident-clarify")
    await resident.click("text=都不是，转民警")
    ticket = (await resident.locator(".ticket-no").last.text_content() or "").strip()
    assert ticket.startswith("WJ")
    ticket_card = resident.locator(f'#tickets li[data-ticket="{ticket}"]')
    await ticket_card.wait_for()
    await wait_for_streams(hub)
    await shot(resident, "2-resident-escalated")

    # The officer, in a browser of his own.
    officer = await new_page(browser, errors)
    await sign_in(officer, base_url, "li")
    await officer.goto(f"{base_url}/console")
    await officer.click(f"text={ticket}")
    await officer.fill("#answer", "补办和换领都请带户口簿到公园派出所户籍窗口，工作日 9:00-17:00。")
    await officer.click("#answer-form button")
    await officer.locator(".flash", has_text="答复正在送达群众").wait_for()
    await shot(officer, "3-officer-answered")

    # The delivery loop's pass: the answer goes out through the WebNotifier.
    delivery = DeliveryService(container.uow_factory, container.clock, web_notifiers(hub))
    assert await delivery.run_once() == 1
    answer = ticket_card.locator(".answer-text", has_text="补办和换领都请带户口簿")
    await answer.wait_for(timeout=5000)  # no reload: it arrived over the event stream
    assert "李警官" in await ticket_card.inner_text()
    await shot(resident, "4-resident-sees-answer")
    await ticket_card.locator("button", has_text="基本满意").click()
    await ticket_card.locator(".thanks").wait_for()

    # The same answer after a reload (it is in the database, not only in the page).
    await resident.reload()
    await resident.locator(f'#tickets li[data-ticket="{ticket}"] .answer-text').wait_for()

    await admin.goto(f"{base_url}/admin")
    assert int(await figure(admin, "fig-asked")) == asked_before + 2
    assert int(await figure(admin, "fig-escalated")) == escalated_before + 1
    assert await figure(admin, "fig-satisfaction") == "100.0%"
    assert await figure(admin, "fig-answer-rate") == "100.0%"
    # The charts are drawn in the page (dashboard.js, ECharts) from the stats API: six of them.
    await admin.locator('#charts[data-drawn="true"]').wait_for()
    assert await admin.locator(".charts .chart svg").count() == 6
    await shot(admin, "5-admin-dashboard")
    assert errors == []


async def test_the_chat_works_without_javascript(browser, base_url: str) -> None:
    errors: list[str] = []
    page = await new_page(browser, errors, java_script_enabled=False, viewport=PHONE)
    await page.goto(f"{base_url}/c/gongyuan")
    await page.fill("#question", "身份证丢了怎么补办")
    await page.click("#ask-button")
    await page.wait_for_load_state("load")
    await page.locator(".answer-card", has_text="居民身份证丢失补领").wait_for()
    await page.get_by_role("button", name="有用", exact=True).click()
    await page.locator(".flash", has_text="谢谢您的评价").wait_for()
    await shot(page, "6-no-javascript")
    assert errors == []


async def test_a_new_ticket_appears_in_an_open_console(
    browser, base_url: str, container: Container, people, monkeypatch
) -> None:
    from bot.channels.web import console
    from bot.core.models import Channel, ResidentRef

    monkeypatch.setattr(console, "LIVE_POLL_SECONDS", 0.2)
    await people.officer()
    errors: list[str] = []
    officer = await new_page(browser, errors, viewport={"width": 1280, "height": 900})
    await sign_in(officer, base_url, "li")
    await officer.goto(f"{base_url}/console")
    await officer.locator("#alerts").click()  # opt in: the choice is remembered in this browser
    assert await officer.locator("#alerts").get_attribute("aria-pressed") == "true"
    await officer.wait_for_timeout(300)  # the event stream is open
    resident = ResidentRef(Channel.WEB, "browser-resident-42")
    reply = await container.ask.ask("gongyuan", resident, "救命 有人在撬我家的门", Channel.WEB)
    fresh = officer.locator("#live li", has_text=reply.ticket or "?")
    await fresh.wait_for(timeout=5000)
    assert "紧急" in await fresh.inner_text()
    await shot(officer, "7-console-new-ticket")
    assert errors == []


async def test_an_escalation_points_to_its_likeliest_guide_one_click_away(
    browser, base_url: str, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.core.models import Candidate, MatchResult, Outcome

    def unsure(text: str, community: str) -> MatchResult:
        candidates = (Candidate("idcard.lost", 64.0, "身份证丢了", "question"),)
        return MatchResult(Outcome.ESCALATE, 64.0, candidates, False, text, "no confident match")

    monkeypatch.setattr(container.ask._matcher, "match", unsure)
    errors: list[str] = []
    page = await new_page(browser, errors, viewport=PHONE)
    await page.goto(f"{base_url}/c/gongyuan")
    await page.fill("#question", "钱包和证件一起没了咋整")
    await page.press("#question", "Enter")
    ticket = page.locator(".ticket-new", has_text="工单号")
    await ticket.wait_for()
    await ticket.locator("p.suggestion a.choice", has_text="居民身份证丢失补领").click()
    await page.locator(".answer-card", has_text="公园派出所户籍窗口").wait_for()
    await shot(page, "7-escalation-with-a-guide")
    assert errors == []
