"""The officers' console in headless Chromium at desk width and on a phone: urgent tickets first, then by
due time; search by words and by ticket number; filters; paging of twenty."""

from __future__ import annotations

import pytest

from bot.core.models import Channel, ResidentRef
from bot.wiring import Container
from tests.web.test_browser import PHONE, base_url, browser, new_page, shot, sign_in

__all__ = ["base_url", "browser"]  # fixtures, imported for their names

DESK = {"width": 1280, "height": 900}
STREETS = ["和平路", "解放路", "人民路", "胜利街", "中山路", "建设路", "文化街", "青年路", "光明路", "新华街"]


async def _tickets(container: Container) -> tuple[list[str], list[str]]:
    """23 ordinary tickets (one a street) and two urgent ones, asked in that order."""
    ordinary, urgent = [], []
    for n in range(23):
        street = STREETS[n % len(STREETS)]
        text = f"{street}{n + 1}号门口的路灯坏了好几天没人修"
        reply = await container.ask.ask(
            "gongyuan", ResidentRef(Channel.WEB, f"street-{n}"), text, Channel.WEB
        )
        assert reply.ticket is not None
        ordinary.append(reply.ticket)
    for n, text in enumerate(("救命 有人在撬我家的门", "我家楼道里着火了 好多烟")):
        reply = await container.ask.ask("gongyuan", ResidentRef(Channel.WEB, f"alarm-{n}"), text, Channel.WEB)
        assert reply.urgent and reply.ticket is not None
        urgent.append(reply.ticket)
    return ordinary, urgent


async def _listed(page) -> list[str]:
    return [t.strip() for t in await page.locator("#waiting li.escalation strong").all_inner_texts()]


@pytest.mark.parametrize("viewport", [DESK, PHONE], ids=["desk", "phone"])
async def test_search_filter_and_page_through_the_queue(
    browser, base_url: str, container: Container, people, viewport: dict[str, int]
) -> None:
    ordinary, urgent = await _tickets(container)
    await people.officer()
    errors: list[str] = []
    page = await new_page(browser, errors, viewport=viewport)
    await sign_in(page, base_url, "li")
    await page.goto(f"{base_url}/console")

    first = await _listed(page)
    assert len(first) == 20 and "共 25 条，第 1/2 页" in await page.inner_text("#found")
    assert set(first[:2]) == set(urgent)  # emergencies first, due in minutes
    assert first[2:] == ordinary[:18]  # then by due time: the same promised day, in order of arrival
    await shot(page, f"8-console-{viewport['width']}")

    await page.click("nav.pages a[rel=next]")
    await page.wait_for_load_state("load")
    assert await _listed(page) == ordinary[18:]
    await page.click("nav.pages a[rel=prev]")
    await page.wait_for_load_state("load")
    assert await _listed(page) == first

    await page.fill("#q", "解放路")  # words of the question
    await page.click("#filters button")
    await page.wait_for_load_state("load")
    found = await _listed(page)
    assert found == [t for n, t in enumerate(ordinary) if n % len(STREETS) == 1] and len(found) == 3

    await page.fill("#q", ordinary[7])  # a ticket number
    await page.click("#filters button")
    await page.wait_for_load_state("load")
    assert await _listed(page) == [ordinary[7]]

    await page.fill("#q", "")
    await page.check("input[name=urgent]")
    await page.click("#filters button")
    await page.wait_for_load_state("load")
    assert set(await _listed(page)) == set(urgent)
    assert await page.locator("#waiting li.escalation.urgent .badge.danger").count() == 2
    if viewport is PHONE:  # nothing wider than the phone's screen
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
    await shot(page, f"9-console-urgent-{viewport['width']}")
    assert errors == []
