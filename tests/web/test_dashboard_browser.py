"""The dashboard's interactive charts in headless Chromium (Debian's), on a desktop and a phone screen:
every chart drawn from the stats API, Chinese labels drawn, a hover shows a bar's figure, a click on a
day or a topic opens the questions behind it."""

from __future__ import annotations

import pytest

from bot.wiring import Container
from tests.web.test_browser import (  # noqa: F401
    ARTIFACTS,
    CHROMIUM,
    PHONE,
    base_url,
    browser,
    capture,
    new_page,
    sign_in,
)
from tests.web.test_questions_page import WEEK, record

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")

DESKTOP = {"width": 1280, "height": 800}
PERIOD = "since=2024-03-01&until=2024-03-07"
KINDS = ("days", "outcomes", "topics", "communities", "escalations", "satisfaction")


async def bar_point(page, kind: str, category: int, value: float) -> tuple[float, float]:
    """Where on the screen a bar's middle is, from the chart's own coordinate system."""
    return await page.evaluate(
        """([kind, category, value]) => {
            const el = document.querySelector(`.chart[data-chart="${kind}"]`);
            el.scrollIntoView({block: "center"});
            const chart = echarts.getInstanceByDom(el);
            const horizontal = chart.getOption().yAxis[0].type === "category";
            const point = horizontal ? [value, category] : [category, value];
            const [x, y] = chart.convertToPixel({seriesIndex: 0}, point);
            const box = el.getBoundingClientRect();
            return [box.left + x, box.top + y];
        }""",
        [kind, category, value],
    )


async def listed(page) -> list[str]:
    await page.locator("#found").wait_for()
    return [t.strip() for t in await page.locator("table.questions td.question").all_inner_texts()]


async def check_charts(page, width: int) -> None:
    await page.locator('#charts[data-drawn="true"]').wait_for(timeout=10_000)
    for kind in KINDS:
        svg = page.locator(f'.chart[data-chart="{kind}"] svg')
        assert await svg.count() == 1, kind
        box = await svg.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100, (kind, box)
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (kind, box)  # nothing off the screen
    # Chinese labels drawn (the SVG renderer draws them as text in the page), at 12 px or more.
    outcome_labels = await page.locator('.chart[data-chart="outcomes"] svg text').all_text_contents()
    assert {"机器人解答", "追问澄清", "转民警"} <= set(outcome_labels)
    community_labels = " ".join(
        await page.locator('.chart[data-chart="communities"] svg text').all_text_contents()
    )
    assert "公园社区" in community_labels and "河西社区" in community_labels
    sizes = await page.eval_on_selector_all(
        ".chart svg text", "texts => texts.map(t => parseFloat(getComputedStyle(t).fontSize))"
    )
    assert sizes and min(sizes) >= 12
    assert await page.evaluate("document.documentElement.scrollWidth") <= width


async def test_charts_hover_and_click_through(
    browser,  # noqa: F811
    base_url: str,  # noqa: F811
    container: Container,
    people,
) -> None:
    await record(container, WEEK)
    await people.admin()
    ARTIFACTS.mkdir(exist_ok=True)
    errors: list[str] = []
    for name, viewport in (("1280", DESKTOP), ("390", PHONE)):
        phone = viewport is PHONE
        page = await new_page(browser, errors, viewport=viewport, is_mobile=phone, has_touch=phone)
        await sign_in(page, base_url, "admin")
        await page.goto(f"{base_url}/admin?{PERIOD}")
        await check_charts(page, viewport["width"])
        await capture(page, ARTIFACTS / f"dashboard-{name}.png", full_page=True)

        # Hover: the topic bar of idcard.lost (two questions and a guide view) shows its figure.
        x, y = await bar_point(page, "topics", 0, 1.5)
        await page.mouse.move(x, y)
        tooltip = page.locator('.chart[data-chart="topics"] div', has_text="3 次咨询").last
        await tooltip.wait_for(state="visible", timeout=5000)
        await capture(page, ARTIFACTS / f"dashboard-{name}-tooltip.png")
        if not phone:  # a window made narrow: the charts shrink with it (drawn wider, they would not fit)
            await page.set_viewport_size(PHONE)
            await page.wait_for_function(
                "width => [...document.querySelectorAll('.chart svg')]"
                ".every(svg => svg.getBoundingClientRect().right <= width)",
                arg=PHONE["width"],
                timeout=5000,
            )
            await page.set_viewport_size(DESKTOP)

        # A click on 03-02 (the second day of the period) lists that day's two questions.
        x, y = await bar_point(page, "days", 1, 1)
        await page.mouse.click(x, y)
        await page.wait_for_url("**/admin/questions?**day=2024-03-02**", timeout=10_000)
        assert sorted(await listed(page)) == ["身份证丢了怎么补办", "身份证掉了去哪里补"]
        assert "共 2 条" in await page.text_content("#found")
        await capture(page, ARTIFACTS / f"questions-day-{name}.png", full_page=True)

        # A click on a topic: every consultation of it in the period, the guide view too (as counted).
        await page.go_back()
        await page.locator('#charts[data-drawn="true"]').wait_for()
        x, y = await bar_point(page, "topics", 0, 1)
        await page.mouse.click(x, y)
        await page.wait_for_url("**/admin/questions?**entry=idcard.lost**", timeout=10_000)
        assert sorted(await listed(page)) == [
            "居民身份证丢失补领",
            "身份证丢了怎么补办",
            "身份证掉了去哪里补",
        ]
        assert await page.locator("table.questions td", has_text="浏览指南").count() == 1
        assert await page.locator("table.questions td", has_text="公园社区").count() == 3
        await page.context.close()
    assert errors == []


async def test_without_javascript_or_figures_the_tables_remain(
    browser,  # noqa: F811
    base_url: str,  # noqa: F811
    container: Container,
    people,
) -> None:
    await record(container, WEEK)
    await people.admin()
    errors: list[str] = []
    page = await new_page(browser, errors, viewport=PHONE, java_script_enabled=False)
    await sign_in(page, base_url, "admin")
    await page.goto(f"{base_url}/admin?{PERIOD}")
    assert await page.locator(".chart").count() == 6 and not await page.locator(".chart").first.is_visible()
    assert await page.locator("#table-outcomes").is_visible()
    assert "机器人解答" in await page.locator("#table-outcomes").inner_text()
    await capture(page, ARTIFACTS / "dashboard-390-no-javascript.png", full_page=True)
    assert errors == []

    # The stats API failing: each chart says so, pointing to the tables.
    page = await new_page(browser, [], viewport=DESKTOP)
    await sign_in(page, base_url, "admin")
    await page.route("**/api/v1/stats?**", lambda route: route.fulfill(status=503, body="{}"))
    await page.goto(f"{base_url}/admin?{PERIOD}")
    await page.locator(".chart.chart-failed").first.wait_for()
    assert await page.locator(".chart.chart-failed", has_text="数据见下方和上方的表格").count() == 6
    assert await page.locator(".chart svg").count() == 0
