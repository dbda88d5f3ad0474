"""The dashboard's charts and what is behind them: the vendored ECharts and the script that draws from
the stats API, the data tables, and /admin/questions, the consultations behind a day, a topic, a
community or an outcome (local days, paged, masked, escaped, admins only)."""

from __future__ import annotations

import html
import re
import tomllib
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient

from bot.channels.web import charting
from bot.channels.web.filters import StatsFilter
from bot.core.models import Channel, NewConsultation, Outcome, ResidentRef
from bot.wiring import Container
from tests.conftest import ROOT
from tests.privacy_checks import survivors
from tests.web.conftest import login
from tests.web.test_console import escalate

RESIDENT = ResidentRef(Channel.WEB, "questions-page-resident-01")
WEB = ROOT / "bot" / "channels" / "web"
ECHARTS = WEB / "static" / "vendor" / "echarts"
MARCH = "since=2024-03-01&until=2024-03-07"
# (local time, community, question, outcome, entry, guide view): a week of March 2024.
WEEK = (
    ("2024-03-02 09:10", "gongyuan", "身份证丢了怎么补办", Outcome.ANSWER, "idcard.lost", False),
    ("2024-03-02 20:30", "gongyuan", "身份证掉了去哪里补", Outcome.ANSWER, "idcard.lost", False),
    ("2024-03-04 08:00", "gongyuan", "居民身份证丢失补领", Outcome.ANSWER, "idcard.lost", True),
    ("2024-03-04 10:00", "hexi", "身份证过期了怎么换", Outcome.ANSWER, "idcard.renew", False),
    ("2024-03-04 11:00", "hexi", "身份证的事", Outcome.CLARIFY, "idcard.renew", False),
    ("2024-03-05 16:45", "hexi", "小区门口的路灯坏了", Outcome.ESCALATE, None, False),
)


async def record(
    container: Container, rows: Sequence[tuple[str | datetime, str, str, Outcome, str | None, bool]]
) -> None:
    """Consultations at chosen local times (the ask service records the present moment): straight into
    storage through the unit of work, the statistics' daily rows included."""
    tz = ZoneInfo(container.settings.timezone)
    async with container.uow_factory() as uow:
        for at, community, text, outcome, entry, view in rows:
            moment = at if isinstance(at, datetime) else datetime.fromisoformat(at).replace(tzinfo=tz)
            await uow.consultations.add(
                NewConsultation(
                    community, RESIDENT, Channel.WEB, text, outcome, entry, 90.0, False, moment, via_menu=view
                )
            )
        await uow.commit()


async def as_admin(client: TestClient, people) -> TestClient:
    await people.admin()
    await login(client, "admin")
    return client


def listed(page: str) -> list[str]:
    """The question cells of the list, unescaped."""
    cells = re.findall(r'<td class="question" data-label="问题">(.*?)</td>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


def found(page: str) -> int:
    match = re.search(r'id="found">共 (\d+) 条', page)
    assert match, "no count on the page"
    return int(match.group(1))


# ---- the questions page ------------------------------------------------------------------------


async def test_a_day_is_a_local_day(client: TestClient, container: Container, people) -> None:
    # Asia/Shanghai: 15:59:59 UTC is 23:59:59 on the 1st, 16:00 UTC already midnight of the 2nd.
    await record(
        container,
        [
            (
                datetime(2024, 3, 1, 15, 59, 59, tzinfo=UTC),
                "gongyuan",
                "三月一日深夜的问题",
                Outcome.ANSWER,
                None,
                False,
            ),
            (
                datetime(2024, 3, 1, 16, 0, tzinfo=UTC),
                "gongyuan",
                "三月二日零点的问题",
                Outcome.ANSWER,
                None,
                False,
            ),
        ],
    )
    await as_admin(client, people)
    first = await (await client.get(f"/admin/questions?{MARCH}&day=2024-03-01")).text()
    assert listed(first) == ["三月一日深夜的问题"] and "2024-03-01 23:59" in first
    second = await (await client.get(f"/admin/questions?{MARCH}&day=2024-03-02")).text()
    assert listed(second) == ["三月二日零点的问题"] and "2024-03-02 00:00" in second
    # The chart's bars count the same days.
    stats = await (
        await client.get("/api/v1/stats", params={"from": "2024-03-01", "to": "2024-03-07"})
    ).json()
    assert stats["by_day"] == [{"day": "2024-03-01", "questions": 1}, {"day": "2024-03-02", "questions": 1}]


async def test_each_filter_lists_what_it_says(client: TestClient, container: Container, people) -> None:
    await record(container, WEEK)
    await as_admin(client, people)

    lost = await (await client.get(f"/admin/questions?{MARCH}&entry=idcard.lost")).text()
    assert sorted(listed(lost)) == ["身份证丢了怎么补办", "身份证掉了去哪里补"]  # questions: the view apart
    assert "话题</dt><dd>居民身份证丢失补领" in lost
    with_views = await (await client.get(f"/admin/questions?{MARCH}&entry=idcard.lost&views=1")).text()
    assert found(with_views) == 3 and '<td data-label="结果">浏览指南</td>' in with_views

    hexi = await (await client.get(f"/admin/questions?{MARCH}&community=hexi&views=1")).text()
    assert sorted(listed(hexi)) == ["小区门口的路灯坏了", "身份证的事", "身份证过期了怎么换"]
    assert hexi.count('<td data-label="社区">河西社区</td>') == 3

    clarified = await (await client.get(f"/admin/questions?{MARCH}&outcome=clarify")).text()
    assert listed(clarified) == ["身份证的事"] and '<td data-label="结果">追问澄清</td>' in clarified

    # Newest first, and the period's edges hold: nothing of March outside 03-04 .. 03-04.
    day = await (await client.get(f"/admin/questions?{MARCH}&day=2024-03-04&views=1")).text()
    assert listed(day) == ["身份证的事", "身份证过期了怎么换", "居民身份证丢失补领"]
    assert listed(await (await client.get("/admin/questions?since=2024-03-06&until=2024-03-31")).text()) == []


async def test_an_escalated_question_links_its_ticket(
    client: TestClient, container: Container, people
) -> None:
    escalation_id = await escalate(container)
    await as_admin(client, people)
    page = await (await client.get("/admin/questions?outcome=escalate")).text()
    assert listed(page) == ["我家楼下的路灯坏了好几天了没人修"]
    assert f'<a href="/console/e/{escalation_id}">WJ{escalation_id:06d}</a>' in page
    assert (await client.get(f"/console/e/{escalation_id}")).status == 200  # the link opens for an admin


async def test_fifty_a_page(client: TestClient, container: Container, people) -> None:
    start = datetime(2024, 3, 3, 8, 0)
    rows = [
        (
            (start + timedelta(minutes=n)).isoformat(),
            "gongyuan",
            f"第{n:03d}个问题",
            Outcome.ANSWER,
            None,
            False,
        )
        for n in range(120)
    ]
    await record(container, rows)
    await as_admin(client, people)
    first = await (await client.get(f"/admin/questions?{MARCH}&day=2024-03-03")).text()
    assert found(first) == 120 and "第 1/3 页" in first
    assert listed(first) == [f"第{n:03d}个问题" for n in range(119, 69, -1)]  # newest first
    assert (
        'href="/admin/questions?since=2024-03-01&amp;until=2024-03-07&amp;day=2024-03-03&amp;page=2"' in first
    )
    last = await (await client.get(f"/admin/questions?{MARCH}&day=2024-03-03&page=3")).text()
    assert listed(last) == [f"第{n:03d}个问题" for n in range(19, -1, -1)] and 'rel="next"' not in last
    assert 'rel="prev"' in last
    beyond = await client.get(f"/admin/questions?{MARCH}&day=2024-03-03&page=99")
    assert beyond.status == 200 and listed(await beyond.text()) == []
    assert 'day=2024-03-03&amp;page=3" rel="prev"' in await beyond.text()
    garbage = await (await client.get(f"/admin/questions?{MARCH}&day=2024-03-03&page=x")).text()
    assert listed(garbage) == listed(first)


async def test_only_admins_see_the_questions(client: TestClient, container: Container, people) -> None:
    await record(container, WEEK)
    anonymous = await client.get(f"/admin/questions?{MARCH}", allow_redirects=False)
    assert anonymous.status == 303 and anonymous.headers["Location"].startswith(
        "/login?next=/admin/questions"
    )
    await people.officer()
    await login(client, "li")
    officer = await client.get(f"/admin/questions?{MARCH}")
    assert officer.status == 403 and "身份证" not in await officer.text()
    await as_admin(client, people)
    assert found(await (await client.get(f"/admin/questions?{MARCH}")).text()) == 5


async def test_hostile_text_is_escaped_and_numbers_masked(
    client: TestClient, container: Container, people
) -> None:
    # Written straight into the table, as a bulk load or an old backup would: not masked on the way in.
    hostile = (
        '<script>alert("x")</script><img src=x onerror=alert(1)> 身份证 110101199003071234 电话 13812345678'
    )
    await record(container, [("2024-03-02 10:00", "gongyuan", hostile, Outcome.ESCALATE, None, False)])
    await as_admin(client, people)
    page = await (await client.get(f"/admin/questions?{MARCH}&entry=%3Cb%3Ebold%3C/b%3E")).text()
    assert found(page) == 0 and "话题</dt><dd>&lt;b&gt;bold&lt;/b&gt;</dd>" in page  # a parameter, escaped
    page = await (await client.get(f"/admin/questions?{MARCH}")).text()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    (text,) = listed(page)
    assert survivors(hostile, text) == [] and "110101199003071234" not in page and "13812345678" not in page


async def test_unreadable_parameters_are_ignored(client: TestClient, container: Container, people) -> None:
    await record(container, WEEK)
    await as_admin(client, people)
    everything = found(await (await client.get(f"/admin/questions?{MARCH}")).text())
    for junk in (
        "day=2024-13-01",
        "day=0001-01-01",
        "outcome=maybe",
        "community=nowhere",
        "views=yes",
        "entry=",
    ):
        response = await client.get(f"/admin/questions?{MARCH}&{junk}")
        assert response.status == 200 and found(await response.text()) == everything, junk


# ---- the dashboard's charts ------------------------------------------------------------------------


async def test_the_dashboard_loads_the_vendored_echarts(
    client: TestClient, container: Container, people
) -> None:
    await as_admin(client, people)
    page = await (await client.get("/admin")).text()
    version = re.search(r'<script src="/static/vendor/echarts/echarts\.min\.js\?v=([\d.]+)" defer>', page)
    assert version and re.search(r'<script src="/static/dashboard\.js\?v=\w+" defer>', page)
    assert all(src.startswith("/static/") for src in re.findall(r'<script src="([^"]+)"', page))  # no CDN
    served = await client.get("/static/vendor/echarts/echarts.min.js")
    assert served.status == 200 and served.content_type in {"text/javascript", "application/javascript"}
    body = await served.read()
    assert body == (ECHARTS / "echarts.min.js").read_bytes()
    # The address's version is the file's: a new ECharts must come with a new address.
    assert f't.version="{version.group(1)}"'.encode() in body
    assert version.group(1) in (ECHARTS / "README").read_text(encoding="utf-8")
    for name in ("LICENSE", "NOTICE"):
        assert (await client.get(f"/static/vendor/echarts/{name}")).status == 200
    script = await client.get("/static/dashboard.js")
    assert script.status == 200 and "/api/v1/stats?" in await script.text()


def test_every_static_file_is_package_data() -> None:
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]["bot.channels.web"]
    shipped = {path for pattern in package_data for path in WEB.glob(pattern) if path.is_file()}
    static = {path for path in (WEB / "static").rglob("*") if path.is_file()}
    assert ECHARTS / "echarts.min.js" in static and static <= shipped


async def test_each_chart_points_to_its_table(client: TestClient, container: Container, people) -> None:
    await record(container, WEEK)
    await as_admin(client, people)
    page = await (await client.get(f"/admin?{MARCH}")).text()
    assert 'data-since="2024-03-01" data-until="2024-03-07" data-community=""' in page
    for kind, caption in (
        ("outcomes", "解答 / 澄清 / 转民警"),
        ("escalations", "转办工单"),
        ("satisfaction", "评价"),
    ):
        assert re.search(rf'<table id="table-{kind}">\s*<caption>{re.escape(caption)}', page), kind
        assert f"数据见上方“{caption}”表" in page
    outcomes = re.search(r'<table id="table-outcomes">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r"<th>(.*?)</th><td>(\d+)</td>", outcomes) == [
        ("机器人解答", "3"),
        ("追问澄清", "1"),
        ("转民警", "1"),
    ]


async def test_the_dashboard_lists_every_day_topic_and_community(
    client: TestClient, container: Container, people
) -> None:
    await record(container, WEEK)
    await as_admin(client, people)
    page = await (await client.get(f"/admin?{MARCH}")).text()
    rows = {
        kind: re.findall(
            r'<tr data-key="([^"]+)"><th scope="row"><a href="[^"]+">([^<]+)</a></th><td>(\d+)</td>', table
        )
        for kind, table in re.findall(r'<table data-chart="(\w+)">(.*?)</table>', page, re.S)
    }
    assert rows["days"] == [
        ("2024-03-02", "2024-03-02", "2"),
        ("2024-03-04", "2024-03-04", "2"),
        ("2024-03-05", "2024-03-05", "1"),
    ]
    assert rows["topics"] == [
        ("idcard.lost", "居民身份证丢失补领", "3"),
        ("idcard.renew", "居民身份证有效期满换领", "2"),
    ]
    assert sorted(rows["communities"]) == [("gongyuan", "公园社区", "3"), ("hexi", "河西社区", "3")]


async def test_every_table_row_links_to_the_questions_it_counts(
    client: TestClient, container: Container, people
) -> None:
    await record(container, WEEK)
    await as_admin(client, people)
    tz = container.settings.timezone
    selected = StatsFilter(date(2024, 3, 1), date(2024, 3, 7), None)
    report = await container.reports.report(selected.query(tz))
    tables = charting.chart_tables(report, container.kb, selected)
    assert [(r.key, r.count) for r in tables["days"]] == [
        ("2024-03-02", 2),
        ("2024-03-04", 2),
        ("2024-03-05", 1),
    ]
    assert [(r.label, r.count) for r in tables["topics"]] == [
        ("居民身份证丢失补领", 3),
        ("居民身份证有效期满换领", 2),
    ]
    assert {(r.label, r.count) for r in tables["communities"]} == {("公园社区", 3), ("河西社区", 3)}
    for kind, rows in tables.items():
        for row in rows:
            page = await (await client.get(row.href)).text()
            assert found(page) == row.count, (kind, row)
