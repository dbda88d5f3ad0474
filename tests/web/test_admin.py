"""Admins: dashboard figures and filters, charts, knowledge drafts, exports, the annual paragraph."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from aiohttp.test_utils import TestClient
from openpyxl import load_workbook

from bot.channels.web.filters import StatsFilter, today_in
from bot.core.models import Channel, ResidentRef, Role
from bot.wiring import Container
from tests.privacy_checks import survivors
from tests.web.conftest import login, post_form
from tests.web.test_console import escalate

RESIDENT = ResidentRef(Channel.WEB, "resident-token-000000000002")


async def seed(container: Container) -> None:
    for question in ("身份证丢了怎么补办", "身份证丢了怎么补办", "身份证"):
        await container.ask.ask("gongyuan", RESIDENT, question, Channel.WEB)
    await container.ask.ask("hexi", RESIDENT, "身份证到期了怎么换", Channel.WEB)
    await container.ask.ask("hexi", RESIDENT, '我的电话13812345678，=HYPERLINK("x") 路灯坏了', Channel.WEB)


async def admin_client(client: TestClient, people) -> TestClient:
    await people.admin()
    await login(client, "admin")
    return client


def figure(page: str, figure_id: str) -> str:
    start = page.index(f'id="{figure_id}">') + len(f'id="{figure_id}">')
    return page[start : page.index("<", start)]


async def test_dashboard_shows_the_figures(client: TestClient, container: Container, people) -> None:
    await seed(container)
    await admin_client(client, people)
    page = await (await client.get("/admin")).text()
    assert figure(page, "fig-asked") == "5"
    assert figure(page, "fig-escalated") == "1"
    assert "机器人解答" in page and "追问澄清" in page and "转民警" in page
    # the escalated question is the top gap in the knowledge; its phone number was masked on the way in
    assert "路灯坏了" in page and "13812345678" not in page
    assert "身份证" in page  # the clarified question
    # The charts are drawn in the browser (dashboard.js): one container each, no PNG on the page.
    for kind in ("days", "outcomes", "topics", "communities", "escalations", "satisfaction"):
        assert f'data-chart="{kind}"' in page
    assert "/admin/chart/" not in page


async def test_dashboard_filters_by_community_and_dates(
    client: TestClient, container: Container, people
) -> None:
    await seed(container)
    await admin_client(client, people)
    page = await (await client.get("/admin?community=hexi")).text()
    assert figure(page, "fig-asked") == "2"
    tomorrow = today_in(container.settings.timezone) + timedelta(days=1)
    page = await (await client.get(f"/admin?since={tomorrow}&until={tomorrow + timedelta(days=3)}")).text()
    assert figure(page, "fig-asked") == "0"
    page = await (await client.get("/admin?community=nowhere&since=garbage")).text()
    assert figure(page, "fig-asked") == "5"  # unknown filters are ignored, not an error
    # The calendar's first and last days read as dates, but their midnights overflow: ignored too.
    for query in ("since=0001-01-01", "until=9999-12-31", "since=0001-01-01&until=9999-12-31"):
        response = await client.get(f"/admin?{query}")
        assert response.status == 200 and figure(await response.text(), "fig-asked") == "5"
        chart = await client.get(f"/admin/chart/days.png?{query}")
        assert chart.status == 200
        export = await client.get(f"/admin/export/consultations.csv?{query}")
        assert export.status == 200


async def test_dashboard_shows_response_time_and_satisfaction(
    client: TestClient, container: Container, people
) -> None:
    escalation_id = await escalate(container)
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    await container.officers.answer(officer, escalation_id, "已答复")
    from bot.core.models import Satisfaction

    await container.feedback.rate_officer_answer(escalation_id, Satisfaction.BASICALLY)
    await admin_client(client, people)
    page = await (await client.get("/admin")).text()
    assert figure(page, "fig-answer-rate") == "100.0%"
    assert figure(page, "fig-satisfaction") == "100.0%"
    assert figure(page, "fig-median").endswith("分钟")


async def test_the_telegram_charts_count_outcomes_as_the_pages_do(container: Container) -> None:
    from bot.channels.charts import OUTCOME_LABELS, outcome_rows
    from bot.core.models import StatsQuery

    await seed(container)
    entry = next(iter(container.kb.entries))
    await container.ask.view_entry("gongyuan", RESIDENT, entry, Channel.WEB)  # a guide view, no question
    report = await container.reports.report(StatsQuery())
    rows = dict(outcome_rows(report))
    assert rows[OUTCOME_LABELS["answer"]] == report.questions_by_outcome["answer"]
    assert sum(rows.values()) == report.asked == 5  # the view is not a question


async def test_every_chart_is_a_png(client: TestClient, container: Container, people) -> None:
    await seed(container)
    await admin_client(client, people)
    for kind in ("days", "outcomes", "topics", "communities", "escalations", "satisfaction"):
        response = await client.get(f"/admin/chart/{kind}.png?community=gongyuan")
        assert response.status == 200 and response.content_type == "image/png", kind
        assert response.headers["Cache-Control"] == "no-store"  # the same URL must show new counts
        assert (await response.read()).startswith(b"\x89PNG"), kind
    assert (await client.get("/admin/chart/pie.png")).status == 404


async def make_draft(container: Container) -> int:
    escalation_id = await escalate(container)
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    await container.officers.answer(officer, escalation_id, "路灯归街道办管，请拨打 12345 反映。")
    return (await container.officers.save_draft(officer, escalation_id)).id


async def test_draft_approval_needs_five_questions_and_keeps_the_edits(
    client: TestClient, container: Container, people
) -> None:
    draft_id = await make_draft(container)
    await admin_client(client, people)
    page = await (await client.get("/admin/drafts")).text()
    assert f"草稿 #{draft_id}" in page and "路灯归街道办管" in page
    form = {
        "title": "路灯坏了找谁修",
        "questions": "路灯坏了找谁\n路灯不亮了",
        "answer": "路灯归街道办管，请拨打 12345 反映。",
        "scope": "gongyuan",
        "section": "为您服务",
        "category": "社区警务",
    }
    response = await post_form(client, f"/admin/drafts/{draft_id}/approve", form, page="/admin/drafts")
    assert response.status == 400
    page = await response.text()
    assert "请至少写 5 种不同的问法" in page and "路灯不亮了" in page and "路灯坏了找谁修" in page
    assert 'value="gongyuan" checked>' in page  # the scope chosen stays chosen


async def test_draft_approval_asks_for_the_scope(client: TestClient, container: Container, people) -> None:
    draft_id = await make_draft(container)
    await admin_client(client, people)
    page = await (await client.get("/admin/drafts")).text()
    assert "本社区：只用于公园社区（提问的社区）" in page
    assert " checked" not in page  # nothing preselected: the admin chooses every time
    form = {
        "title": "路灯坏了找谁修",
        "questions": "路灯坏了找谁\n路灯不亮了怎么办\n小区路灯坏了\n楼下路灯不亮\n路灯报修电话",
        "answer": "路灯归街道办管，请拨打 12345 反映。",
        "section": "为您服务",
        "category": "社区警务",
    }
    response = await post_form(client, f"/admin/drafts/{draft_id}/approve", form, page="/admin/drafts")
    assert response.status == 400 and "请选择适用范围" in await response.text()
    response = await post_form(
        client, f"/admin/drafts/{draft_id}/approve", form | {"scope": "city"}, page="/admin/drafts"
    )
    assert response.status == 303
    assert f"approved.d{draft_id}" in container.kb.visible_ids("hexi")  # every community has it
    reply = await container.ask.ask("hexi", RESIDENT, "楼下路灯不亮", Channel.WEB)
    assert reply.entry_id == f"approved.d{draft_id}"  # asked in gongyuan, answered in hexi too


async def test_approved_draft_answers_residents_at_once(
    client: TestClient, container: Container, people
) -> None:
    draft_id = await make_draft(container)
    await admin_client(client, people)
    form = {
        "title": "路灯坏了找谁修",
        "questions": "路灯坏了找谁\n路灯不亮了怎么办\n小区路灯坏了\n楼下路灯不亮\n路灯报修电话",
        "answer": "路灯归街道办管，请拨打 12345 反映。",
        "scope": "gongyuan",
        "section": "为您服务",
        "category": "社区警务",
    }
    response = await post_form(client, f"/admin/drafts/{draft_id}/approve", form, page="/admin/drafts")
    assert response.status == 303
    page = await (await client.get(response.headers["Location"])).text()
    assert f"gongyuan.d{draft_id}" in page and "没有待审核的草稿" in page
    reply = await container.ask.ask("gongyuan", RESIDENT, "楼下路灯不亮", Channel.WEB)
    assert reply.entry_id == f"gongyuan.d{draft_id}"
    response = await post_form(client, f"/admin/drafts/{draft_id}/reject", {}, page="/admin/drafts")
    assert "已被其他管理员处理" in await (await client.get(response.headers["Location"])).text()


async def test_reject_a_draft(client: TestClient, container: Container, people) -> None:
    draft_id = await make_draft(container)
    await admin_client(client, people)
    response = await post_form(client, f"/admin/drafts/{draft_id}/reject", {}, page="/admin/drafts")
    assert "已退回" in await (await client.get(response.headers["Location"])).text()
    assert await container.drafts.list() == []


async def test_draft_text_is_escaped(client: TestClient, container: Container, people) -> None:
    escalation_id = await escalate(container, question="<b onmouseover=alert(1)>路灯</b>")
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    await container.officers.answer(officer, escalation_id, "<script>alert(2)</script>")
    await container.officers.save_draft(officer, escalation_id)
    await admin_client(client, people)
    page = await (await client.get("/admin/drafts")).text()
    assert "<script>alert(2)" not in page and "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "<b onmouseover" not in page


async def test_csv_exports_are_masked_and_defused(client: TestClient, container: Container, people) -> None:
    await seed(container)
    await admin_client(client, people)
    response = await client.get("/admin/export/consultations.csv")
    assert response.status == 200 and "attachment" in response.headers["Content-Disposition"]
    raw = await response.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table[0][0] == "编号" and len(table) == 6
    texts = [row[-1] for row in table[1:]]
    assert not any("13812345678" in t for t in texts)
    response = await client.get("/admin/export/escalations.csv?community=hexi")
    table = list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert table[0][0] == "工单号" and len(table) == 2
    question = table[0].index("问题（已脱敏）")
    assert table[1][0].startswith("WJ") and "路灯坏了" in table[1][question]
    assert "13812345678" not in table[1][question]


async def test_exports_take_the_stats_apis_from_and_to(
    client: TestClient, container: Container, people
) -> None:
    await seed(container)
    await admin_client(client, people)
    today = today_in(container.settings.timezone)

    async def rows(query: str) -> int:
        response = await client.get(f"/admin/export/consultations.csv?{query}")
        assert response.status == 200
        return len(list(csv.reader(io.StringIO((await response.read()).decode("utf-8-sig"))))) - 1

    tomorrow = today + timedelta(days=1)
    assert await rows(f"from={today}&to={today}") == await rows(f"since={today}&until={today}") == 5
    assert await rows(f"from={tomorrow}&to={tomorrow + timedelta(days=2)}") == 0
    stats = await (await client.get(f"/api/v1/stats?from={today}&to={today}")).json()
    assert stats["questions"] == await rows(f"from={today}&to={today}")


async def test_csv_export_masks_numbers_in_an_officers_answer(
    client: TestClient, container: Container, people
) -> None:
    escalation_id = await escalate(container, "hexi", "路灯坏了，我电话１７７.５５５５.４４４４")
    officer = await container.staff.add("李警官", Role.OFFICER, ["hexi"])
    answer = "已派人修。您身份证510107 20010229 0333的材料已收到，回电177.5555.4444；值班电话0772-1234567"
    await container.officers.answer(officer, escalation_id, answer)
    await admin_client(client, people)
    raw = await (await client.get("/admin/export/escalations.csv")).read()
    (row,) = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1:]
    question, exported = row[-2], row[-1]
    assert not survivors("17755554444", question) and not survivors("17755554444", exported)
    assert not survivors("510107200102290333", exported)
    assert "0772-1234567" in exported and "已派人修" in exported


async def test_formula_like_text_is_defused_in_csv(client: TestClient, container: Container, people) -> None:
    await container.ask.ask("gongyuan", RESIDENT, '=HYPERLINK("http://evil")', Channel.WEB)
    await admin_client(client, people)
    raw = await (await client.get("/admin/export/consultations.csv")).read()
    row = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))[1]
    assert row[-1].startswith("'=")


async def test_xlsx_export_opens_and_keeps_formulas_as_text(
    client: TestClient, container: Container, people
) -> None:
    await seed(container)
    await container.ask.ask("gongyuan", RESIDENT, "=1+1", Channel.WEB)
    await admin_client(client, people)
    response = await client.get("/admin/export/consultations.xlsx")
    assert response.status == 200
    workbook = load_workbook(io.BytesIO(await response.read()))
    sheet = workbook.active
    values = list(sheet.values)
    assert values[0][0].startswith("网上警务室咨询记录") and "全部社区" in values[0][0]  # the title row
    assert values[1][0] == "编号" and len(values) == 8
    cell = sheet.cell(row=8, column=10)
    assert cell.value == "=1+1" and cell.data_type == "s"
    # For people: a real date cell in local time, names and words instead of codes, columns sized.
    first = sheet.cell(row=3, column=2)
    assert first.is_date and first.value.tzinfo is None
    assert values[2][2] == "公园社区" and values[2][3] == "网页" and values[2][4] == "机器人解答"
    assert values[2][5] == "居民身份证丢失补领"
    assert sheet.column_dimensions["J"].width == 60 and sheet.freeze_panes == "A3"
    response = await client.get("/admin/export/escalations.xlsx")
    tickets = list(load_workbook(io.BytesIO(await response.read())).active.values)
    assert response.status == 200 and len(tickets) == 4  # "=1+1" has no words: it went to the officers
    assert tickets[1][2] == "状态" and tickets[2][2] == "待认领"


async def test_annual_paragraph(client: TestClient, container: Container, people) -> None:
    await seed(container)
    await admin_client(client, people)
    year = today_in(container.settings.timezone).year
    page = await (await client.get(f"/admin/annual?year={year}")).text()
    assert f"{year}年，全市2个社区网上警务室共为群众答疑解惑5次" in page
    page = await (await client.get(f"/admin/annual?year={year}&community=hexi")).text()
    assert "全市1个社区网上警务室共为群众答疑解惑2次" in page
    assert (await client.get("/admin/annual?year=abc")).status == 200


async def test_every_surface_shows_the_same_figures(client: TestClient, container: Container, people) -> None:
    await seed(container)
    for _ in range(3):  # guide views are recorded too, and must not inflate the questions
        await container.ask.view_entry("gongyuan", RESIDENT, "idcard.lost", Channel.WEB)
    await admin_client(client, people)
    year = today_in(container.settings.timezone).year
    report = await container.reports.report(
        StatsFilter.from_params({}, today=today_in(container.settings.timezone), communities={}).query(
            container.settings.timezone
        )
    )
    outcomes = report.questions_by_outcome
    assert report.asked == 5 == sum(outcomes.values()) == sum(d.count for d in report.snapshot.by_day)
    assert report.snapshot.menu_views == 3

    page = await (await client.get("/admin")).text()
    assert figure(page, "fig-asked") == "5" and figure(page, "fig-menu") == "3"
    assert f"<th>机器人解答</th><td>{outcomes['answer']}</td>" in page
    annual = await (await client.get(f"/admin/annual?year={year}")).text()
    paragraph = re.search(r"智能问答直接解答(\d+)次、引导群众明确问题(\d+)次、转社区民警办理(\d+)次", annual)
    assert paragraph is not None
    assert [int(n) for n in paragraph.groups()] == [
        outcomes["answer"],
        outcomes["clarify"],
        outcomes["escalate"],
    ]
    assert f"<th>机器人解答</th><td>{outcomes['answer']}</td>" in annual
    assert f"<th>群众提问</th><td>{report.asked}</td>" in annual
    today = today_in(container.settings.timezone).isoformat()
    figures = await (await client.get("/api/v1/stats", params={"from": today, "to": today})).json()
    assert (figures["questions"], figures["views"]) == (5, 3)
    assert figures["answered"] + figures["clarified"] + figures["escalated"] == figures["questions"]
    assert figures["answered"] == outcomes["answer"] and figures["escalated"] == outcomes["escalate"]
    assert sum(d["questions"] for d in figures["by_day"]) == 5 and figures["by_day"][0]["day"] == today
    hexi = await (await client.get("/api/v1/stats", params={"community": "hexi"})).json()
    assert hexi["questions"] == 2


async def test_the_stats_api_is_for_admins_only(client: TestClient, container: Container, people) -> None:
    response = await client.get("/api/v1/stats")
    assert response.status == 401 and (await response.json())["error"] == "login"
    await people.officer()
    await login(client, "li")
    assert (await client.get("/api/v1/stats")).status == 403
    await people.admin()
    await login(client, "admin")
    assert (await client.get("/api/v1/stats", params={"from": "2026-13-01"})).status == 400
    assert (await client.get("/api/v1/stats", params={"community": "nowhere"})).status == 404
