"""Staff sessions end for real: a cookie copied before logout, before "sign out everywhere" or before the
account left the allowlist opens nothing afterwards; and no session outlives its absolute lifetime."""

from __future__ import annotations

from datetime import timedelta

from aiohttp.test_utils import TestClient

from bot.services import staff as staff_module
from bot.wiring import Container
from tests.web.conftest import csrf_of, login


def _cookie(client: TestClient) -> str:
    return next(c.value for c in client.session.cookie_jar if c.key == "pb_session")


async def _console_with(other: TestClient, cookie: str) -> int:
    other.session.cookie_jar.update_cookies({"pb_session": cookie})
    return (await other.get("/console", allow_redirects=False)).status


async def test_a_cookie_copied_before_logout_is_refused_after_it(
    client: TestClient, other_client: TestClient, people
) -> None:
    await people.officer()
    await login(client, "li")
    stolen = _cookie(client)
    assert await _console_with(other_client, stolen) == 200  # the copy works while the session lives
    token = await csrf_of(client, "/console")
    await client.post("/logout", data={"csrf": token}, allow_redirects=False)
    assert (await client.get("/console", allow_redirects=False)).status == 303
    assert await _console_with(other_client, stolen) == 303


async def test_sign_out_everywhere_and_leaving_the_allowlist_end_every_session(
    client: TestClient, other_client: TestClient, container: Container, people
) -> None:
    officer = await people.officer()
    await login(client, "li")
    await login(other_client, "li")
    assert await container.staff.end_all_sessions(officer.id) == 2
    assert (await client.get("/console", allow_redirects=False)).status == 303
    assert (await other_client.get("/console", allow_redirects=False)).status == 303

    await login(client, "li")
    assert (await client.get("/console", allow_redirects=False)).status == 200
    await container.staff.remove(officer.id)
    assert (await client.get("/console", allow_redirects=False)).status == 303


async def test_no_session_outlives_its_absolute_lifetime(
    client: TestClient, container: Container, people, monkeypatch
) -> None:
    officer = await people.officer()
    token = await container.staff.start_session(officer.id)
    idle = timedelta(minutes=30)
    assert (await container.staff.session_staff(token, idle)) is not None
    monkeypatch.setattr(staff_module, "SESSION_LIFETIME", timedelta(seconds=-1))
    assert (await container.staff.session_staff(token, idle)) is None
    assert (await container.staff.session_staff("never-issued", idle)) is None


async def test_changing_the_password_needs_the_old_one_and_ends_every_other_session(
    client: TestClient, other_client: TestClient, aiohttp_client, people
) -> None:
    from tests.web.conftest import PASSWORD

    await people.officer()
    await login(client, "li")
    await login(other_client, "li")  # the same account in another browser
    other = _cookie(other_client)
    new = "a-new-passphrase-2026"

    async def change(current: str, new_password: str, repeat: str) -> int:
        token = await csrf_of(client, "/account/password")
        form = {"csrf": token, "current": current, "new": new_password, "repeat": repeat}
        return (await client.post("/account/password", data=form, allow_redirects=False)).status

    assert await change("wrong password", new, new) == 400
    assert await change(PASSWORD, "short", "short") == 400
    assert await change(PASSWORD, new, new + "x") == 400
    assert await _console_with(other_client, other) == 200  # nothing changed yet
    assert await change(PASSWORD, new, new) == 303
    assert (await client.get("/console", allow_redirects=False)).status == 200  # this browser stays in
    third = await aiohttp_client(client.server)
    assert await _console_with(third, other) == 303  # the other browser's session has ended
    assert await login_status(third, "li", PASSWORD) == 401
    assert await login_status(third, "li", new) == 303


async def login_status(client: TestClient, username: str, password: str) -> int:
    token = await csrf_of(client, "/login")
    form = {"csrf": token, "username": username, "password": password}
    return (await client.post("/login", data=form, allow_redirects=False)).status
