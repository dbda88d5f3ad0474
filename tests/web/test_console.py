"""Officers: login, their communities' queue only, claim/answer/hand over/close/draft, and the
answer reaching the resident through the outbox."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from bot.channels.web import LiveHub, web_notifiers
from bot.core.models import Channel, ResidentRef
from bot.services.delivery import DeliveryService
from bot.wiring import Container
from tests.web.conftest import PASSWORD, csrf_of, login, post_form
from tests.web.test_resident import rows

RESIDENT = ResidentRef(Channel.WEB, "resident-token-000000000001")


async def escalate(
    container: Container, community: str = "gongyuan", question: str = "我家楼下的路灯坏了好几天了没人修"
) -> int:
    reply = await container.ask.ask(community, RESIDENT, question, Channel.WEB)
    assert reply.ticket is not None
    return int(reply.ticket[2:])


async def act(client: TestClient, escalation_id: int, action: str, **fields: str):
    return await post_form(
        client, f"/console/e/{escalation_id}/{action}", dict(fields), page=f"/console/e/{escalation_id}"
    )


async def test_anonymous_is_sent_to_login(client: TestClient) -> None:
    for path in (
        "/console",
        "/console/e/1",
        "/admin",
        "/admin/drafts",
        "/admin/chart/days.png",
        "/admin/annual",
    ):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 303, path
        assert response.headers["Location"].startswith("/login?next=/"), path
    response = await client.get("/console", headers={"Accept": "application/json"}, allow_redirects=False)
    assert response.status == 401


async def test_anonymous_post_to_console_goes_to_login(client: TestClient, container: Container) -> None:
    escalation_id = await escalate(container)
    response = await post_form(client, f"/console/e/{escalation_id}/claim", {})
    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_login_wrong_password_then_right(client: TestClient, people) -> None:
    await people.officer()
    token = await csrf_of(client, "/login")
    response = await client.post(
        "/login", data={"csrf": token, "username": "li", "password": "wrong password"}
    )
    assert response.status == 401 and "用户名或密码不正确" in await response.text()
    await login(client, "li")
    response = await client.get("/console")
    assert response.status == 200 and "李警官" in await response.text()


async def test_login_goes_back_to_the_page_asked_for_but_never_off_site(client: TestClient, people) -> None:
    await people.officer()
    token = await csrf_of(client, "/login?next=/console/e/1")
    response = await client.post(
        "/login",
        data={"csrf": token, "username": "li", "password": PASSWORD, "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/console"


async def test_login_is_throttled_after_five_failures(client: TestClient, people) -> None:
    await people.officer()
    token = await csrf_of(client, "/login")
    for _ in range(5):
        response = await client.post(
            "/login", data={"csrf": token, "username": "li", "password": "nope nope nope"}
        )
        assert response.status == 401
    response = await client.post("/login", data={"csrf": token, "username": "li", "password": PASSWORD})
    assert response.status == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "分钟后再试" in await response.text()


async def test_officer_sees_only_his_communities(client: TestClient, container: Container, people) -> None:
    await people.officer()
    mine = await escalate(container, "gongyuan", "小区下水道堵了找谁")
    theirs = await escalate(container, "hexi", "河西菜市场门口总有人乱停车")
    await login(client, "li")
    body = await (await client.get("/console")).text()
    assert f"WJ{mine:06d}" in body and "小区下水道堵了找谁" in body
    assert f"WJ{theirs:06d}" not in body and "河西菜市场" not in body
    assert (await client.get(f"/console/e/{theirs}")).status == 403
    for action in ("claim", "answer", "close", "handover", "draft"):
        response = await act(client, theirs, action, answer="x", community="gongyuan")
        assert response.status == 403, action
    assert await rows(container, f"select status from escalations where id = {theirs}") == [("open",)]


async def test_the_ticket_shows_the_guesses_and_what_the_best_one_leaves_out(
    client: TestClient, container: Container, people
) -> None:
    await people.officer()
    # Another city's rules go to the officers, with the bot's guesses attached.
    ticket = await escalate(container, "gongyuan", "三亚的身份证到期了怎么换")
    await login(client, "li")
    body = await (await client.get(f"/console/e/{ticket}")).text()
    assert "居民身份证有效期满换领（" in body and "%）" in body
    assert "不包括的问题" in body and "护照到期了怎么换" in body


async def test_the_ticket_shows_the_conversation_before_it(
    client: TestClient, container: Container, people
) -> None:
    await people.officer()
    await container.ask.ask("gongyuan", RESIDENT, "身份证丢了<b>怎么</b>补办", Channel.WEB, "room")
    reply = await container.ask.ask(
        "gongyuan", RESIDENT, "我家楼下的路灯坏了好几天了没人修", Channel.WEB, "room"
    )
    await login(client, "li")
    body = await (await client.get(f"/console/e/{int(reply.ticket[2:])}")).text()
    assert "此前的对话" in body and "身份证丢了&lt;b&gt;怎么&lt;/b&gt;补办" in body


async def test_officer_on_admin_pages_is_forbidden(client: TestClient, people) -> None:
    await people.officer()
    await login(client, "li")
    for path in (
        "/admin",
        "/admin/drafts",
        "/admin/chart/days.png",
        "/admin/annual",
        "/admin/export/consultations.csv",
    ):
        assert (await client.get(path)).status == 403, path
    response = await post_form(client, "/admin/drafts/1/reject", {}, page="/console")
    assert response.status == 403


async def test_claim_conflict_names_the_owner(
    client: TestClient, other_client: TestClient, container: Container, people
) -> None:
    await people.officer()
    await people.officer(username="zhao", name="赵警官")
    escalation_id = await escalate(container)
    await login(client, "li")
    await login(other_client, "zhao")
    response = await act(client, escalation_id, "claim")
    assert response.status == 303
    page = await (await client.get(response.headers["Location"])).text()
    assert "已认领工单" in page and "民警办理中 · 李警官" in page
    response = await act(other_client, escalation_id, "claim")
    page = await (await other_client.get(response.headers["Location"])).text()
    assert "已由李警官认领（首问负责）" in page
    response = await act(other_client, escalation_id, "answer", answer="我来答")
    page = await (await other_client.get(response.headers["Location"])).text()
    assert "已由李警官认领" in page
    assert await rows(container, "select officer, answer from escalations") == [("李警官", None)]


async def test_answer_reaches_the_resident_through_the_outbox(
    client: TestClient, container: Container, hub: LiveHub, people
) -> None:
    await people.officer()
    escalation_id = await escalate(container)
    await login(client, "li")
    response = await act(client, escalation_id, "answer", answer="已联系物业，明天修好。")
    page = await (await client.get(response.headers["Location"])).text()
    assert "答复正在送达群众" in page and "已联系物业，明天修好。" in page
    assert await rows(container, "select channel, recipient, kind, status from outbox") == [
        ("web", RESIDENT.channel_user_id, "officer_answer", "pending")
    ]
    delivery = DeliveryService(container.uow_factory, container.clock, web_notifiers(hub))
    assert await delivery.run_once() == 1
    assert await rows(container, "select status from outbox") == [("sent",)]


async def test_empty_answer_is_refused_with_a_message(
    client: TestClient, container: Container, people
) -> None:
    await people.officer()
    escalation_id = await escalate(container)
    await login(client, "li")
    response = await act(client, escalation_id, "answer", answer="   ")
    page = await (await client.get(response.headers["Location"])).text()
    assert "答复内容不能为空" in page


async def test_hand_over_moves_it_to_the_other_community(
    client: TestClient, other_client: TestClient, container: Container, people
) -> None:
    await people.officer()
    await people.officer(username="wang", community="hexi", name="王警官")
    escalation_id = await escalate(container)
    await login(client, "li")
    response = await act(client, escalation_id, "handover", community="hexi")
    assert response.headers["Location"] == "/console"  # no longer his to look at
    assert "已转交 河西社区" in await (await client.get("/console")).text()
    assert (await client.get(f"/console/e/{escalation_id}")).status == 403
    await login(other_client, "wang")
    assert f"WJ{escalation_id:06d}" in await (await other_client.get("/console")).text()
    # the resident still finds the ticket where he asked, saying where it is now
    other_client.session.cookie_jar.update_cookies({"pb_resident": RESIDENT.channel_user_id})
    page = await (await other_client.get("/c/gongyuan")).text()
    assert f'data-ticket="WJ{escalation_id:06d}"' in page and "河西社区" in page
    response = await act(client, escalation_id, "handover", community="gongyuan")
    assert response.status == 403  # not his any more: he cannot pull it back


async def test_close_and_save_as_draft(client: TestClient, container: Container, people) -> None:
    await people.officer()
    escalation_id = await escalate(container)
    await login(client, "li")
    response = await act(client, escalation_id, "draft")
    assert "请先答复" in await (await client.get(response.headers["Location"])).text()
    await act(client, escalation_id, "answer", answer="路灯归街道办管，电话 12345。")
    response = await act(client, escalation_id, "draft", city_wide="1")
    assert "知识草稿" in await (await client.get(response.headers["Location"])).text()
    assert await rows(container, "select community, status, answer from drafts") == [
        (None, "pending", "路灯归街道办管，电话 12345。")
    ]
    response = await act(client, escalation_id, "close")
    assert "已办结" in await (await client.get(response.headers["Location"])).text()
    assert await rows(container, "select status from escalations") == [("closed",)]


async def test_closing_without_an_answer_needs_a_reason(
    client: TestClient, container: Container, people
) -> None:
    await people.officer()
    escalation_id = await escalate(container)
    await login(client, "li")
    page = await (await client.get(f"/console/e/{escalation_id}")).text()
    assert 'name="reason"' in page and "已电话答复" in page and "重复提问" in page
    response = await act(client, escalation_id, "close")
    assert "还没有答复" in await (await client.get(response.headers["Location"])).text()
    response = await act(client, escalation_id, "close", reason="referred", note="")
    assert "由哪个部门办理" in await (await client.get(response.headers["Location"])).text()
    assert await rows(container, "select status from escalations") == [("open",)]
    assert (await act(client, escalation_id, "close", reason="nonsense")).status == 400

    response = await act(client, escalation_id, "close", reason="referred", note="街道办事处<b>城管科</b>")
    page = await (await client.get(response.headers["Location"])).text()
    assert "已办结（已告知由其他部门办理）" in page and "<b>城管科" not in page  # escaped
    assert await rows(container, "select status, close_reason from escalations") == [("closed", "referred")]
    # The resident is told, on the page where they asked.
    (answer,) = await rows(container, "select answer from escalations")
    assert "街道办事处<b>城管科</b>负责办理" in answer[0]


async def test_unknown_escalation_is_404(client: TestClient, people) -> None:
    await people.officer()
    await login(client, "li")
    assert (await client.get("/console/e/999")).status == 404


async def test_removed_officer_loses_the_session(client: TestClient, container: Container, people) -> None:
    officer = await people.officer()
    await login(client, "li")
    assert (await client.get("/console")).status == 200
    await container.staff.remove(officer.id)
    response = await client.get("/console", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_logout(client: TestClient, people) -> None:
    await people.officer()
    await login(client, "li")
    response = await post_form(client, "/logout", {}, page="/console")
    assert response.status == 303
    assert (await client.get("/console", allow_redirects=False)).status == 303


async def test_admin_console_sees_every_community(client: TestClient, container: Container, people) -> None:
    await people.admin()
    first = await escalate(container, "gongyuan", "小区下水道堵了找谁")
    second = await escalate(container, "hexi", "河西菜市场门口总有人乱停车")
    await login(client, "admin")
    body = await (await client.get("/console")).text()
    assert f"WJ{first:06d}" in body and f"WJ{second:06d}" in body


async def test_login_page_when_signed_in_goes_home(client: TestClient, people) -> None:
    await people.officer()
    await login(client, "li")
    response = await client.get("/login", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/console"


async def test_the_queue_can_be_searched_filtered_and_paged(
    client: TestClient, container: Container, people
) -> None:
    await people.officer()
    tickets = [await escalate(container, question=f"楼下第{n}盏路灯坏了好几天没人修") for n in range(1, 24)]
    urgent = await escalate(container, question="救命 有人在撬我家的门")
    await login(client, "li")

    async def listed(**params: str) -> tuple[str, list[str]]:
        page = await (await client.get("/console", params=params)).text()
        waiting = page[page.index('id="waiting"') :]
        waiting = waiting[: waiting.index("</ul>")]
        return page, re.findall(r"<strong>(WJ\d+)</strong>", waiting)

    page, first = await listed()
    assert "共 24 条，第 1/2 页" in page and len(first) == 20
    assert first[0] == f"WJ{urgent:06d}"  # the emergency leads
    assert "李警官负责：公园社区" in page  # the community's name, not its slug
    assert 'rel="next"' in page
    page, second = await listed(page="2")
    assert len(second) == 4 and not set(first) & set(second)

    _, found = await listed(q=f"WJ{tickets[4]:06d}")
    assert found == [f"WJ{tickets[4]:06d}"]
    _, found = await listed(q=str(tickets[4]))  # the ticket, and questions with that number in them
    assert found[0] == f"WJ{tickets[4]:06d}" and len(found) == 2
    _, found = await listed(q="第7盏")
    assert found == [f"WJ{tickets[6]:06d}"]
    _, found = await listed(q=RESIDENT.channel_user_id)
    assert len(found) == 20  # the resident's pseudonym finds all of theirs
    _, found = await listed(urgent="1")
    assert found == [f"WJ{urgent:06d}"]
    _, found = await listed(mine="1")
    assert found == []
    await act(client, tickets[2], "claim")
    _, found = await listed(mine="1")
    assert found == [f"WJ{tickets[2]:06d}"]
    page, found = await listed(status="closed")
    assert found == [] and "没有符合条件的工单" in page
    _, found = await listed(status="nonsense", q="100%_")  # unknown filters fall back; % and _ are literal
    assert found == []


async def test_new_tickets_reach_an_open_console_as_events(
    client: TestClient, other_client: TestClient, container: Container, people, monkeypatch
) -> None:
    import asyncio
    import json

    from bot.channels.web import console

    monkeypatch.setattr(console, "LIVE_POLL_SECONDS", 0.1)
    await people.officer()
    before = await escalate(container, question="楼下的路灯坏了")  # already on the page: not an event
    await escalate(container, "hexi", "河西菜市场门口总有人乱停车")  # not his community
    await login(client, "li")
    page = await (await client.get("/console")).text()
    assert 'id="alerts"' in page and "/static/console.js" in page

    response = await client.get("/console/events")
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
    new = await escalate(container, question="救命 有人在撬我家的门")

    async def next_event() -> tuple[str, dict]:
        lines: list[str] = []
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line == "" and any(x.startswith("data:") for x in lines):
                event = next(x[7:] for x in lines if x.startswith("event: "))
                data = json.loads(next(x[6:] for x in lines if x.startswith("data: ")))
                return event, data
            if line:
                lines.append(line)

    name, data = await asyncio.wait_for(next_event(), 5)
    assert name == "ticket" and data["id"] == new and data["id"] != before
    assert data["urgent"] is True and data["ticket"] == f"WJ{new:06d}" and data["community"] == "公园社区"
    response.close()

    anonymous = await other_client.get("/console/events", allow_redirects=False)
    assert anonymous.status in (302, 303, 401)  # another browser, not signed in


async def test_officers_and_admins_actions_are_on_record(
    client: TestClient, other_client: TestClient, container: Container, people
) -> None:
    await people.officer()
    await people.admin()
    escalation_id = await escalate(container)
    await login(client, "li")
    await act(client, escalation_id, "claim")
    await act(client, escalation_id, "answer", answer="已联系街道修路灯。")
    await act(client, escalation_id, "close", reason="answered")
    assert (await client.get("/admin/audit")).status == 403  # officers do not read the record
    await login(other_client, "admin")
    await other_client.get("/admin/export/consultations.csv")
    page = await (await other_client.get("/admin/audit")).text()
    table = page[page.index('id="audit"') :]
    ticket = f"WJ{escalation_id:06d}"
    for who, action in (
        ("李警官", "认领工单"),
        ("李警官", "答复工单"),
        ("李警官", "办结工单"),
        ("管理员", "导出数据"),
    ):
        assert f"<td>{who}</td><td>{action}</td>" in table, action
    assert ticket in table and table.count("<td>登录</td>") == 2
    only = await (await other_client.get("/admin/audit", params={"action": "close"})).text()
    assert (
        "办结工单" in only[only.index('id="audit"') :] and "认领工单" not in only[only.index('id="audit"') :]
    )
