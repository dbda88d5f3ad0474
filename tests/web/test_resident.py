"""Residents: community pages, the chat (with and without JavaScript), escalation, ratings."""

from __future__ import annotations

import json

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.wiring import Container
from tests.web.conftest import CSRF_RE, csrf_of, post_form


async def ask_json(client: TestClient, question: str, community: str = "gongyuan") -> dict:
    token = await csrf_of(client, f"/c/{community}")
    response = await client.post(
        f"/c/{community}/ask",
        json={"question": question},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert response.status == 200, await response.text()
    return await response.json()


async def post_json(client: TestClient, path: str, body: dict, page: str = "/c/gongyuan") -> tuple[int, dict]:
    token = await csrf_of(client, page)
    response = await client.post(
        path, json=body, headers={"X-CSRF-Token": token, "Accept": "application/json"}
    )
    return response.status, await response.json()


async def rows(container: Container, sql: str) -> list[tuple]:
    async with container.engine.connect() as connection:
        return [tuple(r) for r in await connection.execute(text(sql))]


async def test_home_lists_the_communities(client: TestClient) -> None:
    response = await client.get("/")
    body = await response.text()
    assert response.status == 200
    assert 'href="/c/gongyuan"' in body and "公园社区" in body and "河西社区" in body


async def test_community_page_shows_the_room(client: TestClient) -> None:
    response = await client.get("/c/gongyuan")
    body = await response.text()
    assert response.status == 200
    for expected in (
        "公园路1号",
        "工作日9:00-17:00",
        "李警官",
        "警务公开",
        "法律法规",
        "防范指南",
        "为您服务",
    ):
        assert expected in body
    # entries of this community, not the hidden one
    assert "/c/gongyuan/entry/gongyuan.patrol" in body and "/c/gongyuan/entry/idcard.lost" in body
    assert "hukou.birth" not in body
    # tel: links carry the digits only (0772-0000001 is shown as written)
    assert 'href="tel:07720000001">0772-0000001</a>' in body
    assert 'href="tel:07720000000">0772-0000000</a>' in body
    cookie = response.cookies["pb_resident"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax"


async def test_unknown_community_is_a_404_page(client: TestClient) -> None:
    response = await client.get("/c/nowhere")
    assert response.status == 404
    assert "没有找到" in await response.text()


async def test_asking_without_javascript_renders_the_whole_answer_card(client: TestClient) -> None:
    response = await post_form(
        client, "/c/gongyuan/ask", {"question": "身份证丢了怎么补办"}, page="/c/gongyuan"
    )
    body = await response.text()
    assert response.status == 200
    for expected in (
        "居民身份证丢失补领",
        "需要带的材料",
        "居民户口簿",
        "办理地点",
        "公园派出所户籍窗口",
        "收费",
        "每证40元",
    ):
        assert expected in body
    assert "有用" in body and "没用" in body


async def test_asking_with_fetch_returns_structured_json(client: TestClient) -> None:
    reply = await ask_json(client, "身份证丢了怎么补办")
    assert reply["outcome"] == "answer" and reply["entry_id"] == "idcard.lost"
    labels = [f["label"] for f in reply["entry"]["fields"]]
    assert labels == ["需要带的材料（请一次备齐）", "办理地点", "收费"]
    assert reply["ref"] and reply["consultation_id"]
    assert "居民身份证丢失补领" in reply["text"]


async def test_clarify_offers_choices_and_none_of_these_escalates(
    client: TestClient, container: Container
) -> None:
    reply = await ask_json(client, "身份证")
    assert reply["outcome"] == "clarify"
    assert {c["entry_id"] for c in reply["choices"]} >= {"idcard.lost", "idcard.renew"}
    status, escalated = await post_json(
        client, "/c/gongyuan/escalate", {"consultation_id": reply["consultation_id"], "ref": reply["ref"]}
    )
    assert status == 200
    assert escalated["outcome"] == "escalate" and escalated["ticket"].startswith("WJ")
    assert escalated["escalation"]["due"]
    # the ticket is on the page after a reload
    body = await (await client.get("/c/gongyuan")).text()
    assert escalated["ticket"] in body and "身份证" in body


async def test_picking_a_choice_counts_as_a_menu_view(client: TestClient, container: Container) -> None:
    response = await client.get("/c/gongyuan/entry/idcard.renew", headers={"Accept": "application/json"})
    assert response.status == 200
    assert (await response.json())["entry"]["title"] == "居民身份证有效期满换领"
    assert await rows(container, "select entry_id, via_menu from consultations") == [("idcard.renew", 1)]
    page = await client.get("/c/gongyuan/entry/idcard.lost")
    assert page.status == 200 and "居民身份证丢失补领" in await page.text()


async def test_an_entry_hidden_in_the_community_is_not_found(client: TestClient) -> None:
    assert (await client.get("/c/gongyuan/entry/hukou.birth")).status == 404
    assert (await client.get("/c/gongyuan/entry/no.such")).status == 404


async def test_escalation_gives_ticket_and_promised_time(client: TestClient) -> None:
    reply = await ask_json(client, "我家楼下的路灯坏了好几天了没人修", community="hexi")
    assert reply["outcome"] == "escalate"
    assert reply["ticket"] and reply["due_at"]
    assert "王警官" in reply["escalation"]["text"]


async def test_urgent_question_shows_110_first(client: TestClient) -> None:
    response = await post_form(
        client, "/c/gongyuan/ask", {"question": "救命！有人在撬我家门"}, page="/c/gongyuan"
    )
    body = await response.text()
    assert 'href="tel:110"' in body and "立即拨打 110" in body
    assert body.index("立即拨打 110") < body.index("工单号")
    reply = await ask_json(client, "救命！有人在撬我家门")
    assert reply["urgent"] and reply["urgent_kind"] == "crime" and reply["numbers"][0] == "110"
    assert reply["emergency"].startswith("【紧急求助】请立即拨打 110")
    # Officers are alerted; no promise of working days.
    assert "已同时通知" in reply["escalation"]["text"] and not reply["escalation"]["due"]
    assert reply["escalation"]["callback"] is True


async def test_escalating_somebody_elses_consultation_is_refused(
    client: TestClient, other_client: TestClient
) -> None:
    reply = await ask_json(client, "身份证")
    status, _ = await post_json(
        other_client,
        "/c/gongyuan/escalate",
        {"consultation_id": reply["consultation_id"], "ref": reply["ref"]},
    )
    assert status == 403
    status, _ = await post_json(
        client, "/c/gongyuan/escalate", {"consultation_id": reply["consultation_id"] + 1, "ref": reply["ref"]}
    )
    assert status == 403


async def test_helpfulness_is_recorded(client: TestClient, container: Container) -> None:
    reply = await ask_json(client, "身份证丢了怎么补办")
    body = {"consultation_id": str(reply["consultation_id"]), "ref": reply["ref"], "value": "useful"}
    status, data = await post_json(client, "/c/gongyuan/helpful", body)
    assert status == 200 and data["ok"]
    assert await rows(container, "select kind, value from feedback") == [("helpfulness", "useful")]
    status, _ = await post_json(client, "/c/gongyuan/helpful", body | {"value": "meh"})
    assert status == 400


async def test_helpfulness_form_without_javascript_redirects_with_thanks(client: TestClient) -> None:
    reply = await ask_json(client, "身份证丢了怎么补办")
    response = await post_form(
        client,
        "/c/gongyuan/helpful",
        {"consultation_id": str(reply["consultation_id"]), "ref": reply["ref"], "value": "not_useful"},
        page="/c/gongyuan",
    )
    assert response.status == 303 and response.headers["Location"] == "/c/gongyuan"
    assert "谢谢您的评价" in await (await client.get("/c/gongyuan")).text()


async def test_satisfaction_only_for_an_answered_own_ticket(
    client: TestClient, other_client: TestClient, container: Container, people
) -> None:
    reply = await ask_json(client, "我家楼下的路灯坏了好几天了没人修")
    (escalation_id,) = (await rows(container, "select id from escalations"))[0]
    body = {"escalation_id": escalation_id, "value": "satisfied"}
    status, _ = await post_json(client, "/c/gongyuan/satisfaction", body)
    assert status == 403  # not answered yet
    officer = await people.officer()
    await container.officers.answer(officer, escalation_id, "已联系物业，明天修好。")
    status, _ = await post_json(other_client, "/c/gongyuan/satisfaction", body)
    assert status == 403  # not his ticket
    status, data = await post_json(client, "/c/gongyuan/satisfaction", body)
    assert status == 200 and data["ok"]
    assert await rows(container, "select kind, value from feedback") == [("satisfaction", "satisfied")]
    page = await (await client.get("/c/gongyuan")).text()
    assert reply["ticket"] in page and "已联系物业，明天修好。" in page and "满意" in page


async def test_residents_text_is_escaped(client: TestClient) -> None:
    attack = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    response = await post_form(client, "/c/gongyuan/ask", {"question": attack}, page="/c/gongyuan")
    body = await response.text()
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    page = await (await client.get("/c/gongyuan")).text()  # the escalated ticket shows the question
    assert "<script>alert" not in page


async def test_fresh_csrf_endpoint_is_json(client: TestClient) -> None:
    response = await client.get("/session/csrf")
    token = (await response.json())["csrf"]
    page = await (await client.get("/c/gongyuan")).text()
    assert CSRF_RE.search(page).group(1) == token
    assert json.dumps(token)


def test_tel_links_keep_digits_and_a_leading_plus() -> None:
    from bot.channels.web.app import tel_digits

    assert tel_digits("0772-2801234（示例）") == "07722801234"
    assert tel_digits("+86 138 0013 8000") == "+8613800138000"
    assert tel_digits("110") == "110"


async def test_an_escalation_points_to_its_likeliest_guide_without_javascript(
    client: TestClient, container: Container, monkeypatch
) -> None:
    from bot.core.models import Candidate, MatchResult, Outcome

    def unsure(text: str, community: str) -> MatchResult:
        candidates = (Candidate("idcard.lost", 64.0, "身份证丢了", "question"),)
        return MatchResult(Outcome.ESCALATE, 64.0, candidates, False, text, "no confident match")

    monkeypatch.setattr(container.ask._matcher, "match", unsure)
    reply = await ask_json(client, "钱包和证件一起没了咋整")
    assert reply["outcome"] == "escalate" and reply["ticket"]
    assert reply["suggestion"]["entry_id"] == "idcard.lost"
    response = await post_form(
        client, "/c/gongyuan/ask", {"question": "钱包和证件一起没了咋整"}, page="/c/gongyuan"
    )
    body = await response.text()
    assert 'href="/c/gongyuan/entry/idcard.lost"' in body and "等待答复时" in body
