"""Urgent questions on the web: the kind's guidance and numbers first, an optional call-back number
kept on that ticket only, and urgent tickets first and highlighted in the officers' console."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.web.conftest import People, csrf_of, login, post_form
from tests.web.test_resident import ask_json


async def leave_phone(client: TestClient, reply: dict, phone: str):
    token = await csrf_of(client, "/c/gongyuan")
    return await client.post(
        "/c/gongyuan/callback",
        json={"consultation_id": reply["consultation_id"], "ref": reply["ref"], "phone": phone},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )


async def test_the_page_shows_the_kinds_numbers_first_and_offers_a_callback_field(client: TestClient) -> None:
    response = await post_form(client, "/c/gongyuan/ask", {"question": "我想自杀"}, page="/c/gongyuan")
    body = await response.text()
    assert 'data-kind="self_harm"' in body
    assert body.index('href="tel:110"') < body.index("工单号")
    assert 'href="tel:12356"' in body and "陪" in body
    assert 'action="/c/gongyuan/callback"' in body and 'name="phone"' in body
    assert "预计答复时间" not in body


async def test_a_callback_number_is_taken_with_csrf_and_masked_in_the_answer(client: TestClient) -> None:
    reply = await ask_json(client, "有人在撬我家门")
    assert reply["urgent_kind"] == "crime" and reply["call"][0] == "110"
    refused = await client.post(
        "/c/gongyuan/callback",
        json={"consultation_id": reply["consultation_id"], "ref": reply["ref"], "phone": "13812345678"},
        headers={"Accept": "application/json"},
    )
    assert refused.status == 403
    bad = await leave_phone(client, reply, "call me maybe")
    assert bad.status == 400 and (await bad.json())["error"] == "phone"
    ok = await leave_phone(client, reply, "138-1234-5678")
    assert ok.status == 200
    message = (await ok.json())["message"]
    assert "138****5678" in message and "13812345678" not in message


async def test_a_routine_ticket_takes_no_callback_number(client: TestClient) -> None:
    reply = await ask_json(client, "我家楼下的路灯坏了好几天了没人修")
    assert reply["escalation"]["callback"] is False
    assert (await leave_phone(client, reply, "13812345678")).status == 403


async def test_the_console_lists_urgent_first_and_shows_the_number_only_on_the_ticket(
    client: TestClient, other_client: TestClient, people: People
) -> None:
    await ask_json(client, "我家楼下的路灯坏了好几天了没人修")
    urgent = await ask_json(client, "我家孩子不见了，刚才还在楼下")
    await leave_phone(client, urgent, "13812345678")
    await people.officer()
    await login(other_client, "li")
    queue = await (await other_client.get("/console")).text()
    assert queue.index(urgent["ticket"]) < queue.index("WJ000001")
    assert "紧急 · 儿童或老人走失" in queue
    assert "138****5678" in queue and "13812345678" not in queue
    ticket = await (await other_client.get(f"/console/e/{int(urgent['ticket'][2:])}")).text()
    assert 'href="tel:13812345678"' in ticket
