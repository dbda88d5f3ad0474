"""The JSON API, its OpenAPI description, the health check and the metrics."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from bot.channels.web import LiveHub, create_app, web_notifiers
from bot.core.models import Channel, ResidentRef, Role, StatsQuery
from bot.core.reply_json import reply_json
from bot.services.delivery import DeliveryService
from bot.storage import exports as web_queries
from bot.wiring import Container
from tests.web.test_resident import ask_json


async def api_ask(client: TestClient, **body: object) -> tuple[int, dict]:
    response = await client.post("/api/v1/ask", json=body)
    return response.status, await response.json()


async def test_ask_returns_the_cli_json_and_a_resident(client: TestClient, container: Container) -> None:
    status, data = await api_ask(client, community="gongyuan", question="身份证丢了怎么补办")
    assert status == 200
    reply = await container.ask.ask(
        "gongyuan", ResidentRef(Channel.API, data["resident"]), "身份证丢了怎么补办", Channel.API
    )
    expected = reply_json(reply, container.settings.timezone)
    for key, value in expected.items():
        if key != "consultation_id":
            assert data[key] == value, key
    assert {"outcome", "entry_id", "candidates", "score", "urgent", "text", "ticket"} <= data.keys()
    assert data["outcome"] == "answer" and data["entry"]["title"] == "居民身份证丢失补领"


async def test_ask_keeps_the_callers_resident(client: TestClient) -> None:
    status, data = await api_ask(client, community="hexi", question="身份证", resident="site-user-12345")
    assert status == 200 and data["resident"] == "site-user-12345" and data["outcome"] == "clarify"
    assert data["candidates"] and data["choices"][0]["title"]


async def test_ask_errors(client: TestClient) -> None:
    status, data = await api_ask(client, community="nowhere", question="hi")
    assert status == 404 and data["error"] == "unknown_community" and "gongyuan" in data["known"]
    status, data = await api_ask(client, community="gongyuan")
    assert status == 400 and data["error"] == "bad_request"
    status, data = await api_ask(client, community="gongyuan", question="x", resident="<bad>")
    assert status == 400
    response = await client.post(
        "/api/v1/ask", data=b"not json", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400 and (await response.json())["error"] == "bad_request"


async def test_a_conversation_reads_follow_ups_and_several_questions(client: TestClient) -> None:
    me = {"community": "gongyuan", "resident": "site-user-conv-1", "conversation": "window-1"}
    status, first = await api_ask(client, **me, question="身份证丢了怎么补办")
    assert status == 200 and first["entry_id"] == "idcard.lost" and first["from_context"] is False
    status, fee = await api_ask(client, **me, question="要多少钱")
    assert (fee["outcome"], fee["entry_id"], fee["field"], fee["from_context"]) == (
        "answer",
        "idcard.lost",
        "fees",
        True,
    )
    assert fee["field_answer"]["text"] == "每证40元" and fee["entry"]["title"] == "居民身份证丢失补领"
    # Without the conversation id the same words stand alone.
    status, alone = await api_ask(
        client, community="gongyuan", resident="site-user-conv-1", question="要多少钱"
    )
    assert alone["outcome"] != "answer"
    status, both = await api_ask(client, **me, question="身份证丢了怎么补办？另外身份证到期了怎么换")
    assert [p["entry_id"] for p in both["parts"]] == ["idcard.lost", "idcard.renew"]
    assert both["entry_id"] == "idcard.lost" and all(p["ref"] for p in both["parts"])
    assert len({p["consultation_id"] for p in both["parts"]}) == 2
    for bad in ("", "x" * 65, "<script>", 7):
        status, data = await api_ask(client, **{**me, "conversation": bad}, question="护照")
        assert status == 400 and data["error"] == "bad_request", bad


async def test_api_needs_no_csrf_and_answers_browsers_of_configured_origins_only(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    ask = {"json": {"community": "gongyuan", "question": "身份证"}}
    # None by default: the answer is given (a server may call), but no page of another origin reads it.
    response = await client.post("/api/v1/ask", headers={"Origin": "https://site.example"}, **ask)
    assert response.status == 200 and "Access-Control-Allow-Origin" not in response.headers
    monkeypatch.setattr(container.settings, "cors_origins", "https://site.example, https://other.example/")
    response = await client.post("/api/v1/ask", headers={"Origin": "https://site.example"}, **ask)
    assert (
        response.status == 200 and response.headers["Access-Control-Allow-Origin"] == "https://site.example"
    )
    assert "Origin" in response.headers.getall("Vary")
    assert "Access-Control-Allow-Credentials" not in response.headers
    preflight = await client.options("/api/v1/ask", headers={"Origin": "https://other.example"})
    assert preflight.status == 204 and "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "X-Api-Key" in preflight.headers["Access-Control-Allow-Headers"]
    stranger = await client.options("/api/v1/ask", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in stranger.headers
    monkeypatch.setattr(container.settings, "cors_origins", "*")
    response = await client.post("/api/v1/ask", headers={"Origin": "https://any.example"}, **ask)
    assert response.headers["Access-Control-Allow-Origin"] == "*"


async def test_a_site_with_its_api_key_is_counted_per_key_not_per_address(
    aiohttp_client, container: Container, hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.channels.web.keys import ASK_LIMIT
    from bot.channels.web.throttle import AskLimiter

    app = create_app(container, hub=hub)
    app[ASK_LIMIT] = AskLimiter(per_resident=100, per_address=2, per_community=1000)
    client = await aiohttp_client(app)
    secret = "k" * 30
    monkeypatch.setattr(container.settings, "api_keys", f"site-a:{secret}")
    wrong = await client.post(
        "/api/v1/ask", json={"community": "gongyuan", "question": "护照"}, headers={"X-Api-Key": "k" * 29}
    )
    assert wrong.status == 401 and (await wrong.json())["error"] == "invalid_api_key"
    statuses = [
        (await api_ask(client, community="gongyuan", question="护照", resident=f"site-user-{n:05d}"))[0]
        for n in range(3)
    ]
    assert statuses == [200, 200, 429]  # anonymous: two a minute from this address here
    keyed = [
        (
            await client.post(
                "/api/v1/ask",
                json={"community": "gongyuan", "question": "护照", "resident": f"site-user-{n:05d}"},
                headers={"X-Api-Key": secret},
            )
        ).status
        for n in range(5)
    ]
    assert keyed == [200] * 5  # the site's own counter: ten times an address's


async def test_api_escalate_and_read_the_answer(
    client: TestClient, container: Container, hub: LiveHub
) -> None:
    _, asked = await api_ask(client, community="gongyuan", question="身份证", resident="site-user-12345")
    body = {"resident": "site-user-12345", "consultation_id": asked["consultation_id"], "ref": asked["ref"]}
    response = await client.post("/api/v1/escalate", json=body | {"resident": "site-user-99999"})
    assert response.status == 403
    response = await client.post("/api/v1/escalate", json=body)
    escalated = await response.json()
    assert response.status == 200 and escalated["ticket"].startswith("WJ")
    officer = await container.staff.add("李警官", Role.OFFICER, ["gongyuan"])
    await container.officers.answer(officer, int(escalated["ticket"][2:]), "请带户口簿到派出所。")
    delivery = DeliveryService(container.uow_factory, container.clock, web_notifiers(hub))
    assert await delivery.run_once() == 1  # API answers are settled too: they are read back below
    mine = {"resident": "site-user-12345", "token": asked["resident_token"]}
    response = await client.get("/api/v1/escalations", params=mine)
    tickets = (await response.json())["escalations"]
    assert [(t["ticket"], t["answer"]) for t in tickets] == [(escalated["ticket"], "请带户口簿到派出所。")]
    by_header = await client.get(
        "/api/v1/escalations",
        params={"resident": "site-user-12345"},
        headers={"X-Resident-Token": asked["resident_token"]},
    )
    assert by_header.status == 200
    # The pseudonym alone, someone else's token, or a made-up one: the same 404 as for nobody.
    for params in (
        {"resident": "site-user-12345"},
        {"resident": "site-user-12345", "token": "0" * 32},
        {"resident": "site-user-99999", "token": asked["resident_token"]},
        {"resident": "site-user-12345", "token": "中文"},
    ):
        response = await client.get("/api/v1/escalations", params=params)
        assert response.status == 404 and (await response.json())["error"] == "not_found", params
    assert (await client.get("/api/v1/escalations")).status == 400


async def test_openapi_document(client: TestClient) -> None:
    response = await client.get("/api/v1/openapi.json")
    doc = await response.json()
    assert response.status == 200 and doc["openapi"].startswith("3.")
    assert {"/api/v1/ask", "/api/v1/escalate", "/api/v1/escalations", "/healthz", "/metrics"} <= doc[
        "paths"
    ].keys()
    schema = doc["paths"]["/api/v1/ask"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"outcome", "entry_id", "candidates", "score", "urgent", "text", "ticket"} <= set(
        schema["required"]
    )


async def test_healthz(client: TestClient, monkeypatch) -> None:
    response = await client.get("/healthz")
    body = await response.json()
    assert response.status == 200 and body["status"] == "ok" and body["matcher"] == "ok"

    async def down(_engine: object) -> None:
        raise OSError("connection refused")

    monkeypatch.setattr(web_queries, "ping", down)
    response = await client.get("/healthz")
    assert response.status == 503 and (await response.json())["status"] == "unavailable"


async def test_a_matcher_still_learning_is_reported_and_still_serves(
    client: TestClient, container: Container, monkeypatch
) -> None:
    monkeypatch.setattr(type(container.matcher), "trained", property(lambda self: False))
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 200 and (body["status"], body["matcher"]) == ("ok", "learning")
    assert (await client.get("/c/gongyuan")).status == 200


async def test_metrics(client: TestClient) -> None:
    await api_ask(client, community="gongyuan", question="身份证丢了怎么补办")
    await ask_json(client, "小区下水道堵了找谁")
    response = await client.get("/metrics")
    body = await response.text()
    assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain")
    assert 'policebot_consultations_total{channel="api",outcome="answer"} 1.0' in body
    assert 'policebot_consultations_total{channel="web",outcome="escalate"} 1.0' in body
    assert 'policebot_ask_seconds_count{channel="web"} 1.0' in body
    assert 'policebot_open_escalations{status="open"} 1.0' in body
    assert "policebot_live_streams 0.0" in body


async def test_metrics_are_not_for_the_internet(aiohttp_client, container: Container) -> None:
    container.settings.trusted_proxies = "127.0.0.1/32"  # the test client plays the reverse proxy
    client = await aiohttp_client(create_app(container))
    assert (await client.get("/metrics", headers={"X-Real-IP": "10.0.0.7"})).status == 200  # a scraper
    assert (await client.get("/metrics", headers={"X-Real-IP": "8.8.8.8"})).status == 404

    container.settings.metrics_token = "s3cret-scrape-token-0123"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Real-IP": "10.0.0.7"}):
        assert (await client.get("/metrics", headers=headers)).status == 404, headers
    allowed = await client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token-0123"})
    assert allowed.status == 200 and "policebot_live_streams" in await allowed.text()


async def test_each_app_has_its_own_registry(container: Container) -> None:
    first, second = create_app(container), create_app(container)
    from bot.channels.web.keys import METRICS

    assert first[METRICS].registry is not second[METRICS].registry


async def test_the_21st_question_in_a_minute_from_one_resident_is_refused_and_not_recorded(
    client: TestClient, container: Container
) -> None:
    me = {"community": "gongyuan", "resident": "site-user-flood-1"}
    for _ in range(20):
        status, _data = await api_ask(client, **me, question="我家楼下的路灯坏了好几天了没人修")
        assert status == 200
    async with container.uow_factory() as uow:
        before = await uow.escalations.for_resident(ResidentRef(Channel.API, "site-user-flood-1"), limit=50)
    response = await client.post("/api/v1/ask", json=me | {"question": "我家楼下的路灯坏了好几天了没人修"})
    data = await response.json()
    assert response.status == 429 and data["error"] == "too_many_requests" and "110" in data["message"]
    assert 0 < int(response.headers["Retry-After"]) <= 60
    async with container.uow_factory() as uow:
        after = await uow.escalations.for_resident(ResidentRef(Channel.API, "site-user-flood-1"), limit=50)
    assert len(after) == len(before)  # nothing recorded, no ticket
    # Another resident from the same address is under its own limit (the address allows more).
    status, _data = await api_ask(client, community="gongyuan", resident="site-user-flood-2", question="护照")
    assert status == 200


async def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(
    client: TestClient, container: Container
) -> None:
    body = {"community": "gongyuan", "question": "身份证丢了怎么补办", "resident": "site-user-idem-1"}
    key = {"Idempotency-Key": "3f1c2a9e-retry-1"}
    first = await client.post("/api/v1/ask", json=body, headers=key)
    again = await client.post("/api/v1/ask", json=body, headers=key)
    assert first.status == again.status == 200
    assert await again.json() == await first.json()
    assert again.headers.get("Idempotent-Replayed") == "true" and "Idempotent-Replayed" not in first.headers
    async with container.uow_factory() as uow:
        assert (await uow.stats.snapshot(StatsQuery())).total == 1  # recorded once

    other = await client.post("/api/v1/ask", json=body | {"question": "护照怎么办"}, headers=key)
    assert other.status == 422 and (await other.json())["error"] == "idempotency_key_reused"
    fresh = await client.post("/api/v1/ask", json=body, headers={"Idempotency-Key": "another-key"})
    assert fresh.status == 200 and "Idempotent-Replayed" not in fresh.headers
    bad = await client.post("/api/v1/ask", json=body, headers={"Idempotency-Key": "中文"})
    assert bad.status == 400
    async with container.uow_factory() as uow:
        assert (await uow.stats.snapshot(StatsQuery())).total == 2


async def test_an_idempotent_request_that_failed_can_be_sent_again(
    client: TestClient, container: Container, monkeypatch
) -> None:
    body = {"community": "gongyuan", "question": "身份证丢了怎么补办", "resident": "site-user-idem-2"}
    key = {"Idempotency-Key": "retry-after-an-outage"}
    real_ask = container.ask.ask

    async def down(*_: object, **__: object) -> None:
        raise TimeoutError("the database did not answer")

    monkeypatch.setattr(container.ask, "ask", down)
    assert (await client.post("/api/v1/ask", json=body, headers=key)).status == 503
    monkeypatch.setattr(container.ask, "ask", real_ask)
    retried = await client.post("/api/v1/ask", json=body, headers=key)  # not "in progress" for ever
    assert retried.status == 200 and "Idempotent-Replayed" not in retried.headers
    nowhere = {"Idempotency-Key": "retry-after-404"}
    assert (await client.post("/api/v1/ask", json=body | {"community": "x"}, headers=nowhere)).status == 404
    assert (await client.post("/api/v1/ask", json=body | {"community": "x"}, headers=nowhere)).status == 404
