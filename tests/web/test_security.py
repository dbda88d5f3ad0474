"""CSRF, cookies, headers, the session key, the idle timeout and the login throttle."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet

from bot.channels.web import create_app
from bot.channels.web import security as web_security
from bot.channels.web.identity import safe_next
from bot.channels.web.keys import SECRETS
from bot.channels.web.security import load_secrets
from bot.channels.web.throttle import LoginThrottle
from bot.wiring import Container, build_container
from tests.web.conftest import PASSWORD, csrf_of, login, settings_for


async def test_post_without_or_with_a_wrong_csrf_token_is_refused(
    client: TestClient, other_client: TestClient
) -> None:
    await client.get("/c/gongyuan")
    for data in ({"question": "身份证"}, {"question": "身份证", "csrf": "wrong"}):
        response = await client.post("/c/gongyuan/ask", data=data)
        assert response.status == 403
        assert "页面已过期" in await response.text()
    response = await client.post(
        "/c/gongyuan/ask",
        json={"question": "x"},
        headers={"X-CSRF-Token": "wrong", "Accept": "application/json"},
    )
    assert response.status == 403 and (await response.json())["error"] == "csrf"
    # a token from another browser's session does not work either
    stolen = await csrf_of(other_client, "/c/gongyuan")
    response = await client.post("/c/gongyuan/ask", data={"question": "x", "csrf": stolen})
    assert response.status == 403


async def test_every_post_route_checks_csrf(client: TestClient, people) -> None:
    await people.admin()
    await login(client, "admin")
    paths = (
        "/login", "/logout", "/c/gongyuan/ask", "/c/gongyuan/escalate", "/c/gongyuan/helpful",
        "/c/gongyuan/satisfaction", "/console/e/1/claim", "/console/e/1/answer", "/console/e/1/handover",
        "/console/e/1/close", "/console/e/1/draft", "/admin/drafts/1/approve", "/admin/drafts/1/reject",
    )  # fmt: skip
    for path in paths:
        response = await client.post(path, data={"csrf": "forged"}, allow_redirects=False)
        assert response.status == 403, path


async def test_login_needs_csrf(client: TestClient, people) -> None:
    await people.officer()
    response = await client.post("/login", data={"username": "li", "password": PASSWORD})
    assert response.status == 403


async def test_security_headers_everywhere(client: TestClient) -> None:
    for path in ("/", "/c/gongyuan", "/static/chat.js", "/nowhere", "/login", "/api/v1/openapi.json"):
        response = await client.get(path)
        csp = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff", path


async def test_pages_have_no_inline_scripts(client: TestClient) -> None:
    body = await (await client.get("/c/gongyuan")).text()
    assert "<script>" not in body and "onclick" not in body
    assert '<script src="/static/chat.js?v=' in body


async def test_session_cookie_flags(client: TestClient, people) -> None:
    await people.officer()
    response = await client.get("/login")
    cookie = response.cookies["pb_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]


async def test_secure_cookies_when_configured(aiohttp_client, tmp_path: Path) -> None:
    container = await build_container(settings_for(tmp_path, secure_cookies=True))
    try:
        client = await aiohttp_client(create_app(container))
        response = await client.get("/c/gongyuan")
        assert response.cookies["pb_session"]["secure"] and response.cookies["pb_resident"]["secure"]
    finally:
        await container.close()


def test_session_key_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    first = load_secrets(settings)
    key_file = settings.data_dir / "session.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    second = load_secrets(settings)
    token = first.fernet.encrypt(b"x")
    assert second.fernet.decrypt(token) == b"x"
    key_file.chmod(0o644)
    load_secrets(settings)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_session_key_from_settings(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    secrets_ = load_secrets(settings_for(tmp_path, session_key=key))
    assert Fernet(key.encode()).decrypt(secrets_.fernet.encrypt(b"y")) == b"y"
    assert not (tmp_path / "data" / "session.key").exists()
    with pytest.raises(ValueError, match="SESSION_KEY"):
        load_secrets(settings_for(tmp_path, session_key="too short"))


async def test_idle_session_is_logged_out(client: TestClient, people, monkeypatch) -> None:
    await people.officer()
    await login(client, "li")
    assert (await client.get("/console", allow_redirects=False)).status == 200
    later = time.time() + 31 * 60

    monkeypatch.setattr(web_security.time, "time", lambda: later)
    response = await client.get("/console", allow_redirects=False)
    assert response.status == 303 and response.headers["Location"].startswith("/login")


async def test_an_old_session_cookie_does_not_decrypt(aiohttp_client, container: Container, people) -> None:
    # The cookie's own Fernet timestamp bounds the session too, whatever the session says inside.
    app = create_app(container)
    client = await aiohttp_client(app)
    officer = await people.officer()
    fernet = app[SECRETS].fernet
    now = int(time.time())
    token = await container.staff.start_session(officer.id)
    session = {"created": now, "session": {"sid": token, "csrf": "t", "seen": now}}
    payload = json.dumps(session).encode()

    client.session.cookie_jar.update_cookies(
        {"pb_session": fernet.encrypt_at_time(payload, now - 31 * 60).decode()}
    )
    assert (await client.get("/console", allow_redirects=False)).status == 303
    client.session.cookie_jar.update_cookies({"pb_session": fernet.encrypt_at_time(payload, now).decode()})
    assert (await client.get("/console", allow_redirects=False)).status == 200
    # What the cookie says about who it is counts for nothing without a live session row behind it.
    forged = {"created": now, "session": {"staff_id": officer.id, "sid": "made-up", "csrf": "t", "seen": now}}
    client.session.cookie_jar.update_cookies(
        {"pb_session": fernet.encrypt_at_time(json.dumps(forged).encode(), now).decode()}
    )
    assert (await client.get("/console", allow_redirects=False)).status == 303


def test_throttle_window() -> None:
    now = [0.0]
    throttle = LoginThrottle(per_user=3, per_address=5, window_seconds=60, clock=lambda: now[0])
    for _ in range(3):
        assert throttle.retry_after("Li", "1.2.3.4") is None
        throttle.failed("Li", "1.2.3.4")
    assert throttle.retry_after("li", "1.2.3.4") == pytest.approx(60)
    assert throttle.retry_after("li", "5.6.7.8") is None  # another address is not locked out
    now[0] = 61
    assert throttle.retry_after("li", "1.2.3.4") is None
    # many names from one address: the address limit
    for name in ("a", "b", "c", "d", "e"):
        throttle.failed(name, "9.9.9.9")
    assert throttle.retry_after("f", "9.9.9.9") is not None


def test_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(max_keys=10)
    for i in range(100):
        throttle.failed(f"user{i}", "1.1.1.1")
    assert len(throttle._failures) <= 10


@pytest.mark.parametrize(
    "value",
    ["//evil.example", "/\\evil.example", "/\t/evil.example", "/\n/x.example", "https://x.example", "", None],
)
def test_next_never_leaves_the_site(value: str | None) -> None:
    assert safe_next(value, "/console") == "/console"


def test_next_keeps_local_paths() -> None:
    assert safe_next("/console/e/12?x=1", "/console") == "/console/e/12?x=1"
