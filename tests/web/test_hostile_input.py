"""What a stranger can send without logging in gets the endpoint's normal refusal, never a 500, and
the app answers normally afterwards: non-ASCII references and tokens, undecodable header bytes,
deeply nested JSON, unexpected methods; and no response names the server's software version."""

from __future__ import annotations

import json

import pytest
from aiohttp.test_utils import TestClient

from bot.channels.untrusted import MAX_JSON_DEPTH, JSONTooDeep, parse_json, same_secret
from bot.wiring import Container
from tests.web.conftest import csrf_of, post_form
from tests.web.raw_http import raw_exchange, raw_request
from tests.web.test_api import api_ask
from tests.web.test_resident import ask_json

RESIDENT = "site-user-12345"
# Wrong references a stranger might send: non-ASCII, a lone surrogate (JSON's \ud800), NUL, empty.
BAD_REFS = ["é" * 32, "签名" * 16, "0" * 31 + "é", "\ud800", "\x00", ""]
NEUTRAL_SERVER = "policebot"


def nested(depth: int) -> str:
    """A JSON array nested `depth` levels deep."""
    return "[" * depth + "]" * depth


async def answers_normally(client: TestClient) -> None:
    status, data = await api_ask(client, community="gongyuan", question="身份证丢了怎么补办")
    assert status == 200 and data["outcome"] == "answer"
    page = await client.get("/c/gongyuan")
    assert page.status == 200 and "公园社区" in await page.text()


# ---- references and tokens compared as bytes


async def test_api_escalate_refuses_any_wrong_ref_with_403(client: TestClient) -> None:
    _, asked = await api_ask(client, community="gongyuan", question="身份证", resident=RESIDENT)
    body = {"resident": RESIDENT, "consultation_id": asked["consultation_id"]}
    for ref in [*BAD_REFS, ["a"], {"x": 1}, 12, None]:
        response = await client.post("/api/v1/escalate", json=body | {"ref": ref})
        assert response.status == 403, ref
        assert (await response.json())["error"] == "forbidden"
    await answers_normally(client)
    response = await client.post("/api/v1/escalate", json=body | {"ref": asked["ref"]})
    assert response.status == 200 and (await response.json())["ticket"].startswith("WJ")


async def test_resident_pages_refuse_any_wrong_ref_with_403(client: TestClient) -> None:
    asked = await ask_json(client, "身份证")
    consultation = str(asked["consultation_id"])
    for path in ("/c/gongyuan/escalate", "/c/gongyuan/helpful", "/c/gongyuan/callback"):
        for ref in BAD_REFS:
            fields = {"consultation_id": consultation, "ref": ref, "value": "useful", "phone": "13800138000"}
            if "\ud800" not in ref:  # a form cannot carry a lone surrogate; JSON can
                response = await post_form(client, path, fields, page="/c/gongyuan")
                assert response.status == 403, (path, ref)
            token = await csrf_of(client, "/c/gongyuan")
            response = await client.post(
                path, json=fields, headers={"X-CSRF-Token": token, "Accept": "application/json"}
            )
            assert response.status == 403, (path, ref)
            assert (await response.json())["error"] == "forbidden"
    await answers_normally(client)
    token = await csrf_of(client, "/c/gongyuan")
    response = await client.post(
        "/c/gongyuan/escalate",
        json={"consultation_id": asked["consultation_id"], "ref": asked["ref"]},
        headers={"X-CSRF-Token": token, "Accept": "application/json"},
    )
    assert response.status == 200 and (await response.json())["ticket"].startswith("WJ")


async def test_undecodable_csrf_header_is_refused_with_403(client: TestClient) -> None:
    await csrf_of(client, "/c/gongyuan")  # a session holding a CSRF token, so the header is compared
    form = {b"Content-Type": b"application/x-www-form-urlencoded", b"Accept": b"application/json"}
    for token in (b"\xc3\xa9\xff\xfe", "签名".encode(), b"\xff" * 43):
        status, _ = await raw_request(
            client, b"POST", b"/c/gongyuan/ask", form | {b"X-CSRF-Token": token}, b"question=x"
        )
        assert status == 403, token
    await answers_normally(client)


async def test_undecodable_ref_in_a_form_is_refused_with_403(client: TestClient) -> None:
    asked = await ask_json(client, "身份证")
    token = await csrf_of(client, "/c/gongyuan")
    body = f"csrf={token}&consultation_id={asked['consultation_id']}&ref=%FF%FE%C3%A9".encode()
    status, _ = await raw_request(
        client,
        b"POST",
        b"/c/gongyuan/escalate",
        {b"Content-Type": b"application/x-www-form-urlencoded"},
        body,
    )
    assert status == 403
    await answers_normally(client)


# Form bodies aiohttp cannot read: an unknown charset, broken multipart, undecodable bytes.
BROKEN_FORMS = [
    (b"application/x-www-form-urlencoded; charset=no-such-codec", b"question=x"),
    (b"application/x-www-form-urlencoded", b"question=\xff\xfe"),
    (b"multipart/form-data", b"no boundary given"),
    (b"multipart/form-data; boundary=xx", b"no starting boundary\r\n"),
    (b"multipart/form-data; boundary=xx", b'--xx\r\nContent-Disposition: form-data; name="a"\r\n\r\nv'),
    (b"multipart/form-data; boundary=xx", b"--xx\r\nContent-Disposition: form-data\r\n\r\nv\r\n--xx--\r\n"),
    (
        b"multipart/form-data; boundary=xx",
        b'--xx\r\nContent-Disposition: form-data; name="a"\r\nContent-Transfer-Encoding: bogus\r\n\r\n'
        b"v\r\n--xx--\r\n",
    ),
]


async def test_unreadable_form_bodies_are_refused_with_400(client: TestClient) -> None:
    token = (await csrf_of(client, "/c/gongyuan")).encode()
    for path in (b"/c/gongyuan/ask", b"/c/gongyuan/escalate", b"/login"):
        for content_type, body in BROKEN_FORMS:
            # Read for the CSRF field when no header carries it, by the handler when one does.
            for csrf in ({}, {b"X-CSRF-Token": token}):
                status, _ = await raw_request(
                    client, b"POST", path, {b"Content-Type": content_type, **csrf}, body
                )
                assert status == 400, (path, content_type, body, csrf)
    await answers_normally(client)


# ---- deeply nested JSON


async def test_api_refuses_deeply_nested_json_with_400(client: TestClient) -> None:
    for body in (b"[" * 100_000, b'{"a":' * 40_000, nested(50_000).encode()):  # all under 256 KB
        response = await client.post("/api/v1/ask", data=body, headers={"Content-Type": "application/json"})
        assert response.status == 400
        error = await response.json()
        assert error["error"] == "bad_request" and "JSON" in error["message"]
    await answers_normally(client)


async def test_api_nesting_limit_is_exact(client: TestClient) -> None:
    def ask_with(extra_depth: int) -> dict[str, object]:
        # The body object is one level; `extra` adds the rest.
        return {
            "community": "gongyuan",
            "question": "身份证丢了怎么补办",
            "extra": json.loads(nested(extra_depth)),
        }

    response = await client.post("/api/v1/ask", json=ask_with(MAX_JSON_DEPTH - 1))
    assert response.status == 200 and (await response.json())["outcome"] == "answer"
    response = await client.post("/api/v1/ask", json=ask_with(MAX_JSON_DEPTH))
    assert response.status == 400
    assert str(MAX_JSON_DEPTH) in (await response.json())["message"]


async def test_resident_ask_refuses_deeply_nested_json_with_400(client: TestClient) -> None:
    token = await csrf_of(client, "/c/gongyuan")
    for accept in ({"Accept": "application/json"}, {}):  # a JSON body is answered in JSON either way
        response = await client.post(
            "/c/gongyuan/ask",
            data=b"[" * 100_000,
            headers={"Content-Type": "application/json", "X-CSRF-Token": token, **accept},
        )
        assert response.status == 400
        error = await response.json()
        assert error["error"] == "bad_request" and "JSON" in error["message"]
    await answers_normally(client)


async def test_json_bodies_ignore_a_bogus_charset(client: TestClient) -> None:
    # RFC 8259: JSON is UTF-8 and the charset parameter has no effect.
    body = json.dumps({"community": "gongyuan", "question": "身份证丢了怎么补办"}).encode()
    response = await client.post(
        "/api/v1/ask", data=body, headers={"Content-Type": "application/json; charset=no-such-codec"}
    )
    assert response.status == 200 and (await response.json())["outcome"] == "answer"
    response = await client.post(
        "/api/v1/ask", data=b"\xff\xfe{", headers={"Content-Type": "application/json"}
    )
    assert response.status == 400 and (await response.json())["error"] == "bad_request"


# ---- methods


ALLOWED = {
    "/": {"GET", "HEAD"},
    "/c/gongyuan": {"GET", "HEAD"},
    "/c/gongyuan/ask": {"POST"},
    "/login": {"GET", "HEAD", "POST"},
    "/api/v1/ask": {"POST", "OPTIONS"},
    "/healthz": {"GET", "HEAD"},
    "/static/chat.js": {"GET", "HEAD"},
}


async def test_unsupported_methods_get_405_with_allow(client: TestClient) -> None:
    for path, allowed in ALLOWED.items():
        for method in ("TRACE", "PUT", "DELETE", "PATCH", "PROPFIND", "POST"):
            if method in allowed:
                continue
            response = await client.request(method, path, allow_redirects=False)
            assert response.status == 405, (method, path)
            assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed, (method, path)
    await answers_normally(client)


async def test_a_method_token_the_http_parser_does_not_know_is_refused(client: TestClient) -> None:
    # aiohttp's C parser refuses the request line (400) before any route is looked at; its
    # pure-Python parser (AIOHTTP_NO_EXTENSIONS) lets the token through to the router (405).
    status, headers = await raw_request(client, b"FOO", b"/c/gongyuan")
    assert status == 400 or (status == 405 and headers["allow"] == "GET,HEAD")
    assert headers["server"] == NEUTRAL_SERVER
    await answers_normally(client)


# ---- the Server header


async def test_no_response_names_the_server_software(
    client: TestClient, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    responses = [
        await client.get("/"),
        await client.get("/static/chat.js"),
        await client.get("/nowhere"),
        await client.request("TRACE", "/"),
        await client.post("/api/v1/ask", data=b"[", headers={"Content-Type": "application/json"}),
        await client.post("/c/gongyuan/ask", data={"question": "x"}),  # no CSRF token: 403
    ]

    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(container.ask, "ask", broken)
    responses.append(await client.post("/api/v1/ask", json={"community": "gongyuan", "question": "x"}))
    monkeypatch.undo()
    assert [r.status for r in responses] == [200, 200, 404, 405, 400, 403, 500]
    assert [r.headers["Server"] for r in responses] == [NEUTRAL_SERVER] * len(responses)
    # Requests aiohttp refuses itself, before the application runs.
    for request in (
        b"GET / HTTP/1.1\r\nHost: x\r\nBroken Header\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
    ):
        status, headers = await raw_exchange(client, request)
        assert status == 400 and headers["server"] == NEUTRAL_SERVER, request
    await answers_normally(client)


# ---- the helpers themselves


@pytest.mark.parametrize(
    ("text", "depth_ok"),
    [
        (nested(MAX_JSON_DEPTH), True),
        (nested(MAX_JSON_DEPTH + 1), False),
        ('{"a":' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH, True),
        ('{"a":[' * 33 + "]}" * 33, False),  # objects and arrays count alike: 66 levels
        ('["' + "[" * 1000 + '"]', True),  # brackets inside strings are text
        ('["\\"' + "[" * 1000 + '"]', True),  # even after an escaped quote
        ('["\\\\", ' + "[" * 70 + "]" * 71, False),  # an escaped backslash ends the string
    ],
)
def test_parse_json_counts_nesting_outside_strings(text: str, depth_ok: bool) -> None:
    if depth_ok:
        assert parse_json(text) == json.loads(text)
        assert parse_json(text.encode()) == json.loads(text)
    else:
        with pytest.raises(JSONTooDeep):
            parse_json(text)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        "{" * 100_000,
        '{"a":' * 100_000,
        "]" * 5 + "[" * 5,
        "[1]]",
        '["open',
        "",
        "nul",
        '"' + '\\"' * 300_000,  # a string that never ends, escaped quote after escaped quote
    ],
)
def test_parse_json_refuses_malformed_input_with_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):  # never RecursionError
        parse_json(text)


def test_parse_json_reads_utf8_and_utf16_bytes_like_json_loads() -> None:
    data = {"问题": "身份证", "n": [1, {"x": None}]}
    assert parse_json(json.dumps(data, ensure_ascii=False).encode()) == data
    assert parse_json(json.dumps(data, ensure_ascii=False).encode("utf-16")) == data
    with pytest.raises(ValueError):
        parse_json(b'{"a": "\xff"}')


def test_same_secret_takes_any_text() -> None:
    assert same_secret("abc", "abc") and same_secret(b"abc", "abc") and same_secret("签名", "签名")
    for given in ("é" * 3, "签名", "\ud800", "ab\udcff", "", "abcd", b"\xff"):
        assert not same_secret(given, "abc"), given
